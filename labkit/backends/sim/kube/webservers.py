"""What a simulated container answers on one of its ports, byte for byte, as the real server in its
image would: the page the image serves (labkit/catalog.py) with the status line and headers that
server writes, so `curl -i localhost:8080` through `kubectl port-forward` looks as it does on a real
cluster.

    found = listener(pod, port=80, ip="10.244.1.7", now=wall)   # a Listener, or why it refuses
    conn = found.connect()
    answer, done = conn.feed(b"GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")

The servers' ways (their status pages and header order) follow nginx's ngx_http_header_filter and
ngx_http_special_response.c, Apache's default 2.4 pages, busybox's httpd.c (the course's demo images
run `busybox httpd`: labkit/backends/docker/images.py) and Go's net/http (whoami, echo-server,
agnhost, hello-app).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

from .... import catalog
from ...docker.images import lookup as demo_image, page_html
from ..objects import Pod

MAX_HEAD = 64 * 1024  # nginx's large_client_header_buffers (4 x 8k) are smaller; past this it is junk
MAX_BODY = 1024 * 1024  # nginx's client_max_body_size
REQUEST_LINE = re.compile(rb"([A-Z]{1,20}) (\S{1,8000}) HTTP/(1\.[01])")
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Request Entity Too Large",
           501: "Not Implemented"}
NGINX_REASONS = {405: "Not Allowed"}  # ngx_http_status_lines
# Which server an HTTP image runs, by repository (the others are Go programs: net/http's answers).
SERVERS = {"nginx": "nginx", "httpd": "apache"}


def http_date(when: datetime) -> str:
    return format_datetime(when.astimezone(timezone.utc), usegmt=True)


@dataclass(frozen=True)
class Listener:
    """A server listening on a container's port: `http` False for one that speaks another protocol."""
    server: str  # "nginx", "apache", "busybox", "go", or the image's name for a server that is not HTTP
    port: int
    page: str = ""
    version: str = ""
    http: bool = True
    modified: datetime | None = None  # the page file's time (Last-Modified, ETag)
    now: datetime | None = None

    def connect(self) -> "Connection":
        return Connection(self)


