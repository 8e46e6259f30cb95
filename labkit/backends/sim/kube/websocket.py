"""WebSocket (RFC 6455), the server's side, as kubectl's streams use it: the handshake's accept key,
frames read from a client (masked) and written to it (unmasked), pings answered, a close echoed.

    socket = WebSocket(wire)                  # wire: read_exact(n) -> bytes, write(data)
    kind, payload = socket.receive()          # a whole message (BINARY or TEXT); Closed once it closes
    socket.send(b"...")                       # one binary message
    tunnel = Tunnel(socket)                   # the messages as one byte stream (SPDY tunnelled, below)

kubectl's port-forward tunnels SPDY through binary messages (client-go tools/portforward
tunneling_connection.go: each Write is one message, a Read runs on across messages) when the
server accepts the subprotocol "SPDY/3.1+portforward.k8s.io" (k8s.io/apiserver pkg/util/proxy
streamtunnel.go); its exec speaks v5.channel.k8s.io, one channel byte before each message's data
(k8s.io/apimachinery pkg/util/httpstream/wsstream/conn.go).
"""
from __future__ import annotations

import base64
import hashlib
import struct

from .spdy import Closed, ProtocolError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 16 * 1024 * 1024  # a message larger than this is junk (the SPDY frames inside are at most 16 MiB)
NORMAL_CLOSURE, PROTOCOL_ERROR_CODE, TOO_BIG = 1000, 1002, 1009


def accept_key(key: str) -> str:
    """Sec-WebSocket-Accept for the client's Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key.strip() + GUID).encode()).digest()).decode()


def offered(header: str | None) -> list[str]:
    """The subprotocols a Sec-WebSocket-Protocol header offers, in the client's order."""
    return [p.strip() for p in (header or "").split(",") if p.strip()]


def frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final frame (a server never masks)."""
    size = len(payload)
    if size < 126:
        head = struct.pack(">BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        head = struct.pack(">BBH", 0x80 | opcode, 126, size)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 127, size)
    return head + payload


class WebSocket:
    """Messages over `wire`, the server's side of an upgraded connection."""

    def __init__(self, wire) -> None:
        self.wire = wire
        self.closed = False

    def send(self, payload: bytes, opcode: int = BINARY) -> None:
        self.wire.write(frame(opcode, payload))

    def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """Send a close frame once (the client then closes the TCP connection)."""
        if not self.closed:
            self.closed = True
            try:
                self.send(struct.pack(">H", code) + reason.encode()[:120], CLOSE)
            except (OSError, Closed):
                pass

    def receive(self) -> tuple[int, bytes]:
        """The next whole data message (opcode, payload); control frames are answered on the way."""
        kind, parts, size = None, [], 0
        while True:
            fin, opcode, payload = self._frame()
            if opcode >= CLOSE:
                self._control(opcode, payload)
                continue
            if opcode == CONTINUATION and kind is None:
                raise ProtocolError("a continuation frame with no message to continue")
            if opcode != CONTINUATION and kind is not None:
                raise ProtocolError("a new message began before the last one ended")
            kind = opcode if kind is None else kind
            size += len(payload)
            if size > MAX_MESSAGE:
                self.close(TOO_BIG, "message too big")
                raise ProtocolError(f"a message larger than {MAX_MESSAGE} bytes")
            parts.append(payload)
            if fin:
                if kind not in (TEXT, BINARY):
                    raise ProtocolError(f"unknown WebSocket opcode {kind}")
                return kind, b"".join(parts)

    def _frame(self) -> tuple[bool, int, bytes]:
        first, second = self.wire.read_exact(2)
        fin, opcode, masked, size = bool(first & 0x80), first & 0x0F, bool(second & 0x80), second & 0x7F
        if first & 0x70:
            raise ProtocolError("a WebSocket frame with reserved bits set (no extension was agreed)")
        if not masked:
            raise ProtocolError("a client's WebSocket frame must be masked (RFC 6455 section 5.1)")
        if size == 126:
            size = struct.unpack(">H", self.wire.read_exact(2))[0]
        elif size == 127:
            size = struct.unpack(">Q", self.wire.read_exact(8))[0]
        if opcode >= CLOSE and (size > 125 or not fin):
            raise ProtocolError("a WebSocket control frame longer than 125 bytes or fragmented")
        if size > MAX_MESSAGE:
            self.close(TOO_BIG, "message too big")
            raise ProtocolError(f"a WebSocket frame of {size} bytes")
        mask = self.wire.read_exact(4)
        data = self.wire.read_exact(size) if size else b""
        return fin, opcode, _unmask(data, mask)

    def _control(self, opcode: int, payload: bytes) -> None:
        if opcode == PING:
            self.send(payload, PONG)
        elif opcode == CLOSE:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else NORMAL_CLOSURE
            self.close(code if code in (NORMAL_CLOSURE, 1001) else NORMAL_CLOSURE)
            raise Closed("the client closed the WebSocket")
        elif opcode != PONG:
            raise ProtocolError(f"unknown WebSocket control opcode {opcode}")


def _unmask(data: bytes, mask: bytes) -> bytes:
    """XOR with the 4-byte mask, a machine word at a time (a 1 MiB frame in milliseconds)."""
    key = (mask * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(len(data), "big")


class Tunnel:
    """A byte stream carried in binary messages (SPDY over WebSocket): `read_exact` runs on across
    messages, each `write` is one message, as client-go's TunnelingConnection does on its side."""

    def __init__(self, socket: WebSocket) -> None:
        self.socket = socket
        self._buffer = bytearray()

    def read_exact(self, n: int) -> bytes:
        while len(self._buffer) < n:
            kind, payload = self.socket.receive()
            if kind != BINARY:
                raise ProtocolError("a text message in a SPDY tunnel (client-go: invalid message type received)")
            self._buffer += payload
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def write(self, data: bytes) -> None:
        self.socket.send(data)
