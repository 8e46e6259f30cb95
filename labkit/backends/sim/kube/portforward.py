"""`kubectl port-forward`: the pods/portforward subresource, answered as the kubelet's streaming server
answers it (pkg/kubelet/cri/streaming/portforward httpstream.go), with the simulated container's
server on the far end (webservers.py).

    serve(handler, api, "default", "web")     # from server.route: the upgrade, then the session

For each local connection kubectl opens two SPDY streams with the same `requestID` header: an
`error` stream (it only reads it) and a `data` stream (the connection's bytes both ways), both
naming the container `port` (client-go tools/portforward portforward.go handleConnection). The
server replies to each (SYN_REPLY), forwards the data stream to what listens on the port, and
ends the pair by closing both streams; what went wrong is written on the error stream first, in
the kubelet's words ("error forwarding port 81 to pod ..., uid : ..."), which kubectl prints.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .. import objects
from . import resources as res
from . import spdy, streams, websocket
from .kinds.pods import pod_ip
from .spdy import Closed, Framer, ProtocolError
from .status import ApiError, not_found
from .webservers import Connection, listener

MAX_PAIRS = 1024  # connections forwarded at once on one session; more are refused (RST_STREAM)


def serve(h, api, namespace: str | None, name: str) -> None:
    """Agree on the protocol, switch to it, and forward until kubectl leaves."""
    with api.lock:
        key = res.key(namespace or res.NAMESPACE, name)
        p = api.storage.items("pods").get(key) if namespace else None
        if p is None:
            raise not_found("pods", name)
        if p.node is None:
            raise ApiError(400, "BadRequest", f"pod {name} does not have a host assigned")
    if streams.wants_websocket(h):
        wanted = streams.TUNNEL_PREFIX + streams.PORT_FORWARD
        if wanted not in websocket.offered(h.headers.get("Sec-WebSocket-Protocol")):
            # the API server's TunnelingHandler: kubectl then falls back to SPDY
            raise ApiError(400, "BadRequest", "unable to upgrade: no tunneling spdy protocols provided")
        streams.switch(h, streams.websocket_headers(h, wanted))
        tunnelled = True
    elif streams.wants_spdy(h):
        offered = ",".join(h.headers.get_all("X-Stream-Protocol-Version") or [])
        if streams.PORT_FORWARD not in [v.strip() for v in offered.split(",")]:
            raise ApiError(403, "Forbidden", f"unable to upgrade: unable to negotiate protocol: client supports "
                           f"[{offered}], server supports [{streams.PORT_FORWARD}]")
        streams.switch(h, [("Connection", "Upgrade"), ("Upgrade", "SPDY/3.1"),
                           ("X-Stream-Protocol-Version", streams.PORT_FORWARD)])
        tunnelled = False
    else:
        raise ApiError(400, "BadRequest", "Upgrade request required")
    streams.run(h, api, lambda wire: Session(Framer(websocket.Tunnel(websocket.WebSocket(wire)) if tunnelled
                                                    else wire), api, namespace, name).run())


def refused(port: int, sandbox: str) -> str:
    """containerd's words for a port nothing listens on in the pod's network namespace
    (internal/cri/server/sandbox_portforward_linux.go portForward: tcp4, then tcp6, both refused)."""
    return (f'failed to execute portforward in network namespace "/var/run/netns/cni-{uuid.UUID(sandbox[:32])}": '
            f'failed to connect to localhost:{port} inside namespace "{sandbox}", IPv4: dial tcp4 127.0.0.1:{port}: '
            f"connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused ")


@dataclass(eq=False)
class Pair:
    """One forwarded connection: its error and data streams, and the container's end of it."""
    request: str
    port: int = 0
    ids: dict[str, int] = field(default_factory=dict)  # "error" and "data" -> stream id, once opened
    connection: Connection | None = None
    finished: set[int] = field(default_factory=set)  # streams the server has closed (FIN sent)
    done: bool = False

    @property
    def error(self) -> int:
        return self.ids.get("error", 0)

    @property
    def data(self) -> int:
        return self.ids.get("data", 0)


