"""The simulator's Kubernetes API over HTTPS on 127.0.0.1, for the real kubectl and the official client.

    api = KubeAPIServer(sim_backend)       # a SimBackend of the kubernetes flavor
    api.start()                            # a free port, a fresh certificate and token
    api.write_kubeconfig(path)             # what kubectl and the client load
    api.stop()

Every request must carry the bearer token (a page in the student's browser cannot read
it, so it cannot drive the cluster); the answer is the real API server's JSON, a
server-side Table when kubectl asks for one, or a `Status` with the real reason and code.
All access to the simulator holds `lock`, which the ticker and the notebook share.
"""
from __future__ import annotations

import atexit
import hmac
import json
import math
import secrets
import shutil
import ssl
import threading
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ....errors import LabkitError
from ..http_body import BodyError, read_body
from . import discovery, openapi, protobuf, schema, tls
from .columns import table
from .exec import serve as serve_exec
from .kinds import Call, Kind
from .kinds.pods import POD
from .patch import SelectorError, field_matcher, label_matcher
from .portforward import serve as serve_portforward
from .registry import REGISTRY
from .resources import Clockwork
from .rest import Storage, requested
from .status import ApiError, not_found
from .watch import Encodings, Feed, stream

STREAMS = {"portforward": serve_portforward, "exec": serve_exec}  # pods' streaming subresources
MAX_BODY = 3 * 1024 * 1024  # the real API server's request size limit (3 MiB)
# k8s.io/apiserver's secure serving: a connection idle 90 s is closed; a request's headers must come within 32 s.
IDLE_TIMEOUT = 90.0
HANDSHAKE_TIMEOUT = 10.0  # Go's default TLS handshake timeout on the client side
MAX_CONNECTIONS = 2048  # a classroom of watches (1,000 at once are tested); more are closed at once


def whole_seconds(virtual_now: float) -> float:
    """The epoch that dates virtual time `virtual_now` as the wall clock's now, in whole seconds:
    timestamps carry whole seconds, so an age (now minus a timestamp) then depends on cluster
    time alone, the same on every run."""
    return float(int(time.time() - virtual_now))


