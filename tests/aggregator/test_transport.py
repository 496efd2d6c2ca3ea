"""What a client may send, through a real server: `manage.py serve` (the embedded hub) and the Procfile's web
process. Raw sockets for HTTP bodies, a real WebSocket client for /ws/stream/.

"Nothing was spooled" is read from the server's own counters: ``/proc/<pid>/io`` ``wchar`` counts every byte the
process wrote anywhere (a temporary file included, even one without a name), ``VmHWM`` its peak memory.
"""

import asyncio
import re
import socket
import sys
import threading
from pathlib import Path

import pytest
import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.tokens import issue_token

from tests.browser import PASSWORD, Hub, create_user
from tests.servers.processes import (
    ROOT,
    free_port,
    manage,
    production_env,
    require_production_services,
    spawn,
    stop,
    wait_for_port,
)

MiB = 1024 * 1024
CAP = 8 * MiB  # the hub's CHORUS_MAX_REQUEST_BYTES here: above the follow-list imports' own cap
FILE_LIMIT = 5 * MiB  # what a follow-list file may be (aggregator/following)
MESSAGES_PER_MINUTE = 5


@pytest.fixture(scope="module")
def hub(tmp_path_factory, embedded_databases):
    """One embedded hub for the module, with alice (and a token of hers)."""
    environment = {"CHORUS_MAX_REQUEST_BYTES": str(CAP), "CHORUS_WS_MAX_MESSAGES_PER_MINUTE": str(MESSAGES_PER_MINUTE)}
    hub = Hub(tmp_path_factory.mktemp("transport-hub"), environment=environment)
    embedded_databases.copy_to(hub.var_dir, seed=(create_user("alice"),), environment=environment)
    hub.start()
    hub.token = manage("issue_token", "alice", env=hub.env).strip()
    yield hub
    print(hub.stop()[-3000:])


def written(pid: int) -> int:
    """Bytes the process has written so far, to any file or socket."""
    return int(re.search(r"^wchar: (\d+)", Path(f"/proc/{pid}/io").read_text(), re.M).group(1))


