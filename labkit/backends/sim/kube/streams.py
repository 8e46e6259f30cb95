"""The pods' streaming subresources (portforward.py, exec.py), what they share: once the request's
protocol is agreed, the connection switches protocols (101) and a session owns the raw connection.

    switch(handler, websocket_headers(handler, "v5.channel.k8s.io"))    # the 101 answer
    run(handler, api, lambda wire: Session(WebSocket(wire)).run())       # until either side ends it

kubectl v1.37 first asks for a WebSocket (port-forward: the subprotocol "SPDY/3.1+portforward.k8s.io",
SPDY tunnelled in binary messages; exec: "v5.channel.k8s.io") and falls back to a plain SPDY/3.1
upgrade when the server refuses (client-go tools/portforward fallback_dialer.go, tools/remotecommand
fallback.go). The real API server passes these on to the kubelet's streaming server (k8s.io/apiserver
pkg/util/proxy streamtunnel.go, streamtranslator.go; k8s.io/apimachinery pkg/util/httpstream/spdy
upgrade.go); here the session answers for the kubelet itself.
"""
from __future__ import annotations

import socket
import ssl
import time
from typing import Callable

from . import websocket
from .spdy import Closed

POLL = 1.0  # how often a waiting read looks whether the server is stopping
WRITE_TIMEOUT = 30.0  # a client that reads nothing for this long is gone (the session ends, nobody else waits)
# The kubelet's --streaming-connection-idle-timeout (4h0m0s by default): a stream idle this long is closed.
STREAM_IDLE = 4 * 3600.0
PORT_FORWARD = "portforward.k8s.io"
TUNNEL_PREFIX = "SPDY/3.1+"  # k8s.io/apimachinery pkg/util/portforward constants.go WebsocketsSPDYTunnelingPrefix


class Wire:
    """The raw (TLS) connection once upgraded: exact reads that give up when the server stops or
    the client is idle past STREAM_IDLE, and writes that give up on a client that stopped reading."""

    def __init__(self, sock: socket.socket, pending: bytes, alive: Callable[[], bool],
                 idle: float = STREAM_IDLE) -> None:
        self.sock, self.alive, self.idle = sock, alive, idle
        self._buffer = bytearray(pending)
        self.last = time.monotonic()
        sock.settimeout(POLL)

    def read_exact(self, n: int) -> bytes:
        while len(self._buffer) < n:
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, ssl.SSLWantReadError):
                if not self.alive():
                    raise Closed("the API server is stopping") from None
                if time.monotonic() - self.last > self.idle:
                    raise Closed("the stream was idle too long") from None
                continue
            except (OSError, ValueError) as error:
                raise Closed(f"the connection failed: {error}") from None
            if not chunk:
                raise Closed("the client closed the connection")
            self.last = time.monotonic()
            self._buffer += chunk
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def write(self, data: bytes) -> None:
        try:
            self.sock.settimeout(WRITE_TIMEOUT)
            self.sock.sendall(data)
        except (OSError, ValueError) as error:
            raise Closed(f"the client does not read: {error}") from None
        finally:
            try:
                self.sock.settimeout(POLL)
            except OSError:
                pass


def pending(handler) -> bytes:
    """What the client sent after its request that http.server's buffered reader already holds
    (nothing, from a client that waits for the 101 as kubectl does); read without blocking."""
    sock = handler.connection
    sock.setblocking(False)
    try:
        held = handler.rfile.peek()
        return handler.rfile.read(len(held)) if held else b""
    except (ssl.SSLWantReadError, BlockingIOError, OSError, ValueError):
        return b""
    finally:
        sock.settimeout(POLL)


def wants_websocket(handler) -> bool:
    return "websocket" in (handler.headers.get("Upgrade") or "").lower()


def wants_spdy(handler) -> bool:
    return "spdy/3.1" in (handler.headers.get("Upgrade") or "").lower()


def switch(handler, headers: list[tuple[str, str]]) -> None:
    """Write the 101 Switching Protocols answer: from here on the connection is the session's."""
    handler.started = True
    handler.close_connection = True
    handler.send_response_only(101)
    for name, value in headers:
        handler.send_header(name, value)
    handler.end_headers()


def websocket_headers(handler, protocol: str) -> list[tuple[str, str]]:
    return [("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", websocket.accept_key(handler.headers.get("Sec-WebSocket-Key") or "")),
            ("Sec-WebSocket-Protocol", protocol)]


def run(handler, api, session: Callable[[Wire], None]) -> None:
    """Run `session` on the upgraded connection until either side ends it. The request counts as
    answered meanwhile (api.busy), as an open watch does."""
    wire = Wire(handler.connection, pending(handler), lambda: not api.stopping.is_set())
    api.leave()
    try:
        session(wire)
    finally:
        api.enter()