class KubeAPIServer:
    def __init__(self, backend, *, port: int = 0, epoch: float | None = None,
                 lock: threading.RLock | None = None) -> None:
        self.lock = lock or threading.RLock()
        self.clock = Clockwork(whole_seconds(backend.now()) if epoch is None else epoch)
        # Cluster time as epoch seconds for labkit's clock endpoint: fixed, so it runs `speed` times faster
        # than the wall clock (the timestamps' epoch may be moved to keep them out of the future: serve.py).
        self.origin = self.clock.epoch
        self.storage = Storage(backend, self.clock)
        self.feed = Feed(backend, self.storage)
        self.encodings = Encodings()
        self.token = secrets.token_urlsafe(24)
        self.folder = tls.private_folder()
        atexit.register(shutil.rmtree, self.folder, True)  # a notebook's kernel may end without stop()
        cert, key, self.ca_pem = tls.make_certificate(self.folder)
        self.storage.ca_pem = self.ca_pem.decode()
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.load_cert_chain(cert, key)  # kept: listening again needs no file
        try:
            self.httpd = self._listen(port)
        except OSError:  # the port is taken: leave nothing behind
            self.feed.close()
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.ending_watches = threading.Event()
        self.busy = 0  # requests being answered (a watch counts only while it starts)
        self.touched = time.monotonic()  # the last request, answer or watch event
        self.watches: dict[int, int] = {}  # open watch -> the store revision it has looked at
        self._count = threading.Lock()
        self.failures: deque = deque(maxlen=50)  # (method, path, traceback) of every 500 answered
        self.speed = 0.0  # how fast the cluster's clock follows the wall clock (0: only when told)

    def _listen(self, port: int) -> "Listener":
        return Listener(("127.0.0.1", port), self, self._tls)

    def start(self) -> "KubeAPIServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="labkit-kube-api", daemon=True)
        self._thread.start()
        return self

    @property
    def listening(self) -> bool:
        return self._thread is not None

    def pause(self) -> None:
        """Stop answering, keeping port, token and certificate (the simulated API server was
        stopped: kubectl's connections are refused, as they would be)."""
        if self._thread is not None:
            self.stopping.set()
            self.httpd.shutdown()
            self.httpd.server_close()
            self._thread = None

    def resume(self) -> None:
        if self._thread is None:
            self.stopping.clear()
            self.httpd = self._listen(self.port)
            self.start()

    def rebind(self, backend) -> None:
        """Serve `backend` afresh (the simulator was reset: a new store behind the same door)."""
        with self.lock:
            self.feed.close()
            self.storage = Storage(backend, self.clock)
            self.storage.ca_pem = self.ca_pem.decode()
            self.feed = Feed(backend, self.storage)

    def enter(self, n: int = 1) -> None:
        with self._count:
            self.busy += n
            self.touched = time.monotonic()

    def leave(self) -> None:
        self.enter(-1)

    def failed(self, method: str | None, path: str, error: Exception) -> None:
        """A request met a fault of labkit's (answered 500): kept for `labkit doctor` and the
        tests, which expect none; the server and the simulator go on."""
        import traceback
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__, limit=-8))
        self.failures.append((method, path[:200], text))

    def watched(self, watch: int, revision: int | None) -> None:
        """A watch has looked at the store up to `revision` (None: it has ended)."""
        with self._count:
            if revision is None:
                self.watches.pop(watch, None)
            else:
                self.watches[watch] = revision

    def quiet(self, seconds: float) -> bool:
        """Whether every client has what it asked for: no request under way, every open watch
        has sent every change, and nothing was asked or answered for `seconds` (the time a
        client takes to act on what it was sent)."""
        revision = self.storage.revision()
        return (self.busy == 0 and all(seen >= revision for seen in self.watches.values())
                and time.monotonic() - self.touched >= seconds)

    def end_watches(self) -> None:
        """Close every open watch once it has sent what is pending (`kubectl get -w` then exits)."""
        self.ending_watches.set()

    def stop(self) -> None:
        self.pause()
        self.feed.close()
        shutil.rmtree(self.folder, ignore_errors=True)  # the private key goes with the server

    def kubeconfig(self, context: str = "labkit") -> dict:
        from base64 import b64encode
        return {"apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
                "clusters": [{"name": context, "cluster": {
                    "server": self.url, "certificate-authority-data": b64encode(self.ca_pem).decode()}}],
                "users": [{"name": context, "user": {"token": self.token}}],
                "contexts": [{"name": context, "context": {"cluster": context, "user": context,
                                                           "namespace": "default"}}]}

    def write_kubeconfig(self, path: str, context: str = "labkit") -> str:
        """Write the kubeconfig (mode 0600, whole or not at all, never through a planted link)."""
        from ....private import write_private
        return write_private(path, json.dumps(self.kubeconfig(context), indent=1))  # JSON is YAML: kubectl reads it

    def authorized(self, header: str | None) -> bool:
        """Only `Authorization: Bearer <token>`, as the real server's token authenticator reads it."""
        scheme, _, given = (header or "").partition(" ")
        given = given.strip()
        return (scheme.lower() == "bearer" and bool(given)
                and hmac.compare_digest(given.encode(), self.token.encode()))