class Session:
    """One upgraded port-forward connection: its SPDY streams, paired by request id."""

    def __init__(self, framer: Framer, api, namespace: str, name: str) -> None:
        self.framer, self.api, self.namespace, self.name = framer, api, namespace, name
        self.pairs: dict[str, Pair] = {}
        self.streams: dict[int, Pair] = {}
        self.last_stream = 0

    def run(self) -> None:
        try:
            while True:
                frame = self.framer.read()
                if frame.kind == spdy.GOAWAY:
                    return
                self.handle(frame)
        except ProtocolError:
            self._goaway(spdy.GOAWAY_PROTOCOL_ERROR)
        except Closed:
            self._goaway(spdy.GOAWAY_OK)

    def _goaway(self, status: int) -> None:
        try:
            self.framer.goaway(self.last_stream, status)
        except Closed:
            pass

    def handle(self, frame: spdy.Frame) -> None:
        if frame.kind == spdy.SYN_STREAM:
            self.opened(frame)
        elif frame.kind == 0:
            self.received(frame)
        elif frame.kind == spdy.RST_STREAM:
            pair = self.streams.pop(frame.stream, None)
            if pair is not None:
                self.end(pair)
        elif frame.kind == spdy.PING:
            self.framer.ping(frame.stream)  # spdystream answers a ping the other side started
        # SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY: nothing to do (spdystream keeps no flow control)

    def opened(self, frame: spdy.Frame) -> None:
        """httpStreamReceived's checks, then the reply; the pair starts once both streams are here."""
        stream = frame.stream
        if stream <= self.last_stream or stream % 2 == 0:  # spdystream validateStreamId
            self.framer.reset(stream, spdy.PROTOCOL_ERROR)
            return
        self.last_stream = stream
        port_text, kind = frame.header("port"), frame.header("streamtype")
        if not re.fullmatch(r"[0-9]{1,5}", port_text) or not 0 < int(port_text) < 65536 or \
                kind not in ("error", "data") or (len(self.pairs) >= MAX_PAIRS and frame.header("requestid")
                                                  not in self.pairs):
            self.framer.reset(stream)  # the handler's error: stream.Reset()
            return
        self.framer.reply(stream)
        request = frame.header("requestid") or str(stream if kind == "error" else stream - 2)
        pair = self.pairs.setdefault(request, Pair(request, int(port_text)))
        if kind in pair.ids:  # "error stream already assigned": said on the error stream, as the kubelet does
            self._say(pair, f"error processing stream for request {request}: {kind} stream already assigned")
            self.framer.reset(stream)
            return
        pair.ids[kind] = stream
        self.streams[stream] = pair
        if pair.error and pair.data:
            self.start(pair)

    def start(self, pair: Pair) -> None:
        found, sandbox = self._listener(pair.port)
        if found is None or not found.http:
            why = refused(pair.port, sandbox) if found is None else (
                f"labkit's simulator does not speak {found.server}'s own protocol (only HTTP servers answer through "
                f"port-forward here); labkit's kubernetes backend (minikube) forwards to the real {found.server}")
            # the kubelet's words around the runtime's (portforward/httpstream.go portForward)
            self._say(pair, f"error forwarding port {pair.port} to pod {sandbox}, uid : {why}")
            self.end(pair)
            return
        pair.connection = found.connect()

    def received(self, frame: spdy.Frame) -> None:
        pair = self.streams.get(frame.stream)
        if pair is None or pair.done or frame.stream != pair.data:
            return  # the error stream carries nothing from kubectl but its FIN; unknown streams: dropped
        if pair.connection is not None and frame.data:
            answer, closed = pair.connection.feed(frame.data)
            if answer:
                self.framer.data(pair.data, answer)
            if closed:
                self.end(pair)
                return
        if frame.fin:  # kubectl's side of the connection closed: the server sees EOF and closes too
            self.end(pair)

    def end(self, pair: Pair) -> None:
        """portForward's deferred closes: both streams end (their FIN), once."""
        pair.done = True
        for stream in (pair.data, pair.error):
            if stream and stream not in pair.finished and stream in self.streams:
                pair.finished.add(stream)
                self.framer.data(stream, b"", fin=True)
        for stream in (pair.data, pair.error):
            self.streams.pop(stream, None)
        self.pairs.pop(pair.request, None)

    def _say(self, pair: Pair, message: str) -> None:
        if pair.error and pair.error not in pair.finished:
            self.framer.data(pair.error, message.encode())

    def _listener(self, port: int):
        """What listens on `port` in the pod now, and the pod's sandbox id (the kubelet's name for it)."""
        with self.api.lock:
            sim = self.api.storage.sim
            p: objects.Pod | None = self.api.storage.items("pods").get(res.key(self.namespace, self.name))
            sandbox = hashlib.sha256(f"sandbox/{self.namespace}/{self.name}/{p.created if p else 0}".encode()
                                     ).hexdigest()
            if p is None:
                return None, sandbox
            node = self.api.storage.items("nodes").get(p.node) if p.node else None
            epoch = self.api.clock.epoch
            now = datetime.fromtimestamp(epoch + sim.now(), timezone.utc)
            started = datetime.fromtimestamp(epoch + (p.started or p.created), timezone.utc)
            return listener(p, port=port, ip=pod_ip(p, node) or "", now=now, started=started), sandbox
