"""The WebSub callback: where hubs check Chorus' intent (GET) and deliver (POST), one unguessable path per
subscription under ``CHORUS_PUBLIC_URL``.

It lives with following because it is the web end of a subscription Chorus holds for its followers (a page
layer above ingest, like the follow box); the state and the storing are ``aggregator.ingest.websub``'s.

Deliveries have two doors onto the same ``websub_deliveries.receive_delivery``: ``callback`` (the Django view,
for the intent check and wherever Django serves the request) and ``LeanDeliveries``, the ASGI application in
front of Django in ``aggregator/asgi.py`` that takes a hub's POSTs where a worker stores them.
"""

import asyncio
import functools
import json

from django.conf import settings
from django.db import close_old_connections
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt

from aggregator import jobs
from aggregator.ingest import websub, websub_deliveries

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
    here, 200, where tasks run eagerly): see ``websub_deliveries.receive_delivery``."""
    cap = settings.CHORUS_WEBSUB_MAX_BYTES
    refused = _refused_length(request.META.get("CONTENT_LENGTH"), cap)
    if refused is None:
        body = request.read(cap + 1)
        refused = _too_large(cap) if len(body) > cap else None
    if refused is not None:
        return JsonResponse({"detail": refused[1]}, status=refused[0])
    outcome = websub_deliveries.receive_delivery(token=token, body=body,
                                                 signature=request.headers.get("X-Hub-Signature", ""),
                                                 content_type=request.headers.get("Content-Type", ""))  # fmt: skip
    response = JsonResponse({"detail": outcome.detail}, status=outcome.status)
    for name, value in _outcome_headers(outcome):
        response[name] = value
    return response


def _refused_length(declared: str | None, cap: int) -> tuple[int, str] | None:
    """A declared ``Content-Length`` that is refused before a byte is read: (status, detail), or None."""
    try:
        length = int(declared or 0)
    except ValueError:
        return 400, "bad Content-Length"
    return _too_large(cap) if length > cap else None


def _too_large(cap: int) -> tuple[int, str]:
    return 413, f"deliveries are capped at {cap} bytes"


def _outcome_headers(outcome: websub_deliveries.DeliveryOutcome) -> list[tuple[str, str]]:
    return [("Retry-After", str(websub_deliveries.RATE_WINDOW))] if outcome.status == 429 else []


class LeanDeliveries:
    """ASGI, in front of Django: a hub's POST to a callback, answered without Django's request stack.

    A delivery needs none of what Django's middleware does for pages (sessions, sign-in, CSRF, messages, the
    hygiene check of form fields): the body is the hub's document, checked by its signature. Going through Django
    cost more CPU than the rest of the delivery together (bench/websub.py): the whole middleware chain runs in a
    worker thread and each request borrows a database connection. Here the body is read under
    ``CHORUS_WEBSUB_MAX_BYTES`` (a declared length refused before a byte is read), then ``receive_delivery`` runs
    in a thread of the event loop's executor: the subscription held by callback token (no query), the rate cap
    (Redis), the signature, the broker message. The answer is the view's (status, JSON ``detail``,
    ``Retry-After`` on 429). Everything else (the intent check's GET, other paths) goes on to ``app``, and so
    do deliveries where tasks run eagerly (the embedded hub stores them in the request, in Django's thread)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        posted = scope["type"] == "http" and scope["method"] == "POST"
        token = _callback_token(scope["path"]) if posted else None
        if token is None or jobs.runs_inline():
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])  # a repeated header: its last value (Django joins them)
        cap = settings.CHORUS_WEBSUB_MAX_BYTES
        refused = _refused_length(headers.get(b"content-length", b"").decode("latin-1"), cap)
        if refused is not None:
            return await _answer(send, *refused, close=True)
        body = await _read_body(receive, cap)
        if body is None:  # the hub went away
            return None
        if len(body) > cap:
            return await _answer(send, *_too_large(cap), close=True)
        receive_here = functools.partial(_receive, token=token, body=body,
                                         signature=headers.get(b"x-hub-signature", b"").decode("latin-1"),
                                         content_type=headers.get(b"content-type", b"").decode("latin-1"))  # fmt: skip
        # In the executor thread's own context, not a copy of this request's (as asyncio.to_thread would): Django
        # keeps its cache clients in context-local storage, so a fresh context per request made a new Redis
        # connection per request.
        outcome = await asyncio.get_running_loop().run_in_executor(None, receive_here)
        return await _answer(send, outcome.status, outcome.detail, extra=_outcome_headers(outcome))


@functools.lru_cache(maxsize=4096)
def _callback_token(path: str) -> str | None:
    """The token of a path Django routes to ``callback``, else None: other paths under /websub/ (our own WebSub
    hub's endpoint, publishing's) are Django's. Held per path (the URLconf does not change while the process
    runs): a hub posts to the same path again and again, and Django's resolver costs more than the rest of the
    door; the bound keeps made-up paths from growing it."""
    try:
        found = resolve(path)
    except Resolver404:
        return None
    return found.kwargs["token"] if found.func is callback else None


async def _read_body(receive, cap: int) -> bytes | None:
    """The request body, or its first ``cap + 1`` bytes when it is longer; None if the client disconnected."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > cap or not message.get("more_body", False):
            return b"".join(chunks)


def _receive(**delivery) -> websub_deliveries.DeliveryOutcome:
    """``receive_delivery`` in an executor thread, which then gives back any connection it borrowed (as the end of
    a Django request does)."""
    try:
        return websub_deliveries.receive_delivery(**delivery)
    finally:
        close_old_connections()


async def _answer(send, status: int, detail: str, *, extra: list[tuple[str, str]] = (), close: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *((name.lower().encode(), value.encode()) for name, value in extra)]  # fmt: skip
    if close:  # the rest of the body is never read
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
