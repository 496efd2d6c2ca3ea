"""Chat messages from the hub's own XMPP account: reply notifications and verification codes; and the short
session they are sent in (``run_session``), which publishing uses too.

Each call opens a short-lived session of the hub account (``CHORUS_XMPP_*``, the account the listener uses),
sends its messages and closes. Not through the listener's session, on purpose: in production the listener is
another process (``xmpp_listen``) with no control channel from the workers, and its session may be down or
reconnecting; a worker's own session works whenever the server does, fails loudly so the task retries, and
costs one login per batch (messages are sent in batches). The session gets its own resource
(``chorus-notify-<random>``) so it never replaces the listener's, and sends no presence: it is never
"available", so the server does not route messages meant for the hub to it.
"""

import asyncio
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import slixmpp

from aggregator.networks.xmpp.client import HubClient, Settings, close_loop, hub_client

SEND_TIMEOUT = 20.0  # seconds for the whole session: connect, log in, send, close


class XmppSendError(RuntimeError):
    """The messages could not be handed to the hub's XMPP server (not configured, unreachable, refused)."""


@dataclass(frozen=True, slots=True)
class ChatMessage:
    to: str  # a bare JID
    body: str


def send_chat_messages(messages: list[ChatMessage], *, settings: Settings | None = None) -> None:
    """Send ``messages`` as the hub; returns once the server has them. Raises ``XmppSendError``.

    Runs its own event loop in a helper thread, so it can be called from any thread (a Celery worker, the
    embedded hub's pool, a request), including one that already runs a loop.
    """
    if not messages:
        return

    async def send(client: HubClient) -> None:
        for message in messages:
            client.send_message(mto=message.to, mbody=message.body, mtype="chat")

    run_session(send, settings=settings, resource="chorus-notify")


def run_session(work: Callable[[HubClient], Awaitable[None]], *, settings: Settings | None = None,
                resource: str, plugins: tuple[str, ...] = ()) -> None:
    """Open a short session of the hub account (resource ``<resource>-<random>``), ``await work(client)`` once it
    started, close it in order. Raises ``XmppSendError``; callable from any thread."""
    settings = settings or Settings.from_django()
    if settings is None:
        raise XmppSendError("the hub has no XMPP account (set CHORUS_XMPP_JID and CHORUS_XMPP_PASSWORD)")
    outcome: list[BaseException | None] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(asyncio.wait_for(_session(settings, work, resource, plugins), SEND_TIMEOUT))
            outcome.append(None)
        except BaseException as error:  # handed to the caller's thread
            outcome.append(error)
        finally:
            close_loop(loop)

    thread = threading.Thread(target=run, name="chorus-xmpp-send", daemon=True)
    thread.start()
    thread.join(SEND_TIMEOUT + 5)
    error = outcome[0] if outcome else TimeoutError("the XMPP session did not finish")
    if isinstance(error, XmppSendError):
        raise error
    if error is not None:
        raise XmppSendError(f"could not send through {settings.jid}: {type(error).__name__}: {error}") from error


async def _session(settings: Settings, work, resource: str, plugins: tuple[str, ...]) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    client = _client(settings, resource)
    for plugin in plugins:
        client.register_plugin(plugin)

    def fail(reason: str) -> None:
        if not ready.done():
            ready.set_exception(XmppSendError(reason))

    client.add_event_handler("session_start", lambda _event: ready.done() or ready.set_result(None))
    client.add_event_handler("failed_all_auth", lambda _e: fail(f"{settings.jid}: authentication failed"))
    client.add_event_handler("connection_failed", lambda error: fail(f"cannot reach the XMPP server: {error}"))
    client.add_event_handler("disconnected", lambda reason: fail(f"disconnected: {reason or 'by the server'}"))
    if settings.host:
        client.connect(host=settings.host, port=settings.port)
    else:
        client.connect()
    try:
        await ready
        await work(client)
    finally:
        client.cancel_connection_attempt()  # slixmpp would otherwise keep retrying an unreachable server
        # the send queue is flushed and the stream closed in order: the server has every stanza sent above
        await client.disconnect(wait=2.0, reason="done")


def _client(settings: Settings, resource: str) -> HubClient:
    jid = slixmpp.JID(settings.jid)
    jid.resource = f"{resource}-{secrets.token_hex(4)}"
    return hub_client(settings, jid=jid.full)
