"""The served engine's HTTP over a unix socket: each connection on its own thread, with an
idle timeout and a body limit; every request is answered, an error as the engine's
`{"message": "..."}` with its status code, and no request can stop the server.

    server = EngineServer(engine, "/run/user/1000/labkit/engine/x/docker.sock").start()
    server.stop()

API versions are negotiated as dockerd does (moby's api/server/middleware/version.go): a
path may start with /v1.NN; a version newer than the newest served, or older than the
oldest, is a 400 in the engine's words; every answer says the newest (API-Version).
"""
from __future__ import annotations

import json
import os
import re
import select
import socket
import socketserver
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from ..http_body import BodyError, read_body
from . import (containers, endpoints, events, images, logs, networks, nodes, secrets, services,  # noqa: F401
               swarm, system, tasks, volumes)

# What answers: each module's @route functions (they register themselves as they are imported).
RESOURCE_GROUPS = (containers, endpoints, events, images, logs, networks, nodes, secrets, services, swarm, system,
                   tasks, volumes)
from .common import ROUTES, Answer, Call, EngineError, parse_body
from .state import API_VERSION, ENGINE_VERSION, MIN_API_VERSION, Engine

MAX_BODY = 4 * 1024 * 1024  # swarmkit's gRPC limit on one message: no spec is larger
IDLE_TIMEOUT = 90.0  # a connection that says nothing this long is closed
MAX_CONNECTIONS = 512
VERSIONED = re.compile(r"/v([0-9.]+)(/.*)?")
# Paths of the engine's API that the simulated one does not serve yet (501, not moby's 404 "page not found").
NOT_SERVED = ("containers", "images", "networks", "volumes", "exec", "build", "secrets", "configs", "plugins",
              "events", "system", "session", "auth", "commit", "grpc", "swarm", "distribution")


class EngineServer:
    def __init__(self, engine: Engine, path: str) -> None:
        self.engine, self.path = engine, path
        self.failures: deque = deque(maxlen=50)  # (method, path, traceback) of every 500 of labkit's own
        self.listener = Listener(path, self)
        os.chmod(path, 0o600)  # the folder is 0700 already; the socket is its owner's alone too
        self._thread: threading.Thread | None = None

    def start(self) -> "EngineServer":
        self._thread = threading.Thread(target=self.listener.serve_forever, name="labkit-engine-api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.listener.shutdown()
            self._thread = None
        self.listener.server_close()
        try:
            os.unlink(self.path)
        except OSError:
            pass

    def failed(self, method: str, path: str, error: Exception) -> None:
        import traceback
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__, limit=-8))
        self.failures.append((method, path[:200], text))