class Listener(ThreadingHTTPServer):
    """The listening socket: each connection's TLS handshake and requests run on the
    connection's own thread, with timeouts, so an idle or slow client delays nobody
    (with the handshake in accept(), one `nc 127.0.0.1 PORT` froze the API), and at most
    MAX_CONNECTIONS are served at once (more are closed at once: the client retries)."""

    daemon_threads = True
    request_queue_size = 128  # the listen backlog (socketserver's default, 5, filled with 7 idle clients)

    def __init__(self, address: tuple[str, int], api: "KubeAPIServer", tls_context: ssl.SSLContext) -> None:
        self.api, self.tls = api, tls_context
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, Handler)

    def process_request(self, request, client_address) -> None:
        if not self.slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:  # no thread could be started: give the slot back
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def finish_request(self, request, client_address) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ValueError):  # no handshake in time, or not TLS: nothing to answer
            return
        try:
            connection.settimeout(IDLE_TIMEOUT)
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            connection.close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm on, the second waits for
    # the client's delayed ACK of the first, 40 ms on Linux, on every answer.
    disable_nagle_algorithm = True
    warnings: list[str]

    def log_message(self, *args) -> None:  # quiet: a notebook is no server log
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        """As Go's server: a Date header and no Server banner (http.server names Python's version)."""
        self.started = True  # from here on a refusal cannot be a Status any more
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server refuses itself (a bad request line, headers too long, an unknown
        method) answered as a Status, and an unknown method only after the token check."""
        self.close_connection = True
        if code == 501:  # a method with no do_ method
            if not self.server.api.authorized(self.headers.get("Authorization")):
                code, reason, message = 401, "Unauthorized", "Unauthorized"
            else:
                code, reason, message = 405, "MethodNotAllowed", f"the server does not allow the method {self.command}"
        else:
            reason = "RequestHeaderFieldsTooLarge" if code == 431 else "BadRequest"
            message = message or "the request could not be read"
        self.send_json(code, ApiError(code, reason, message).status())

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    # -- answering ---------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        api: KubeAPIServer = self.server.api
        api.enter()
        try:
            self._answer(api, method)
        finally:
            api.leave()

    def _answer(self, api: "KubeAPIServer", method: str) -> None:
        self.warnings, self.started = [], False
        try:
            if not api.authorized(self.headers.get("Authorization")):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
            route(self, api, method, url.path.rstrip("/") or "/", query, body)
        except ApiError as error:
            self._refuse(error)
        except (BrokenPipeError, ConnectionResetError, TimeoutError, ssl.SSLError):
            self.close_connection = True
        except Exception as error:  # a fault of labkit's: the client still gets a Status, the server goes on
            api.failed(self.command, self.path, error)
            self._refuse(ApiError(500, "InternalError", f"Internal error occurred: {type(error).__name__}: "
                                  f"{str(error)[:200]}"))

    def _refuse(self, error: ApiError) -> None:
        if self.started:  # a watch that had begun: its stream just ends
            self.close_connection = True
            return
        try:
            self.send_json(error.code, error.status())
        except OSError:
            self.close_connection = True

    def _body(self):
        raw = self._read_body()
        if not raw:
            return None
        kind = (self.headers.get("Content-Type") or "").split(";")[0]
        if kind == "application/vnd.kubernetes.protobuf":  # kubectl's `create <generator>` sends it
            try:
                return protobuf.decode(raw)
            except ValueError as error:
                raise ApiError(415, "UnsupportedMediaType", f"the simulator cannot read this protobuf body: "
                               f"{error}") from None
        try:
            return parse_json(raw)
        except ApiError:
            if "yaml" in (self.headers.get("Content-Type") or ""):
                raise ApiError(415, "UnsupportedMediaType", "the simulator takes JSON bodies; "
                               "kubectl sends JSON unless told to apply on the server") from None
            raise

    def _read_body(self) -> bytes:
        """The body (http_body.py), at most MAX_BODY bytes: 413 past that, as the real server answers."""
        try:
            return read_body(self.rfile, self.headers, MAX_BODY)
        except BodyError as error:
            self.close_connection = True  # where the next request starts is unknown
            raise BODY_ERRORS[error.problem](error.detail) from None

    def send_json(self, code: int, payload: dict) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(code)
        for warning in getattr(self, "warnings", ()):  # kubectl prints each as "Warning: ..."
            self.send_header("Warning", f"299 - {json.dumps(warning[:1000])}")  # quoted, escaped, ASCII
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_bytes(self, code: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def parse_json(raw: bytes):
    """JSON as the real server reads it: no NaN or Infinity (not JSON), no number too large for
    a float, nesting bounded; anything else is a 400 that says so."""
    try:
        return json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        raise ApiError(400, "BadRequest", "the body of the request is nested too deeply: "
                       "json: exceeded max depth") from None
    except ValueError as error:
        raise ApiError(400, "BadRequest", "the body of the request is not valid JSON (couldn't get version/kind; "
                       f"json parse error: {str(error)[:120]})") from None


def _not_json(word: str):
    raise ValueError(f"invalid character '{word[0]}' looking for beginning of value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


BODY_ERRORS = {
    "length": lambda text: ApiError(400, "BadRequest", f"invalid Content-Length {text!r}: not a whole number of bytes"),
    "short": lambda text: ApiError(400, "BadRequest", "the body ended before its Content-Length"),
    "chunk": lambda text: ApiError(400, "BadRequest", "a chunk of the body has no valid size"),
    "too large": lambda text: too_large()}


def too_large() -> ApiError:
    return ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}")


def route(h: Handler, api: KubeAPIServer, method: str, path: str, query: dict, body) -> None:
    parts = path.strip("/").split("/") if path != "/" else []
    if path in ("/healthz", "/livez", "/readyz"):
        return h.send_text(200, "ok")
    if path == "/version":
        return h.send_json(200, discovery.version())
    if parts[:3] == ["labkit", "v1", "nodes"] and len(parts) == 5 and method == "POST":
        with api.lock:
            return h.send_json(200, power(api, parts[3], parts[4]))
    if path == "/labkit/v1/nodes" and method == "POST":
        with api.lock:
            name = api.storage.sim.add_node()
            return h.send_json(201, api.storage.get("nodes", None, name))
    if path == "/labkit/v1/clock":
        with api.lock:
            return h.send_json(200, clock(api, method, body))
    if path == "/api":
        return h.send_json(200, discovery.core_versions(f"127.0.0.1:{api.port}"))
    if path == "/apis":
        return h.send_json(200, discovery.group_list())
    if path == "/openapi/v3":
        return h.send_json(200, openapi.index())
    if path.startswith("/openapi/v3/"):
        document = openapi.find(path.removeprefix("/openapi/v3/"))
        if document is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return h.send_bytes(200, document, openapi.cache_headers(path.removeprefix("/openapi/v3/"), query))
    if parts[:1] == ["apis"] and len(parts) == 2 and method == "GET" and discovery.group(parts[1]) is not None:
        return h.send_json(200, discovery.group(parts[1]))
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if not rest:
        listing = discovery.resource_list(group, version)
        if listing is None or method != "GET":
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return h.send_json(200, listing)
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural, name, sub = rest[0], (rest[1] if len(rest) > 1 else None), (rest[2] if len(rest) > 2 else None)
    resource = REGISTRY.get(group, plural)
    if resource is None or resource.version != version or len(rest) > 3:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if not api.storage.sim.store.up:  # the API server keeps nothing itself
        raise ApiError(500, "", "etcdserver: request timed out")
    if resource.namespaced and namespace is None and name is not None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if resource is POD and sub in STREAMS and name is not None and method in ("GET", "POST"):
        return STREAMS[sub](h, api, namespace, name)  # a stream: it takes the connection over
    # Outside the lock: a selector or a body costs its own request time, nobody else's.
    match = matchers(resource, query)
    body = checked_body(h, resource, name, sub, method, query, body)
    with api.lock:
        answer = handle(h, api, method, resource, namespace, name, sub, query, body, match)
    if answer is not None:
        code, payload = answer
        h.send_json(code, payload) if isinstance(payload, dict) else h.send_text(code, payload)


def power(api: KubeAPIServer, node: str, action: str) -> dict:
    """`POST /labkit/v1/nodes/<name>/stop|start`: switch a simulated machine off or on, as
    `minikube node stop/start` does a real one (and `POST /labkit/v1/nodes` adds one, as
    `minikube node add`). Not a Kubernetes API (no cluster can power its own machines):
    labkit's Kubernetes backend uses it on a served simulator, where there is no minikube. The node then goes NotReady, and its pods are evicted, exactly
    as when the simulator's own fail_node is called."""
    sim = api.storage.sim
    if node not in sim.api.items("nodes"):
        raise not_found("nodes", node)
    if action not in ("stop", "start"):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    try:
        (sim.fail_node if action == "stop" else sim.recover_node)(node)
    except LabkitError as error:
        raise ApiError(409, "Conflict", error.message) from None
    return api.storage.get("nodes", None, node)


