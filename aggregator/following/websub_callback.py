"""The WebSub callback: where hubs check Chorus' intent (GET) and deliver (POST), one unguessable path per
subscription under ``CHORUS_PUBLIC_URL``.

It lives with following because it is the web end of a subscription Chorus holds for its followers (a page
layer above ingest, like the follow box); the state and the storing are ``aggregator.ingest.websub``'s.
"""

from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from aggregator.ingest import websub

MAX_CHALLENGE = 1024


@csrf_exempt
def callback(request, token: str):
    if request.method == "GET":
        return _verify(request, token)
    if request.method == "POST":
        return _deliver(request, token)
    return HttpResponseNotAllowed(["GET", "POST"])


def _verify(request, token: str) -> HttpResponse:
    params = request.GET
    challenge = params.get("hub.challenge", "")
    if len(challenge) > MAX_CHALLENGE:
        return JsonResponse({"detail": "hub.challenge is too long"}, status=400)
    answer = websub.verify_intent(token=token, mode=params.get("hub.mode", ""), topic=params.get("hub.topic", ""),
                                  challenge=challenge, lease_seconds=params.get("hub.lease_seconds", ""),
                                  reason=params.get("hub.reason", "")[:500])  # fmt: skip
    if answer.status != 200:
        return JsonResponse({"detail": "no such subscription request"}, status=answer.status)
    return HttpResponse(answer.body, content_type="text/plain; charset=utf-8")


def _deliver(request, token: str) -> HttpResponse:
    """The size cap is checked before the body is read: a declared length first, then what actually arrives.
    Then the rate cap and the signature; a verified body is handed to a worker and answered 202 at once (stored
    here, 200, where tasks run eagerly): see ``websub.receive_delivery``."""
    cap = settings.CHORUS_WEBSUB_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse({"detail": "bad Content-Length"}, status=400)
    if declared > cap:
        return JsonResponse({"detail": f"deliveries are capped at {cap} bytes"}, status=413)
    body = request.read(cap + 1)
    if len(body) > cap:
        return JsonResponse({"detail": f"deliveries are capped at {cap} bytes"}, status=413)
    outcome = websub.receive_delivery(token=token, body=body, signature=request.headers.get("X-Hub-Signature", ""),
                                      content_type=request.headers.get("Content-Type", ""))  # fmt: skip
    response = JsonResponse({"detail": outcome.detail}, status=outcome.status)
    if outcome.status == 429:
        response["Retry-After"] = str(websub.RATE_WINDOW)
    return response