class Listener(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The listening socket: a thread per connection, at most MAX_CONNECTIONS at once (more are
    closed at once: the client retries), each with an idle timeout."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, path: str, server: EngineServer) -> None:
        self.server_ref = server
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(path, Handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def finish_request(self, request: socket.socket, client_address) -> None:
        request.settimeout(IDLE_TIMEOUT)
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request, client_address) -> None:  # a connection's fault ends that connection only
        pass


def newer(a: str, b: str) -> bool:
    """Whether API version `a` is newer than `b` (moby's versions.GreaterThan)."""
    def numbers(text: str) -> list[int]:
        return [int(p) if p.isdigit() else 0 for p in text.split(".")]
    x, y = numbers(a), numbers(b)
    width = max(len(x), len(y))
    return x + [0] * (width - len(x)) > y + [0] * (width - len(y))


def negotiate(path: str) -> tuple[str, str]:
    """(API version, path without its /v1.NN) or the engine's 400."""
    found = VERSIONED.fullmatch(path)
    if found is None:
        return API_VERSION, path
    version, rest = found.group(1), found.group(2) or "/"
    if newer(MIN_API_VERSION, version):
        raise EngineError(400, f"client version {version} is too old. Minimum supported API version is "
                               f"{MIN_API_VERSION}, please upgrade your client to a newer version")
    if newer(version, API_VERSION):
        raise EngineError(400, f"client version {version} is too new. Maximum supported API version is {API_VERSION}")
    return version, rest


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = False  # a unix socket has no Nagle
    server_version = f"Docker/{ENGINE_VERSION} (linux)"
    sys_version = ""

    def log_message(self, *args) -> None:  # a notebook is no server log
        pass

    def address_string(self) -> str:  # a unix socket's peer has no address
        return "unix"

    def version_string(self) -> str:
        return self.server_version

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server refuses itself (a bad request line, headers too long, an unknown
        method), answered in the engine's shape."""
        self.close_connection = True
        self.request_version = "HTTP/1.1"  # a one-word request line is no HTTP/0.9 client here: a status line goes out
        if code == 501:
            code, message = 404, "page not found"
        elif code == 400:
            message = f"malformed HTTP request: {message or 'unreadable'}"
        try:
            self._send(Answer(code=code, json={"message": message or "the request could not be read"}), "GET")
        except OSError:
            pass

    def parse_request(self) -> bool:
        """As Go's server: a request line without a protocol (HTTP/0.9) is a malformed request."""
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(400, f"missing protocol in {self.requestline[:80]!r}")
            return False
        return True

    def do_GET(self) -> None:
        self._serve("GET")

    def do_HEAD(self) -> None:
        self._serve("HEAD")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        server: EngineServer = self.server.server_ref
        try:
            answer = self._answer(server, method)
        except EngineError as error:
            answer = Answer(code=error.code, json={"message": error.message})
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True
            return
        except Exception as error:  # a fault of labkit's: the client still hears, the server goes on
            server.failed(method, self.path, error)
            answer = Answer(code=500, json={"message": f"labkit's simulated engine failed: {type(error).__name__}: "
                                                       f"{str(error)[:200]}"})
        try:
            self._send(answer, method)
        except OSError:
            self.close_connection = True

    def _answer(self, server: EngineServer, method: str) -> Answer:
        url = urlsplit(self.path)
        body = self._read_body()  # whatever the method, so the next request on the connection starts where it should
        version, path = negotiate(url.path)
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if server.engine.before is not None:
            server.engine.before(method, parts)  # a waiting command's pace (progress.py)
        for candidate in ROUTES:
            params = candidate.match(method, parts)
            if params is None:
                continue
            parsed = parse_body(body) if method == "POST" and candidate.body else None
            call = Call(engine=server.engine, method=method, params=params, query=query, body=parsed, version=version)
            return candidate.handler(call)
        if parts and parts[0] in NOT_SERVED:
            raise EngineError(501, f"labkit's simulated Docker Engine does not serve {method} {path} yet: it serves "
                                   "the swarm (docker swarm, node, service), containers (run, ps, logs, stop, "
                                   "start, rm, inspect, wait), images (pull, images, rmi) and networks")
        raise EngineError(404, "page not found")

    def _read_body(self) -> bytes:
        """The body (http_body.py), at most MAX_BODY bytes."""
        try:
            return read_body(self.rfile, self.headers, MAX_BODY)
        except BodyError as error:
            self.close_connection = True  # where the next request starts is unknown
            raise BODY_ERRORS[error.problem](error.detail) from None

    def _send(self, answer: Answer, method: str) -> None:
        if answer.stream is not None:
            self._send_stream(answer, method)
            return
        if answer.raw is not None:
            data, kind = answer.raw, answer.content_type
        elif answer.text is not None:
            data, kind = answer.text.encode(), "text/plain; charset=utf-8"
        elif answer.json is not None:
            data, kind = (json.dumps(answer.json, separators=(",", ":")) + "\n").encode(), "application/json"
        else:
            data, kind = b"", "text/plain; charset=utf-8"
        self.send_response(answer.code)
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD" and data:
            self.wfile.write(data)


    def _send_stream(self, answer: Answer, method: str) -> None:
        """Headers at once, then the body in chunks as the stream yields them (the client reads on
        while the engine waits, as moby flushes its headers before waiting)."""
        self.send_response(answer.code)
        self.send_header("Api-Version", API_VERSION)
        self.send_header("Docker-Experimental", "false")
        self.send_header("Ostype", "linux")
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", answer.content_type or "application/json")
        if method == "HEAD":
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for data in answer.stream():
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                elif self._client_gone():
                    self.close_connection = True
                    return
        except Exception as error:  # the headers are out: the client hears the connection end
            if not isinstance(error, OSError):
                self.server.server_ref.failed(method, self.path, error)
            self.close_connection = True
            return
        self.wfile.write(b"0\r\n\r\n")


    def _client_gone(self) -> bool:
        """Whether the client closed its end (a stream with nothing to say notices only so)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


BODY_ERRORS = {"length": lambda text: EngineError(400, f"invalid Content-Length {text!r}"),
               "short": lambda text: EngineError(400, "unexpected EOF"),
               "chunk": lambda text: EngineError(400, "a chunk of the body has no valid size"),
               "too large": lambda text: too_large()}


def too_large() -> EngineError:
    return EngineError(413, f"request body too large: the limit is {MAX_BODY} bytes")
