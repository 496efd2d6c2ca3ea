"""Loopback peers that receive what the hub sends to notification destinations: an HTTP server recording every
request (Apprise's json://, form:// and ntfy:// posts) and a real SMTP server (aiosmtpd) for mailto://.

Both record into a ``Received`` list whose ``wait_for(n)`` blocks until n messages arrived (a condition
variable, no sleeping); ``status`` makes the HTTP peer answer with an error, for failing destinations.
"""

import http.server
import json
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as email_policy
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller


@dataclass
class Message:
    path: str
    content_type: str
    body: bytes
    fields: dict = field(default_factory=dict)  # title, message (and topic: ntfy) as the peer understood them


class Received:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._changed = threading.Condition()

    def add(self, message: Message) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Message]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} messages arrived, not {count}")
            return list(self.messages)


class HttpPeer:
    """``with HttpPeer() as peer:`` at ``peer.port``; answers ``peer.status`` (200 unless set)."""

    def __init__(self) -> None:
        self.received = Received()
        self.status = 200
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                kind = self.headers.get("content-type", "")
                if "json" in kind:
                    fields = json.loads(body)
                else:
                    fields = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                peer.received.add(Message(self.path, kind, body, fields))
                self.send_response(peer.status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_PUT = do_POST

            def log_message(self, *args) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    def __enter__(self) -> "HttpPeer":
        # shutdown() waits for the loop's next poll: 0.5 s by default, on every test's teardown
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


class SmtpPeer:
    """A real SMTP server on loopback; each mail's subject and text body land in ``received``."""

    def __init__(self) -> None:
        self.received = Received()
        with socket.socket() as probe:  # aiosmtpd's controller needs a port number before it starts
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        peer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                mail = message_from_bytes(envelope.content, policy=email_policy)
                text = mail.get_body(preferencelist=("plain",)).get_content()
                peer.received.add(Message("", "message/rfc822", envelope.content,
                                          {"title": str(mail["subject"]), "message": text,
                                           "to": envelope.rcpt_tos}))  # fmt: skip
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpPeer":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()
