"""One HTTP request through an ASGI application in this process, as a server would hand it on (no socket)."""

import asyncio
import json


def asgi_post(application, path: str, *, chunks: list[bytes], headers: dict[str, str]) -> tuple[int, dict, dict]:
    """POST ``chunks`` (the body, in the pieces the server hands on) to ``application``; returns the status, the
    response headers (names in lower case) and the answer (JSON decoded, else text)."""
    from asgiref.testing import ApplicationCommunicator

    async def run():
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
                 "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}  # fmt: skip
        communicator = ApplicationCommunicator(application, scope)
        for i, chunk in enumerate(chunks):
            await communicator.send_input({"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1})
        start = await communicator.receive_output(10)
        body = await communicator.receive_output(10)
        answer = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        text = body["body"].decode()
        return start["status"], answer, json.loads(text) if answer.get("content-type") == "application/json" else text

    return asyncio.run(run())
