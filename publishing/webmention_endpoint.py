"""The Webmention endpoint (POST, form-encoded, as the W3C spec says): 202 when taken for checking, else a 4xx
whose plain-text body says why. Senders are not signed in: the CSRF check does not apply (the source is
fetched and must link to the target before anything is stored)."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from publishing import webmentions

TEXT = "text/plain; charset=utf-8"


@csrf_exempt
@require_POST
def endpoint(request):
    try:
        webmentions.receive(source=request.POST.get("source", ""), target=request.POST.get("target", ""))
    except webmentions.WebmentionRefused as error:
        return HttpResponse(str(error), status=error.status, content_type=TEXT)
    return HttpResponse("Accepted: the source will be checked for a link to the target.", status=202,
                        content_type=TEXT)  # fmt: skip


def advertise(response: HttpResponse) -> HttpResponse:
    """Name the endpoint in a page's headers (the HTML names it too, in ``publishing/_head.html``)."""
    response["Link"] = f'<{webmentions.endpoint_url()}>; rel="webmention"'
    return response