def listener(pod: Pod, *, port: int, ip: str, now: datetime, started: datetime) -> Listener | None:
    """What listens on `port` in the pod's container; None: nothing (a connection is refused)."""
    if not (pod.container_up and pod.listening):
        return None
    hostname = pod.name.rsplit("/", 1)[-1]
    if catalog.is_demo(pod.image):
        demo = demo_image(catalog.normalize(pod.image))
        if demo is None or port != 80:
            return None
        return Listener(server="busybox", port=80, page=page_html(demo), modified=started, now=now)
    found = catalog.public(pod.image)
    if found is None or found.image.port != port:
        return None
    image = found.image
    if not image.http:
        return Listener(server=image.name, port=port, http=False, now=now)
    page = image.page_of(found.version, hostname=hostname, ip=ip, now=http_date(now))
    return Listener(server=SERVERS.get(image.name, "go"), port=port, page=page, version=found.version,
                    modified=started, now=now)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    version: str
    headers: dict[str, str]

    @property
    def keep_alive(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        return "close" not in connection and (self.version == "1.1" or "keep-alive" in connection)


class Connection:
    """One TCP connection to a listener: bytes in, the server's answers out (requests may be pipelined)."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self._buffer = bytearray()
        self.closed = False

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """The answers to every whole request `data` completes, and whether the server then closed."""
        if self.closed:
            return b"", True
        self._buffer += data
        out = bytearray()
        while not self.closed:
            request, problem = self._next()
            if request is None and problem is None:
                break
            status, head, body = answer(self.listener, request) if request else problem_answer(self.listener, problem)
            keep = request is not None and request.keep_alive and self.listener.server != "busybox"
            out += _response(self.listener, status, head, body, keep, request)
            self.closed = not keep
        return bytes(out), self.closed

    def _next(self) -> tuple[Request | None, int | None]:
        """The next whole request, (None, None) until it has all come, or (None, status) for junk."""
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return (None, 400) if len(self._buffer) > MAX_HEAD else (None, None)
        lines = bytes(self._buffer[:end]).split(b"\r\n")
        matched = REQUEST_LINE.fullmatch(lines[0])
        if matched is None:
            return None, 400
        headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                return None, 400
            headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
        length_text = headers.get("content-length", "0")
        if not re.fullmatch(r"[0-9]{1,12}", length_text):
            return None, 400
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return None, 413  # no chunked uploads to a static page
        length = int(length_text)
        if length > MAX_BODY:
            return None, 413
        if len(self._buffer) < end + 4 + length:
            return None, None
        del self._buffer[:end + 4 + length]
        method, target, version = (part.decode("latin-1") for part in matched.groups())
        return Request(method, target.split("?", 1)[0], version, headers), None


def answer(found: Listener, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
    """(status, the server's own headers, body) for one request."""
    if not found.http:
        return 400, [], b""
    if found.server == "go":  # these programs answer every path and method with their page
        return 200, [("Content-Type", "text/plain; charset=utf-8")], found.page.encode()
    static = {"/": found.page, "/index.html": found.page}
    if found.server == "busybox":
        static = {"/": found.page, "/index.html": found.page, catalog.READY_PATH: "ready\n"}
    if request.method not in ("GET", "HEAD"):  # a static page: busybox only knows POST for CGI scripts
        status = 501 if found.server == "busybox" else 405
        return status, [], _error_page(found, status, request.method)
    page = static.get(request.path)
    if page is None:
        return 404, [], _error_page(found, 404)
    body = page.encode()
    modified = found.modified or found.now
    stamp = int(modified.timestamp()) if modified else 0
    kind = "application/octet-stream" if request.path == catalog.READY_PATH else "text/html"
    if found.server == "apache":  # the image's htdocs/index.html, unchanged since 2007
        return 200, [("Last-Modified", "Mon, 11 Jun 2007 18:53:14 GMT"), ("ETag", '"2d-432a5e4a73a80"'),
                     ("Accept-Ranges", "bytes"), ("Content-Type", kind)], body
    return 200, [("Content-Type", kind), ("Last-Modified", http_date(modified) if modified else ""),
                 ("ETag", f'"{stamp:x}-{len(body):x}"'), ("Accept-Ranges", "bytes")], body


def problem_answer(found: Listener, status: int) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, [], _error_page(found, status) if found.http else b""


def reason(found: Listener, status: int) -> str:
    return (NGINX_REASONS.get(status) if found.server == "nginx" else None) or REASONS.get(status, "Error")


def _error_page(found: Listener, status: int, method: str = "GET") -> bytes:
    title = f"{status} {reason(found, status)}"
    if found.server == "nginx":
        return (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
                f"<hr><center>nginx/{found.version}</center>\r\n</body>\r\n</html>\r\n").encode()
    if found.server == "apache":
        words = {404: "The requested URL was not found on this server.",
                 405: f"The requested method {method} is not allowed for this URL."}.get(
            status, "Your browser sent a request that this server could not understand.")
        return ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
                f"<title>{title}</title>\n</head><body>\n<h1>{title.split(' ', 1)[1]}</h1>\n<p>{words}</p>\n"
                "</body></html>\n").encode()
    if found.server == "busybox":
        words = {404: "The requested URL was not found", 501: "The requested method is not recognized"}.get(
            status, "Unsupported method or invalid request")
        return f"<HTML><HEAD><TITLE>{title}</TITLE></HEAD>\n<BODY><H1>{title}</H1>\n{words}\n</BODY></HTML>\n".encode()
    return f"{status} {reason(found, status)}".encode()


ORDER = {  # the order each server writes its headers in
    "nginx": ("Server", "Date", "Content-Type", "Content-Length", "Last-Modified", "Connection", "ETag",
              "Accept-Ranges"),
    "apache": ("Date", "Server", "Last-Modified", "ETag", "Accept-Ranges", "Content-Length", "Content-Type",
               "Connection"),
    "busybox": ("Content-type", "Date", "Connection", "Accept-Ranges", "Last-Modified", "ETag", "Content-Length"),
    "go": ("Date", "Content-Length", "Content-Type", "Connection")}
ERROR_TYPES = {"nginx": "text/html", "apache": "text/html; charset=iso-8859-1", "busybox": "text/html",
               "go": "text/plain; charset=utf-8"}


def _response(found: Listener, status: int, head: list[tuple[str, str]], body: bytes, keep: bool,
              request: Request | None) -> bytes:
    """The status line and headers in the order each server writes them, then the body (none for HEAD)."""
    server = found.server if found.server in ORDER else "go"
    fields = dict(head)
    fields.setdefault("Content-Type", ERROR_TYPES[server])
    fields.setdefault("Content-Length", str(len(body)))
    fields["Date"] = http_date(found.now or datetime.now(timezone.utc))
    fields["Server"] = f"nginx/{found.version}" if server == "nginx" else f"Apache/{found.version} (Unix)"
    if server == "busybox":
        fields["Content-type"] = fields.pop("Content-Type")
        if status != 200:  # its error pages carry no length: the connection's end marks the body's
            fields.pop("Content-Length")
    fields["Connection"] = "close" if server == "busybox" or not keep else "keep-alive" if server == "nginx" else ""
    if request is not None and request.method == "HEAD":
        body = b""
    lines = [f"HTTP/1.1 {status} {reason(found, status)}"]
    lines += [f"{name}: {fields[name]}" for name in ORDER[server] if fields.get(name)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
