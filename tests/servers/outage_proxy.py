"""A TCP proxy in front of a real server (PostgreSQL, Redis) whose ``outage()`` does to the clients what a
server restart does: every open connection is cut and new ones are refused for a while, then the same address
answers again. The servers of the machine are shared, so the suite cuts the road to them instead of them."""

import contextlib
import socket
import threading
import time


class OutageProxy:
    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.connections = 0  # accepted since the start, for the test to see that clients came back

    def start(self) -> "OutageProxy":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name=f"proxy-{self.port}").start()
        return self

    def stop(self) -> None:
        """The server goes away: the port refuses connections and every open one is cut."""
        listener, self._listener = self._listener, None
        if listener:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    @contextlib.contextmanager
    def outage(self, seconds: float):
        """Down for ``seconds``, then up again on the same port (as after a restart)."""
        self.stop()
        try:
            time.sleep(seconds)
            yield
        finally:
            self.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # stopped while connecting
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
                self.connections += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:  # one side is gone: the other goes too, as a TCP peer would see it
            with self._lock:
                for sock in (source, sink):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                    sock.close()
                    self._open.discard(sock)