def clock(api: KubeAPIServer, method: str, body) -> dict:
    """`GET /labkit/v1/clock`: the cluster's time (epoch seconds) and how much faster than the
    wall clock it runs. `POST {"seconds": n}` moves a stopped clock (speed 0) on by n seconds:
    how labkit's Kubernetes backend lets time pass on a served simulator that follows no wall
    clock. Not a Kubernetes API: a real cluster's time is the wall clock's."""
    if method == "POST":
        seconds = (body or {}).get("seconds") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= 86400:
            raise ApiError(400, "BadRequest", "the body must be {\"seconds\": n}, 0 <= n <= 86400")
        if api.speed > 0:
            raise ApiError(409, "Conflict", f"this cluster's clock follows the wall clock ({api.speed:g}x)")
        api.storage.sim.advance(float(seconds))
    elif method != "GET":
        raise ApiError(405, "MethodNotAllowed", "the clock takes GET and POST")
    return {"now": api.origin + api.storage.sim.now(), "speed": api.speed}


VERB = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
PATCH_SHAPES = {"application/json-patch+json": (list, "jsonpatch.Patch"),
                "application/merge-patch+json": (dict, "map[string]interface {}"),
                "application/strategic-merge-patch+json": (dict, "map[string]interface {}")}


def subresource_schema(sub: str | None) -> tuple[str, str] | None:
    """(OpenAPI schema, kind) of what a subresource called `sub` takes, as some served kind's
    `sub` takes it (Scale, Eviction); None when it takes its parent kind."""
    for kind in REGISTRY:
        found = kind.subresource(sub)
        if found is not None and found.schema:
            return found.schema, found.kind
    return None


