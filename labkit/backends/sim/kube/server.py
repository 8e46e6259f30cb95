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
import secrets
import shutil
import ssl
import threading
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import columns, discovery, openapi, protobuf, tls
from .patch import SelectorError, field_matcher, label_matcher
from .resources import SHAPES, Clockwork
from ....errors import LabkitError
from .rest import ApiError, Storage, not_found
from .watch import Encodings, Feed, stream

MAX_BODY = 3 * 1024 * 1024  # the real API server's request size limit (3 MiB)
DEPRECATED = {"componentstatuses": "v1 ComponentStatus is deprecated in v1.19+"}
FIELDS = {"pods": ("metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "spec.restartPolicy",
                   "spec.schedulerName", "status.podIP"),
          "events": ("metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.name",
                     "involvedObject.namespace", "involvedObject.uid", "reason", "type", "source"),
          "nodes": ("metadata.name", "spec.unschedulable"), "namespaces": ("metadata.name", "status.phase")}


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
        self.storage = Storage(backend, self.clock)
        self.feed = Feed(backend, self.storage)
        self.encodings = Encodings()
        self.token = secrets.token_urlsafe(24)
        self.folder = tls.private_folder()
        atexit.register(shutil.rmtree, self.folder, True)  # a notebook's kernel may end without stop()
        cert, key, self.ca_pem = tls.make_certificate(self.folder)
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
        self.speed = 0.0  # how fast the cluster's clock follows the wall clock (0: only when told)

    def _listen(self, port: int) -> ThreadingHTTPServer:
        httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        httpd.daemon_threads = True
        httpd.api = self
        httpd.socket = self._tls.wrap_socket(httpd.socket, server_side=True)
        return httpd

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
            self.feed = Feed(backend, self.storage)

    def enter(self, n: int = 1) -> None:
        with self._count:
            self.busy += n
            self.touched = time.monotonic()

    def leave(self) -> None:
        self.enter(-1)

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
        import os
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.kubeconfig(context), f, indent=1)  # JSON is YAML: kubectl reads it
        return path

    def authorized(self, header: str | None) -> bool:
        given = (header or "").removeprefix("Bearer ").strip()
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "labkit-kube-apiserver"
    # Headers and body go out in two writes: with Nagle's algorithm on, the second waits for
    # the client's delayed ACK of the first, 40 ms on Linux, on every answer.
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # quiet: a notebook is no server log
        pass

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
        try:
            if not api.authorized(self.headers.get("Authorization")):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
            route(self, api, method, url.path.rstrip("/") or "/", query, body)
        except ApiError as error:
            self.send_json(error.code, error.status())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            left = min(length, 16 * MAX_BODY)  # read what was sent (up to a bound), so the client hears the answer
            while left > 0:
                left -= len(self.rfile.read(min(left, 1 << 16)) or b"x" * left)
            raise ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")
        raw = self.rfile.read(length) if length else b""
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
            return json.loads(raw)
        except ValueError:
            if "yaml" in (self.headers.get("Content-Type") or ""):
                raise ApiError(415, "UnsupportedMediaType", "the simulator takes JSON bodies; "
                               "kubectl sends JSON unless told to apply on the server") from None
            raise ApiError(400, "BadRequest", "the body of the request is not valid JSON "
                           f"(couldn't get version/kind; json parse error: {raw[:40]!r}...)") from None

    def send_json(self, code: int, payload: dict) -> None:
        data = json.dumps(payload, separators=(",", ":")).encode()
        self.send_response(code)
        if getattr(self, "warning", None):  # kubectl prints it as "Warning: ..."
            self.send_header("Warning", f'299 - "{self.warning}"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_bytes(self, code: int, data: bytes) -> None:
        self.send_response(code)
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
        return h.send_bytes(200, document)
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
    resource = discovery.BY_PLURAL.get((group, plural))
    if resource is None or resource.version != version or len(rest) > 3:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if not api.storage.sim.store.up:  # the API server keeps nothing itself
        raise ApiError(500, "", "etcdserver: request timed out")
    if resource.namespaced and namespace is None and name is not None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    with api.lock:
        answer = handle(h, api, method, resource, namespace, name, sub, query, body)
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
    return {"now": api.clock.epoch + api.storage.sim.now(), "speed": api.speed}


def handle(h: Handler, api: KubeAPIServer, method: str, resource, namespace, name, sub, query, body):
    """One request to one resource; returns (code, JSON or text), or None once it has answered."""
    store, plural = api.storage, resource.plural
    dry_run = query.get("dryRun") == "All"
    h.warning = DEPRECATED.get(plural)
    if name is None:
        if method == "GET" and query.get("watch") in ("1", "true"):
            api.lock.release()  # a watch holds the connection, not the simulator
            try:
                stream(h, api, resource, namespace, query, matchers(plural, query))
            finally:
                api.lock.acquire()
            return None
        if method == "GET":
            return 200, listing(h, api, resource, namespace, query)
        if method == "POST":
            created = store.create(plural, namespace if resource.namespaced else None, body, dry_run)
            return 201, created
        if method == "DELETE" and resource.namespaced:
            return 200, store.delete_collection(plural, namespace, matchers(plural, query), dry_run)
        raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {plural}")
    if sub == "scale" and plural == "deployments":
        if method == "GET":
            return 200, store.scale(namespace, name)
        kind = (h.headers.get("Content-Type") or "").split(";")[0] if method == "PATCH" else None
        return 200, store.change_scale(namespace, name, kind, body, dry_run)
    if sub == "log" and plural == "pods" and method == "GET":
        return 200, store.log(namespace, name)
    if sub == "eviction" and plural == "pods" and method == "POST":
        return 201, store.evict(namespace, name)
    if sub not in (None, "status"):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    if method == "GET":
        found = store.get(plural, namespace, name)
        if "as=Table" in (h.headers.get("Accept") or ""):
            meta = {"resourceVersion": found["metadata"].get("resourceVersion", "")}
            return 200, table(plural, [found], api, meta, query.get("includeObject", "Metadata"))
        return 200, SHAPES[resource.group](found) if resource.group in SHAPES else found
    if method == "PATCH":
        kind = (h.headers.get("Content-Type") or "").split(";")[0]
        return 200, store.patch(plural, namespace, name, kind, body, dry_run)
    if method == "PUT":
        return 200, store.replace(plural, namespace, name, body, dry_run)
    if method == "DELETE":
        return 200, store.delete(plural, namespace, name, dry_run or (body or {}).get("dryRun") == ["All"])
    raise ApiError(405, "MethodNotAllowed", f"the server does not allow this method on {plural}")


def matchers(plural: str, query: dict):
    try:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), FIELDS.get(plural, ("metadata.name", "metadata.namespace")))
    except SelectorError as error:
        raise ApiError(400, "BadRequest", str(error)) from None
    return lambda obj: labels((obj.get("metadata") or {}).get("labels")) and fields(obj)


