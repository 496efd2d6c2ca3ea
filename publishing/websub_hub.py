"""The hub endpoint (POST, form-encoded, as WebSub specifies): 202 when a request is taken, else a 4xx whose
plain-text body says why. Subscribers are not signed in: the CSRF check does not apply (the intent check does)."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from publishing import hub


@csrf_exempt
@require_POST
def endpoint(request):
    form = request.POST
    try:
        hub.request_subscription(hub.HubRequest(
            mode=form.get("hub.mode", ""), topic=form.get("hub.topic", ""), callback=form.get("hub.callback", ""),
            secret=form.get("hub.secret", ""), lease_seconds=form.get("hub.lease_seconds", ""),
        ))  # fmt: skip
    except hub.HubError as error:
        return HttpResponse(str(error), status=error.status, content_type="text/plain; charset=utf-8")
    return HttpResponse("Accepted: the callback will be asked to confirm.", status=202,
                        content_type="text/plain; charset=utf-8")  # fmt: skip