def checked_body(h: Handler, resource: Kind, name, sub, method: str, query: dict, body):
    """A write's body decoded by its schema (schema.py) before anything is locked or written:
    a wrong type is a 400, an unknown field a 400 under Strict or a warning, a value outside
    an enum a 422. A patch is checked for its shape here and decoded once applied (rest.py)."""
    verb = VERB.get(method) if method != "GET" else "get" if name is not None else "list"
    if verb is None:
        return body
    if sub is None and verb not in resource.verbs and (name is not None or verb in ("create", "list")):
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    if method == "GET" or sub in ("exec", "attach", "portforward"):  # connect subresources: a stream, no body
        return body
    if method == "PATCH":
        shape, go_type = PATCH_SHAPES.get((h.headers.get("Content-Type") or "").split(";")[0], (object, ""))
        if not isinstance(body, shape):
            raise ApiError(400, "BadRequest", f"json: cannot unmarshal {schema.json_type(body)} into Go value of "
                           f"type {go_type}")
        return body
    if method == "DELETE":
        if body is None:
            return None
        found, warnings = schema.decode(body, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions", "DeleteOptions",
                                        query.get("fieldValidation"))
    elif subresource_schema(sub) is not None:
        found, warnings = schema.decode(body, *subresource_schema(sub), query.get("fieldValidation"))
    else:
        found, warnings = schema.decode(body, openapi.schema_name(resource), resource.kind,
                                        query.get("fieldValidation"), resource.plural)
    h.warnings += warnings
    return found


def schema_of(resource: Kind, sub) -> tuple[str, str]:
    """(OpenAPI schema name, kind) of what a request to `resource` (or its subresource) writes."""
    return subresource_schema(sub) or (openapi.schema_name(resource), resource.kind)


def decoder(h: Handler, resource: Kind, sub, query: dict):
    """How a patched object is decoded before it is written (as a PUT's body is)."""
    name, kind = schema_of(resource, sub)

    def decode(obj):
        found, warnings = schema.decode(obj, name, kind, query.get("fieldValidation"), resource.plural)
        h.warnings.extend(w for w in warnings if w not in h.warnings)
        return found
    return decode


