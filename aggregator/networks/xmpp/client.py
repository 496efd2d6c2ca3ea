"""The hub's own XMPP account: its settings and the client every session of it uses (the listener's long
session, and the short ones that send chat messages)."""

import asyncio
import logging
from dataclasses import dataclass

import slixmpp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Settings:
    jid: str
    password: str
    host: str = ""
    port: int = 5222
    tls: bool = True
    sync_interval: float = 2.0

    @classmethod
    def from_django(cls) -> "Settings | None":
        from django.conf import settings

        if not settings.CHORUS_XMPP_JID:
            return None
        return cls(jid=settings.CHORUS_XMPP_JID, password=settings.CHORUS_XMPP_PASSWORD,
                   host=settings.CHORUS_XMPP_HOST, port=settings.CHORUS_XMPP_PORT, tls=settings.CHORUS_XMPP_TLS)  # fmt: skip


class HubClient(slixmpp.ClientXMPP):
    """The hub's client: refuses a stream carrying a DTD before the XML parser sees it (no entity
    expansion).

    RFC 6120 11.1 forbids DTDs in XMPP; expat would otherwise accept the declarations and expand the entities
    up to its amplification limit.
    """

    _tail = b""

    def data_received(self, data: bytes) -> None:
        window = self._tail + data
        if b"<!" in window and (b"<!DOCTYPE" in window.upper() or b"<!ENTITY" in window.upper()):
            log.warning("the XMPP server sent a DTD (forbidden by RFC 6120); dropping the connection")
            self._tail = b""
            self.abort()
            return
        self._tail = data[-9:]  # a declaration split across two reads is still seen
        super().data_received(data)


def hub_client(settings: Settings, *, jid: str = "") -> HubClient:
    """A client of the hub's account (``jid``: the account with another resource), with TLS as configured
    (plaintext only for a loopback test server)."""
    plugin_config = {} if settings.tls else {"feature_mechanisms": {"unencrypted_plain": True}}
    client = HubClient(jid or settings.jid, settings.password, plugin_config=plugin_config)
    if not settings.tls:
        client.enable_direct_tls = False
        client.enable_starttls = False
        client.enable_plaintext = True
    return client


def finish_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and finish the tasks left on a session's stopped loop. slixmpp's client cancels its own tasks again
    in ``__del__``, whenever it is collected: on a task still pending that schedules on the loop, which may be
    closed by then ("Event loop is closed", raised in the collector, in whatever code runs at that moment)."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close a session's stopped loop once its tasks are finished (``finish_tasks``)."""
    finish_tasks(loop)
    loop.close()
