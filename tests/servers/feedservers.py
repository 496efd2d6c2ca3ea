"""Raw-socket HTTP servers that misbehave in ways pytest-httpserver cannot, and a stand-in for the internet.

Each server listens on 127.0.0.1, counts connections and records request heads, so a test can assert that
nothing at all reached it.
"""

import datetime
import ipaddress
import socket
import ssl
import struct
import threading
import time
import weakref
import zlib
from collections.abc import Callable

Respond = Callable[[socket.socket, bytes, threading.Event], None]


class RawServer:
    """Answers every connection with ``respond(conn, request_head, stopping)`` on its own thread."""

    def __init__(self, respond: Respond, *, tls: ssl.SSLContext | None = None) -> None:
        self.respond = respond
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/", *, host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            head = b""
            try:
                if self.tls:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                while b"\r\n\r\n" not in head:
                    data = conn.recv(4096)
                    if not data:
                        return
                    head += data
                self.requests.append(head)
                self.respond(conn, head, self._stopping)
            except OSError:  # the client gave up, hung up or refused our certificate
                pass


def response_head(status: str = "200 OK", **headers: str) -> bytes:
    """``content_type="text/xml"`` becomes ``Content-Type: text/xml``."""
    lines = [f"HTTP/1.1 {status}"] + [
        f"{name.replace('_', '-').title()}: {value}" for name, value in headers.items()
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send(head: bytes, body: bytes = b"") -> Respond:
    def respond(conn: socket.socket, request: bytes, stopping: threading.Event) -> None:
        conn.sendall(head + body)

    return respond


def drip(prefix: bytes, *, interval: float, lasting: float = 5.0) -> Respond:
    """Send ``prefix`` at once, then one byte every ``interval`` seconds for ``lasting`` seconds.

    The drip ends (a clean close) so a fetch without a working deadline fails its test rather than hang.
    """

    def respond(conn: socket.socket, request: bytes, stopping: threading.Event) -> None:
        conn.sendall(prefix)
        ends = time.monotonic() + lasting
        while time.monotonic() < ends and not stopping.wait(interval):
            conn.sendall(b"a")

    return respond


def endless(head: bytes, *, block: bytes = b"<item>spam</item>" * 4000, chunked: bool = False) -> Respond:
    """Send ``head``, then ``block`` again and again: a body whose end never comes."""

    def respond(conn: socket.socket, request: bytes, stopping: threading.Event) -> None:
        conn.sendall(head)
        payload = b"%x\r\n%s\r\n" % (len(block), block) if chunked else block
        while not stopping.is_set():
            conn.sendall(payload)

    return respond


def silent(*, lasting: float = 5.0) -> Respond:
    """Accept the request, then say nothing for ``lasting`` seconds."""

    def respond(conn: socket.socket, request: bytes, stopping: threading.Event) -> None:
        stopping.wait(lasting)

    return respond


def thinking(seconds: float, head: bytes, body: bytes = b"") -> Respond:
    """Say nothing for ``seconds``, then answer at once (a slow feed generator, not a drip)."""

    def respond(conn: socket.socket, request: bytes, stopping: threading.Event) -> None:
        if not stopping.wait(seconds):
            conn.sendall(head + body)

    return respond


def slow_redirects(*, delay: float) -> Respond:
    """``/hop/N`` waits ``delay`` seconds, then redirects to ``/hop/N+1``."""

    def respond(conn: socket.socket, request: bytes, stopping: threading.Event) -> None:
        path = request.split(b" ", 2)[1].decode()
        number = int(path.rsplit("/", 1)[1])
        time.sleep(delay)
        conn.sendall(response_head("302 Found", location=f"/hop/{number + 1}", content_length="0"))

    return respond


def gzip_bomb(decoded_size: int = 1 << 30) -> bytes:
    """A valid one-member gzip of ``decoded_size`` zero bytes (1 GiB -> about 1 MB), built in half a second.

    Compressing a gibibyte takes seconds. After a full flush deflate starts again with an empty window, so
    each MiB of zeros compresses to the very same bytes: compress one MiB, repeat the block, add the trailer.
    """
    mib = 1 << 20
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(bytes(mib)) + deflate.flush(zlib.Z_FULL_FLUSH)
    final = deflate.flush()
    crc = 0
    for _ in range(decoded_size // mib):
        crc = zlib.crc32(bytes(mib), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, decoded_size & 0xFFFFFFFF)
    return header + block * (decoded_size // mib) + final + trailer


def localhost_tls(directory) -> tuple[ssl.SSLContext, str]:
    """A server TLS context with a fresh self-signed certificate for localhost, and the certificate's path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.IPv4Address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = f"{directory}/localhost.pem", f"{directory}/localhost.key"
    with open(cert_path, "wb") as cert_file:
        cert_file.write(certificate.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as key_file:
        key_file.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context, cert_path


class FakeInternet:
    """Stands in for DNS and routing, the true outside world, so a "public" host can be a local test server.

    ``dns[name]`` lists the answers to successive lookups, the last one repeating; an answer holds one or
    more addresses separated by spaces. Public-then-private is DNS rebinding; an empty list is NXDOMAIN.
    ``routes[(ip, port)]`` carries connections for a made-up address to a local server, and the socket then
    reports that made-up address as its peer, as the real internet would.
    """

    def __init__(self, monkeypatch) -> None:
        self.dns: dict[str, list[str]] = {}
        self.routes: dict[tuple[str, int], tuple[str, int]] = {}
        self._peers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        real_getpeername = socket.socket.getpeername

        def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
            answers = self.dns.get(host.decode() if isinstance(host, bytes) else host)
            if answers is None:
                return real_getaddrinfo(host, port, family, type, proto, flags)
            if not answers:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))
                    for address in answer.split()]  # fmt: skip

        def connect(sock, address):
            route = self.routes.get(tuple(address[:2]))
            if route is None:
                return real_connect(sock, address)
            real_connect(sock, route)
            self._peers[sock] = tuple(address[:2])

        def getpeername(sock):
            return self._peers.get(sock) or real_getpeername(sock)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "getpeername", getpeername)

    def host(self, name: str, *answers: str, server: RawServer | None = None, port: int = 80) -> None:
        """``name`` resolves to ``answers`` in turn; connections to the last answer reach ``server``."""
        self.dns[name] = list(answers)
        for address in answers[-1].split() if server is not None else ():
            self.routes[(address, port)] = ("127.0.0.1", server.port)
