"""The clients process: one asyncio loop holding every WebSocket (``websockets``, ``Authorization: Bearer``) and,
for the baselines, bare channel-layer receivers. It records when each frame arrives.
Commands (one JSON line each): ``connect``, ``wait``, ``drain``, ``bare_listen``, ``bare_collect``, ``stop``."""

import asyncio
import json
import sys
import time
import traceback
from collections import defaultdict

from websockets.asyncio.client import connect

from live_parts.common import bare_layer
from live_parts.processes import protocol_out


def run(args) -> None:
    out = protocol_out()
    asyncio.run(Clients(args.url).serve(out))


class Clients:
    def __init__(self, url: str) -> None:
        self.url = url
        self.sockets: dict[int, object] = {}
        self.readers: list[asyncio.Task] = []
        self.frames: dict[int, list] = defaultdict(list)  # post id -> [(client index, receive time)]
        self.other_frames = 0
        self.bare: list = []  # (channel index, seq, sent time, receive time)
        self.layer = None
        self.bare_channels: list[str] = []

    async def serve(self, out) -> None:
        commands = {"connect": self.connect, "wait": self.wait, "drain": self.drain,
                    "bare_listen": self.bare_listen, "bare_collect": self.bare_collect}  # fmt: skip
        loop = asyncio.get_running_loop()
        print(json.dumps({"ready": True}), file=out)
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            cmd = json.loads(line)
            if cmd["cmd"] == "stop":
                break
            try:
                handler = commands.get(cmd["cmd"])
                answer = await handler(cmd) if handler else {"error": f"unknown command {cmd['cmd']}"}
            except Exception as error:  # noqa: BLE001 - reported to the parent, which stops the run
                traceback.print_exc()
                answer = {"error": repr(error)}
            print(json.dumps(answer), file=out)
        await asyncio.gather(*(ws.close() for ws in self.sockets.values()), return_exceptions=True)
        for task in self.readers:
            task.cancel()
        if self.layer is not None:
            await self.layer.flush()

    # -- WebSockets

    async def connect(self, cmd) -> dict:
        started = time.time()
        gate = asyncio.Semaphore(cmd.get("parallel", 20))
        results = await asyncio.gather(*(self._open(i, token, gate) for i, token in cmd["tokens"]))
        # group_add runs before accept; let the subscriptions land
        await asyncio.sleep(cmd.get("settle", 1.0))
        return {"connected": sum(results), "failed": len(results) - sum(results), "seconds": time.time() - started,
                "open": sum(1 for ws in self.sockets.values() if ws.state.name == "OPEN")}  # fmt: skip

    async def _open(self, index: int, token: str, gate: asyncio.Semaphore) -> bool:
        async with gate:
            try:
                ws = await connect(self.url, additional_headers={"Authorization": f"Bearer {token}"},
                                   open_timeout=30, max_size=2**22)  # fmt: skip
            except Exception as error:  # noqa: BLE001
                print(f"client {index}: {error!r}", file=sys.stderr)
                return False
        self.sockets[index] = ws
        self.readers.append(asyncio.create_task(self._read(index, ws)))
        return True

    async def _read(self, index: int, ws) -> None:
        try:
            async for raw in ws:
                now = time.time()
                event = json.loads(raw)
                if event.get("type") == "post.new":
                    self.frames[event["post"]["id"]].append((index, now))
                else:
                    self.other_frames += 1
        except Exception:  # noqa: BLE001 - a closed socket: its missing frames are counted as lost
            pass

    async def wait(self, cmd) -> dict:
        """The frames of these posts, once each has as many as expected (or at the timeout)."""
        expect = {int(k): v for k, v in cmd["expect"].items()}
        deadline = time.time() + cmd["timeout"]
        while time.time() < deadline and any(len(self.frames.get(pid, ())) < n for pid, n in expect.items()):
            await asyncio.sleep(0.005)
        return {"frames": {pid: self.frames.pop(pid, []) for pid in expect}, "other": self.other_frames}

    async def drain(self, cmd) -> dict:
        taken = dict(self.frames)
        self.frames.clear()
        return {"frames": taken, "other": self.other_frames}

    # -- the bare channel layer

    async def bare_listen(self, cmd) -> dict:
        """Channels 0..``channels``-1, each in its group ``bench.bare.N`` (and all in ``source_group``)."""
        self.layer = self.layer or bare_layer()
        for index in range(len(self.bare_channels), cmd["channels"]):
            channel = await self.layer.new_channel()
            self.bare_channels.append(channel)
            await self.layer.group_add(f"bench.bare.{index}", channel)
            self.readers.append(asyncio.create_task(self._bare_receive(index, channel)))
        if cmd.get("source_group"):
            for channel in self.bare_channels:
                await self.layer.group_add(cmd["source_group"], channel)
        await asyncio.sleep(0.3)
        return {"channels": len(self.bare_channels)}

    async def _bare_receive(self, index: int, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            self.bare.append((index, message["seq"], message["t"], time.time()))

    async def bare_collect(self, cmd) -> dict:
        deadline = time.time() + cmd.get("timeout", 3.0)
        while len(self.bare) < cmd.get("expect", 0) and time.time() < deadline:
            await asyncio.sleep(0.005)
        taken = list(self.bare)
        self.bare.clear()
        return {"receipts": taken}
