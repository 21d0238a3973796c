"""A client of the kernel runner's ZMQ protocol, as the agent speaks it.

The runner binds PULL on port 2000 (replin) and PUSH on 2001 (replout); every
message is two frames, `[op, payload]`. The client connects a PUSH socket to
2000 and a PULL socket to 2001 from inside the runner's network namespace
(each test image has its own, support.image): the calling thread joins it
only while the context and sockets are created, and the context's I/O
threads, started then, stay in it.
"""

from __future__ import annotations

import json
import struct
import time
from pathlib import Path

import zmq
from support.image import in_netns


def unpack_map(data: bytes) -> dict:
    """Decode the msgpack of a `status` reply: a map of short strings to numbers or strings."""
    pos = 0

    def take(n: int) -> bytes:
        nonlocal pos
        pos += n
        return data[pos - n : pos]

    def value():
        b = take(1)[0]
        if b <= 0x7F:
            return b
        if 0xA0 <= b <= 0xBF:
            return take(b & 0x1F).decode()
        if b == 0xD9:
            return take(take(1)[0]).decode()
        if b == 0xCB:
            return struct.unpack(">d", take(8))[0]
        if b == 0xCA:
            return struct.unpack(">f", take(4))[0]
        if b in (0xCC, 0xCD, 0xCE, 0xCF):
            n = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}[b]
            return int.from_bytes(take(n), "big")
        if b in (0xC2, 0xC3):
            return b == 0xC3
        if b == 0xC0:
            return None
        if 0x80 <= b <= 0x8F:
            return {value(): value() for _ in range(b & 0x0F)}
        raise ValueError(f"msgpack type {b:#x} at {pos - 1} is not one a status reply uses")

    result = value()
    if not isinstance(result, dict) or pos != len(data):
        raise ValueError(f"not a msgpack map: {data!r}")
    return result


class RunnerClient:
    """PUSH to the runner's replin, PULL from its replout."""

    def __init__(
        self,
        netns: Path | None = None,
        host: str = "127.0.0.1",
        replin: int = 2000,
        replout: int = 2001,
    ):
        with in_netns(netns):
            self.ctx = zmq.Context()
            self.push = self.ctx.socket(zmq.PUSH)
            self.pull = self.ctx.socket(zmq.PULL)
            for sock in (self.push, self.pull):
                sock.setsockopt(zmq.LINGER, 0)
            self.push.connect(f"tcp://{host}:{replin}")
            self.pull.connect(f"tcp://{host}:{replout}")

    def close(self) -> None:
        self.push.close()
        self.pull.close()
        self.ctx.term()

    def send(self, op: str, payload: str | bytes = b"") -> None:
        self.push.send_multipart(
            [op.encode("ascii"), payload.encode() if isinstance(payload, str) else payload]
        )

    def recv(self, timeout: float) -> tuple[str, bytes]:
        """The next `[op, payload]` reply; TimeoutError after `timeout` seconds."""
        if not self.pull.poll(timeout * 1000):
            raise TimeoutError(f"no reply from the runner in {timeout:.0f} s")
        frames = self.pull.recv_multipart()
        if len(frames) != 2:
            raise ValueError(f"a reply of {len(frames)} frames: {frames!r}")
        return frames[0].decode("ascii"), frames[1]

    def status(self, timeout: float, alive=lambda: True) -> dict:
        """Send `status` and wait for the answer (the runner serves once started); its decoded
        payload. `alive()` is asked every second: False (the runner exited) ends the wait."""
        deadline = time.monotonic() + timeout
        self.send("status")
        while True:
            try:
                op, payload = self.recv(1.0)
            except TimeoutError:
                if not alive():
                    raise TimeoutError("no status reply: the runner exited") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no status reply in {timeout:.0f} s") from None
                continue
            if op == "status":
                return unpack_map(payload)

    def run(
        self, op: str, payload: str, timeout: float
    ) -> tuple[int, str, str, list[tuple[str, bytes]]]:
        """Send an execution op (`exec`, `code`, ...) and collect replies up to `finished`.

        Returns (exit code, stdout, stderr, every reply)."""
        self.send(op, payload)
        deadline = time.monotonic() + timeout
        replies: list[tuple[str, bytes]] = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(
                    f"{op}: no `finished` in {timeout:.0f} s; replies so far: {replies!r}"
                )
            op_, payload_ = self.recv(left)
            replies.append((op_, payload_))
            if op_ == "finished":
                out = "".join(p.decode() for o, p in replies if o == "stdout")
                err = "".join(p.decode() for o, p in replies if o == "stderr")
                return json.loads(payload_)["exitCode"], out, err, replies
