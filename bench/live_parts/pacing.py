"""A client that sends prepared HTTP requests at a fixed rate (``bench/websub.py`` plays a WebSub hub with it,
``bench/federation.py`` a person posting): ``senders`` threads, one keep-alive ``http.client`` connection each."""

import http.client
import queue
import threading
import time


class PacedSender:
    """``run(requests, rate)`` sends ``(path, body, headers)`` POSTs, one every ``1 / rate`` s, and returns per
    request (scheduled, sent, answered, status) in ``time.time()`` (-1: no answer); ``bodies`` holds the
    answers' bodies when ``keep_bodies``."""

    def __init__(self, port: int, senders: int, *, keep_bodies: bool = False) -> None:
        self.port, self.senders, self.keep_bodies = port, senders, keep_bodies
        self.bodies: list[bytes] = []

    def run(self, requests: list[tuple[str, bytes, dict]], rate: float) -> list[tuple[float, float, float, int]]:
        jobs: queue.Queue = queue.Queue()
        results: list = [None] * len(requests)
        self.bodies = [b""] * len(requests)
        threads = [threading.Thread(target=self._send, args=(jobs, requests, results), daemon=True)
                   for _ in range(self.senders)]  # fmt: skip
        for thread in threads:
            thread.start()
        start = time.time() + 0.05
        for index in range(len(requests)):
            due = start + index / rate
            time.sleep(max(0.0, due - time.time()))
            jobs.put((index, due))
        for _ in threads:
            jobs.put(None)
        for thread in threads:
            thread.join()
        return results

    def _send(self, jobs: queue.Queue, requests: list, results: list) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while (job := jobs.get()) is not None:
            index, due = job
            path, body, headers = requests[index]
            sent = time.time()
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                status = response.status
                if self.keep_bodies:
                    self.bodies[index] = answer
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                status = -1
            results[index] = (due, sent, time.time(), status)
        conn.close()