def listing(h: Handler, api: KubeAPIServer, resource, namespace, query) -> dict:
    match = matchers(resource.plural, query)
    items = [o for o in api.storage.objects(resource.plural, namespace) if match(o)]
    revision = str(api.storage.revision())
    start = _offset(query.get("continue"))
    limit = int(query["limit"]) if query.get("limit", "").isdigit() and int(query["limit"]) > 0 else None
    page = items[start:start + limit] if limit else items[start:]
    meta = {"resourceVersion": revision}
    if limit and start + limit < len(items):
        meta["continue"] = urlsafe_b64encode(json.dumps({"start": start + limit}).encode()).decode()
        meta["remainingItemCount"] = len(items) - start - limit
    if "as=Table" in (h.headers.get("Accept") or ""):
        return table(resource.plural, page, api, meta, query.get("includeObject", "Metadata"))
    shape = SHAPES.get(resource.group)
    return {"kind": f"{resource.kind}List", "apiVersion": resource.group_version, "metadata": meta,
            "items": [shape(o) for o in page] if shape else page}


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(urlsafe_b64decode(token.encode()))["start"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(400, "BadRequest", "continue key is not valid: the token could not be decoded") from None


def table(plural: str, items: list[dict], api: KubeAPIServer, meta: dict, include: str) -> dict:
    now = api.clock.epoch + api.storage.sim.now()
    row = columns.ROWS.get(plural)
    rows = []
    for obj in items:
        cells = row(obj, now) if row else [obj["metadata"]["name"], columns.human_duration(0)]
        if include == "Object":
            embedded = obj
        elif include == "None":
            embedded = None
        else:
            embedded = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
        rows.append({"cells": cells, "object": embedded})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": columns.COLUMNS.get(plural, columns.COLUMNS["namespaces"][:1]), "rows": rows}