def handle(h: Handler, api: KubeAPIServer, method: str, resource: Kind, namespace, name, sub, query, body, match):
    """One request to one resource; returns (code, JSON or text), or None once it has answered."""
    store, plural, group = api.storage, resource.plural, resource.group
    dry_run = query.get("dryRun") == "All"
    if resource.deprecated:
        h.warnings.append(resource.deprecated)
    if name is None:
        if method == "GET" and query.get("watch") in ("1", "true"):
            api.lock.release()  # a watch holds the connection, not the simulator
            try:
                stream(h, api, resource, namespace, query, match)
            finally:
                api.lock.acquire()
            return None
        if method == "GET":
            return 200, listing(h, api, resource, namespace, query, match)
        if method == "POST":
            created = store.create(plural, namespace if resource.namespaced else None, body, dry_run, group=group)
            return 201, created
        if method == "DELETE" and resource.namespaced:
            return 200, store.delete_collection(plural, namespace, match, dry_run, group=group)
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {plural}")
    if sub is not None:
        media_type = (h.headers.get("Content-Type") or "").split(";")[0] if method == "PATCH" else None
        call = Call(method=method, namespace=namespace, name=name, body=body, dry_run=dry_run, patch=media_type,
                    wanted=requested(media_type, body, decoder(h, resource, sub, query),
                                     schema.ref(schema_of(resource, sub)[0])), query=query)
        answer = store.subresource(plural, sub, call, group=group)
        if answer is not None:
            return answer
        if resource.subresource(sub) is not None and (sub != "status" or method not in ("GET", "PUT", "PATCH")):
            raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {plural}/{sub}")
    if sub not in (None, "status"):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if method == "GET":
        found = store.get(plural, namespace, name, group=group)
        if "as=Table" in (h.headers.get("Accept") or ""):
            meta = {"resourceVersion": found["metadata"].get("resourceVersion", "")}
            return 200, table(resource, [found], api, meta, query.get("includeObject", "Metadata"))
        return 200, resource.shape(found) if resource.shape is not None else found
    if method == "PATCH":
        kind = (h.headers.get("Content-Type") or "").split(";")[0]
        return 200, store.patch(plural, namespace, name, kind, body, dry_run, decoder(h, resource, sub, query),
                                schema.ref(schema_of(resource, sub)[0]), group=group)
    if method == "PUT":
        return 200, store.replace(plural, namespace, name, body, dry_run, group=group)
    if method == "DELETE":
        return 200, store.delete(plural, namespace, name, dry_run or (body or {}).get("dryRun") == ["All"],
                                 group=group)
    raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {plural}")


def matchers(resource: Kind, query: dict):
    """Whether an object matches the request's label and field selectors (the fields its kind takes)."""
    try:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), resource.fields)
    except SelectorError as error:
        raise ApiError(400, "BadRequest", str(error)) from None
    return lambda obj: labels((obj.get("metadata") or {}).get("labels")) and fields(obj)


def listing(h: Handler, api: KubeAPIServer, resource: Kind, namespace, query, match) -> dict:
    items = [o for o in api.storage.objects(resource.plural, namespace, group=resource.group) if match(o)]
    revision = str(api.storage.revision())
    start = _offset(query.get("continue"))
    limit = int(query["limit"]) if query.get("limit", "").isdigit() and int(query["limit"]) > 0 else None
    page = items[start:start + limit] if limit else items[start:]
    meta = {"resourceVersion": revision}
    if limit and start + limit < len(items):
        meta["continue"] = urlsafe_b64encode(json.dumps({"start": start + limit}).encode()).decode()
        meta["remainingItemCount"] = len(items) - start - limit
    if "as=Table" in (h.headers.get("Accept") or ""):
        return table(resource, page, api, meta, query.get("includeObject", "Metadata"))
    shape = resource.shape
    return {"kind": f"{resource.kind}List", "apiVersion": resource.group_version, "metadata": meta,
            "items": [shape(o) for o in page] if shape else page}


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(urlsafe_b64decode(token.encode()))["start"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "BadRequest", "continue key is not valid: the token could not be decoded") from None
