"""A legacy OpenID 2.0 provider on loopback, built on python3-openid's own server library.

Identity pages at ``/id/<name>`` are discoverable both ways (XRDS when asked for, HTML ``<link>`` otherwise);
``/server`` is the OP endpoint: it answers associations and signature checks, and approves a checkid request
for a known identity at once, with the email and full name through sreg (or, for an account marked
``deny``, answers "cancel" as a person pressing No would).
"""

import html
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from openid.extensions import sreg
from openid.server.server import CheckIDRequest, Server
from openid.store.memstore import MemoryStore

XRDS = """<?xml version="1.0" encoding="UTF-8"?>
<xrds:XRDS xmlns:xrds="xri://$xrds" xmlns="xri://$xrd*($v*2.0)">
  <XRD><Service priority="0"><Type>http://specs.openid.net/auth/2.0/signon</Type>
    <Type>http://openid.net/sreg/1.0</Type><URI>{server}</URI><LocalID>{identity}</LocalID></Service></XRD>
</xrds:XRDS>"""
PAGE = """<!doctype html><html><head><title>{name}</title>
<link rel="openid2.provider" href="{server}"><link rel="openid2.local_id" href="{identity}">
</head><body>{name}'s OpenID</body></html>"""


class OpenIDProvider:
    """``accounts`` maps a name to its sreg data ({"email": ..., "fullname": ...}, or {"deny": True})."""

    def __init__(self, accounts: dict[str, dict]) -> None:
        self.accounts = accounts
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.endpoint = self.base + "/server"
        self.server = Server(MemoryStore(), self.endpoint)
        self.checkid_requests = 0
        # shutdown() waits for the loop's next poll: 0.5 s by default, on every test's teardown
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def identity_url(self, name: str) -> str:
        return f"{self.base}/id/{name}"

    def start(self) -> "OpenIDProvider":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def respond(self, method: str, path: str, query: dict[str, str], accept: str) -> tuple[int, dict, bytes]:
        if method == "GET" and path.startswith("/id/"):
            return self._identity_page(path.removeprefix("/id/"), accept)
        if path != "/server":
            return 404, {"Content-Type": "text/plain"}, b"not found"
        request = self.server.decodeRequest(query)
        if request is None:
            return 200, {"Content-Type": "text/plain"}, b"an OpenID 2.0 endpoint"
        if isinstance(request, CheckIDRequest):
            response = self._check_id(request)
        else:
            response = self.server.handleRequest(request)
        web = self.server.encodeResponse(response)
        body = web.body if isinstance(web.body, bytes) else web.body.encode()
        return web.code, dict(web.headers), body

    def _identity_page(self, name: str, accept: str) -> tuple[int, dict, bytes]:
        if name not in self.accounts:
            return 404, {"Content-Type": "text/plain"}, b"no such identity"
        values = {"server": self.endpoint, "identity": self.identity_url(name), "name": html.escape(name)}
        if "application/xrds+xml" in accept:
            return 200, {"Content-Type": "application/xrds+xml"}, XRDS.format(**values).encode()
        return 200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.format(**values).encode()

    def _check_id(self, request: CheckIDRequest):
        self.checkid_requests += 1
        account = self.accounts.get(request.identity.rsplit("/", 1)[-1])
        if account is None or account.get("deny"):
            return request.answer(False)
        response = request.answer(True, identity=request.identity)
        asked = sreg.SRegRequest.fromOpenIDRequest(request)
        data = {key: account[key] for key in ("email", "fullname", "nickname") if key in account}
        response.addExtension(sreg.SRegResponse.extractResponse(asked, data))
        return response


def _handler(provider: OpenIDProvider):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self._answer(dict(parse_qsl(urlsplit(self.path).query)))

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            self._answer(dict(parse_qsl(self.rfile.read(length).decode())))

        def _answer(self, query: dict[str, str]) -> None:
            path = urlsplit(self.path).path
            code, headers, body = provider.respond(self.command, path, query, self.headers.get("Accept", ""))
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    return Handler