def peak_memory(pid: int) -> int:
    return int(re.search(r"^VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M).group(1)) * 1024


def exchange(port: int, head: str, body_chunks=(), *, timeout: float = 10) -> tuple[bytes, int]:
    """Send ``head`` then the chunks (on their own thread, until the server stops taking them) and read the
    answer until the server closes. Returns the answer and how many body bytes the server took."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    conn.sendall(head.encode())
    sent = 0

    def send_body():
        nonlocal sent
        try:
            for chunk in body_chunks:
                conn.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server answered and closed: the rest is never read
            pass

    sender = threading.Thread(target=send_body)
    sender.start()
    answer = b""
    try:
        while chunk := conn.recv(65536):
            answer += chunk
    except ConnectionResetError:  # closed with our unread body in its buffer: what arrived before still counts
        pass
    finally:
        sender.join(timeout)
        conn.close()
    return answer, sent


def post_head(port: int, path: str, *, length: int | None = None, content_type="application/x-www-form-urlencoded",
              extra: str = "") -> str:  # fmt: skip
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n{extra}"
            f"{framing}\r\n\r\n")  # fmt: skip


def chunked(total: int, size: int = MiB):
    block = f"{size:x}\r\n".encode() + b"a" * size + b"\r\n"
    for _ in range(total // size):
        yield block
    yield b"0\r\n\r\n"


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/tracks", "/subscriptions/import-list/"])
def test_a_huge_content_length_is_answered_413_at_once_without_reading_the_body(hub, path):
    pid, port = hub.process.pid, hub.port
    before = written(pid)
    # Not a byte of the body is sent: a server that waited for it would never answer.
    answer, _ = exchange(port, post_head(port, path, length=3 * 1024**3), timeout=5)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"connection: close" in head.lower()
    if path.startswith("/api/"):
        assert b"application/json" in head and b'"detail": "The request body is larger than 8 MiB' in body
    else:
        assert body.startswith(b"The request body is larger than")
    assert written(pid) - before < 64 * 1024  # its log line and the answer


def test_a_chunked_body_over_the_cap_is_cut_off_with_413_and_nothing_is_spooled(hub):
    pid, port = hub.process.pid, hub.port
    before_written, before_peak = written(pid), peak_memory(pid)
    answer, sent = exchange(port, post_head(port, "/accounts/login/"), chunked(64 * MiB))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert sent < 32 * MiB  # the server stopped reading at the cap (what the sockets' buffers hold aside)
    assert written(pid) - before_written < 64 * 1024  # no temporary file: the cut body never left memory
    assert peak_memory(pid) - before_peak < CAP + 16 * MiB  # and no more of it than the cap was held


def test_the_follow_list_imports_are_capped_at_their_file_limit(hub):
    port = hub.port
    for path in ("/api/v1/follow-lists", "/api/v1/opml", "/subscriptions/import-list/"):
        answer, _ = exchange(port, post_head(port, path, length=FILE_LIMIT + MiB, content_type="multipart/form-data"),
                             timeout=5)  # fmt: skip
        assert answer.startswith(b"HTTP/1.1 413"), (path, answer[:300])
    chunked_answer, _ = exchange(port, post_head(port, "/api/v1/follow-lists"), chunked(FILE_LIMIT + MiB))
    assert chunked_answer.startswith(b"HTTP/1.1 413") and b'"detail"' in chunked_answer
    # A body that size anywhere else is under the hub's cap: read, and answered by the API
    other = requests.post(f"{hub.base}/api/v1/tracks", data=b"x" * (FILE_LIMIT + MiB), timeout=30,
                          headers={"Authorization": f"Bearer {hub.token}", "Content-Type": "application/json"})  # fmt: skip
    assert other.status_code == 400 and other.json() == {"detail": "Cannot parse request body"}


def test_a_file_just_over_the_import_limit_reaches_the_import_and_is_never_written_to_disk(hub):
    """The cap leaves room for the multipart framing: the person gets the import's own reason, and the admitted
    body stays in memory (Django's upload limits agree with the cap)."""
    before = written(hub.process.pid)
    answer = requests.post(f"{hub.base}/api/v1/follow-lists", headers={"Authorization": f"Bearer {hub.token}"},
                           files={"file": ("follows.opml", b"x" * (FILE_LIMIT + 1))}, timeout=30)  # fmt: skip
    assert answer.status_code == 400
    assert answer.json() == {"detail": "the file is larger than 5 MiB"}
    assert written(hub.process.pid) - before < 64 * 1024


def stream_url(hub) -> str:
    return hub.base.replace("http://", "ws://") + "/ws/stream/"


async def closed_after(url: str, messages, **options) -> tuple[int | None, int]:
    """Connect, send the messages until the server closes the socket; (its close code, how many were sent)."""
    async with connect(url, open_timeout=10, max_size=None, **options) as ws:
        sent = 0
        try:
            for message in messages:
                await ws.send(message)
                sent += 1
            await asyncio.wait_for(ws.wait_closed(), timeout=10)
        except ConnectionClosed:
            pass
        return ws.close_code, sent


def test_an_oversized_message_closes_the_socket_before_the_server_buffers_it(hub):
    token = {"additional_headers": {"Authorization": f"Bearer {hub.token}"}}
    asyncio.run(opens(stream_url(hub), Authorization=f"Bearer {hub.token}"))  # the first socket loads the code
    pid, before = hub.process.pid, peak_memory(hub.process.pid)
    for _ in range(3):
        code, _ = asyncio.run(closed_after(stream_url(hub), ["{" + "x" * (15 * MiB) + "}"], **token))
        assert code == 1009
    assert peak_memory(pid) - before < 8 * MiB  # each was offered whole; the server stopped it past the cap


def test_a_socket_that_keeps_sending_is_closed(hub):
    token = {"additional_headers": {"Authorization": f"Bearer {hub.token}"}}

    async def scenario():
        async with connect(stream_url(hub), open_timeout=10, **token) as ws:
            for _ in range(MESSAGES_PER_MINUTE):
                await ws.send('{"hello": 1}')
            await asyncio.wait_for(await ws.ping(), timeout=10)  # still open after its budget's worth
        return await closed_after(stream_url(hub), ['{"hello": 1}'] * (MESSAGES_PER_MINUTE + 50), **token)

    code, sent = asyncio.run(scenario())
    assert code == 1008 and sent <= MESSAGES_PER_MINUTE + 50


def signed_in_cookie(hub) -> str:
    browser = requests.Session()
    browser.get(f"{hub.base}/accounts/login/", timeout=10)
    answer = browser.post(f"{hub.base}/accounts/login/", timeout=10, allow_redirects=False,
                          data={"login": "alice", "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
                          headers={"Referer": f"{hub.base}/accounts/login/"})  # fmt: skip
    assert answer.status_code == 302, answer.text[:500]
    return f"sessionid={browser.cookies['sessionid']}"


async def opens(url: str, *, origin: str | None = None, **headers: str) -> bool:
    try:
        async with connect(url, open_timeout=10, additional_headers=headers, origin=origin):
            return True
    except Exception as refused:  # the handshake is answered 403
        assert "403" in str(refused), refused
        return False


def test_a_session_socket_opens_from_the_pages_own_origin_only(hub):
    cookie, port = signed_in_cookie(hub), hub.port
    ours = f"http://127.0.0.1:{port}"
    assert asyncio.run(opens(stream_url(hub), origin=ours, Cookie=cookie))
    for foreign in ("http://127.0.0.1:9999", f"https://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert not asyncio.run(opens(stream_url(hub), origin=foreign, Cookie=cookie)), foreign
    # Bearer-token clients send no Origin (README): they keep working
    assert asyncio.run(opens(stream_url(hub), Authorization=f"Bearer {hub.token}"))


@pytest.mark.production
@pytest.mark.django_db(transaction=True)
def test_the_procfiles_web_process_caps_socket_messages_at_the_server(alice):
    """The Procfile's web line, as written (bound to loopback here), on the test database and Redis."""
    require_production_services()
    web_line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    command = web_line.removeprefix("web:").replace("--host 0.0.0.0", "--host 127.0.0.1")
    assert "--host 127.0.0.1" in command
    port = free_port()
    env = {**production_env(), "PORT": str(port), "PATH": f"{Path(sys.executable).parent}:{production_env()['PATH']}"}
    web = spawn(["bash", "-c", f"exec {command}"], env=env)
    try:
        wait_for_port(port, timeout=60)
        token = {"additional_headers": {"Authorization": f"Bearer {issue_token(user=alice)}"}}
        url = f"ws://127.0.0.1:{port}/ws/stream/"
        assert asyncio.run(opens(url, **token["additional_headers"]))  # the first socket loads the code
        before = peak_memory(web.pid)
        code, _ = asyncio.run(closed_after(url, ["x" * (15 * MiB)], **token))
        assert code == 1009
        assert peak_memory(web.pid) - before < 8 * MiB
    finally:
        print("web:", stop(web)[-3000:])


@pytest.mark.django_db(transaction=True)
def test_the_guard_closes_an_oversized_message_where_the_server_did_not(alice, settings):
    """A server started without the message cap (plain uvicorn's default is 16 MiB) still hands the application
    nothing over the setting: the guard around it closes the socket."""
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from aggregator.asgi import application

    headers = [(b"authorization", f"Bearer {issue_token(user=alice)}".encode())]

    async def scenario():
        communicator = WebsocketCommunicator(application, "/ws/stream/", headers=headers)
        assert (await communicator.connect(timeout=5))[0]
        await communicator.send_to(text_data="x" * (settings.CHORUS_WS_MAX_MESSAGE_BYTES + 1))
        assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 1009}
        await communicator.wait(timeout=5)  # the consumer saw the disconnect and left its groups

    async_to_sync(scenario)()
