"""`kubectl port-forward` against a served simulator, with the real kubectl (v1.37: SPDY tunnelled in a
WebSocket, and plain SPDY/3.1 when told to fall back) and a real HTTP client on the forwarded port:
the page each image serves with its server's headers, svc/ and deploy/ resolved by kubectl, the
kubelet's error for a port nothing listens on, and a server that survives junk (kube/portforward.py,
kube/spdy.py, kube/websocket.py, kube/webservers.py)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import time
import zlib

import pytest

from labkit import catalog
from labkit.backends.docker.images import lookup as demo_image, page_html
from labkit.backends.sim.kube import spdy
from labkit.backends.sim.kube.serve import ServedCluster
from tests.conftest import KUBECTL


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(1, speed=20.0, seed=5).start()
    yield cluster
    assert not cluster.api.failures, cluster.api.failures  # no request met a fault of labkit's
    cluster.stop()


def apply(kubectl, namespace: str, *docs: dict) -> None:
    code, out = kubectl("apply", "-n", namespace, "-f", "-", stdin="\n---\n".join(json.dumps(d) for d in docs))
    assert code == 0, out


def ready(kubectl, namespace: str, selector: str, timeout: float = 30.0) -> None:
    """Until every pod `selector` picks is Running and ready (the served clock runs 20x)."""
    deadline = time.monotonic() + timeout
    while True:
        code, out = kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json")
        pods = json.loads(out)["items"] if code == 0 else []
        if pods and all(p["status"].get("phase") == "Running" and
                        all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}]) for p in pods):
            time.sleep(0.3)  # a program listens a moment after it is ready (nginx: at once; demo images: 2 s / 20)
            return
        assert time.monotonic() < deadline, out
        time.sleep(0.2)


@contextlib.contextmanager
def forward(served, namespace: str, target: str, *ports: str, websockets: bool = True, verbose: bool = False):
    """`kubectl port-forward TARGET :PORT...` running; yields (local ports, the process, what it printed so far)."""
    env = {**os.environ, "KUBECONFIG": served.kubeconfig,
           "KUBECTL_PORT_FORWARD_WEBSOCKETS": "true" if websockets else "false"}
    args = [KUBECTL, "port-forward", "-n", namespace, target, *ports] + (["-v=6"] if verbose else [])
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    local, seen = [], []
    try:
        while len(local) < len(ports):
            line = proc.stdout.readline()
            assert line, f"kubectl port-forward ended: {''.join(seen)}"
            seen.append(line)
            found = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)", line)
            if found:
                local.append(int(found.group(1)))
        yield local, proc, seen
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def curl(port: int, path: str = "/", *more: str) -> tuple[int, str]:
    done = subprocess.run(["curl", "-si", "--max-time", "10", *more, f"http://127.0.0.1:{port}{path}"],
                          capture_output=True, timeout=20)
    return done.returncode, done.stdout.decode("latin-1")  # bytes: the answer's CRLFs kept


def split(answer: str) -> tuple[str, dict[str, str], str, list[str]]:
    """(status line, headers, body, header names in order) of one HTTP answer."""
    head, _, body = answer.partition("\r\n\r\n")
    lines = head.split("\r\n")
    pairs = [line.split(": ", 1) for line in lines[1:]]
    return lines[0], {k: v for k, v in pairs}, body, [k for k, _ in pairs]


def test_the_spdy_dictionary_is_spdystreams():
    """1,423 bytes, the same as moby/spdystream's spdy/dictionary.go (its SHA-256)."""
    assert len(spdy.DICTIONARY) == 1423
    assert hashlib.sha256(spdy.DICTIONARY).hexdigest() == \
        "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02"


def test_port_forward_to_a_pod_serves_nginx_s_page(served, kubectl, namespace):
    assert kubectl("run", "web", "-n", namespace, "--image=nginx:1.27")[0] == 0
    ready(kubectl, namespace, "run=web")
    with forward(served, namespace, "pod/web", ":80", verbose=True) as ((port,), _, seen):
        # the WebSocket GET, SPDY tunnelled inside (kubectl's default since v1.31)
        assert re.search(r'verb="GET" url="https://\S+/pods/web/portforward" status="101 Switching Protocols"',
                         "".join(seen)), seen
        code, out = curl(port)
        assert code == 0, out
        status, headers, body, order = split(out)
        assert status == "HTTP/1.1 200 OK"
        assert body == catalog.NGINX_PAGE and headers["Content-Length"] == str(len(catalog.NGINX_PAGE))
        assert headers["Server"] == "nginx/1.27.5" and headers["Content-Type"] == "text/html"
        assert order[:4] == ["Server", "Date", "Content-Type", "Content-Length"]
        assert headers["Connection"] == "keep-alive" and headers["Accept-Ranges"] == "bytes"
        status, headers, body, _ = split(curl(port, "/missing")[1])  # a second connection on the same forward
        assert status == "HTTP/1.1 404 Not Found" and "<center>nginx/1.27.5</center>" in body
        status, headers, body, _ = split(curl(port, "/", "-I")[1])  # HEAD: the headers alone
        assert status == "HTTP/1.1 200 OK" and headers["Content-Length"] == "615" and body == ""
        code, out = curl(port, "/", "-X", "POST")
        assert split(out)[0] == "HTTP/1.1 405 Not Allowed"


def test_port_forward_falls_back_to_plain_spdy(served, kubectl, namespace):
    """KUBECTL_PORT_FORWARD_WEBSOCKETS=false: kubectl POSTs a SPDY/3.1 upgrade instead of the WebSocket GET."""
    assert kubectl("run", "web", "-n", namespace, "--image=httpd:2.4")[0] == 0
    ready(kubectl, namespace, "run=web")
    with forward(served, namespace, "pod/web", ":80", websockets=False, verbose=True) as ((port,), proc, seen):
        answers = [curl(port)[1] for _ in range(3)]  # three connections, three stream pairs
        for out in answers:
            status, headers, body, order = split(out)
            assert status == "HTTP/1.1 200 OK" and body == "<html><body><h1>It works!</h1></body></html>\n"
            assert headers["Server"] == "Apache/2.4.65 (Unix)" and order[:2] == ["Date", "Server"]
            assert headers["ETag"] == '"2d-432a5e4a73a80"'
        status, headers, body, _ = split(curl(port, "/nope")[1])
        assert status == "HTTP/1.1 404 Not Found" and "<h1>Not Found</h1>" in body
        proc.terminate()
        log = "".join(seen) + proc.communicate(timeout=10)[0]
    assert re.search(r'verb="POST" url="https://\S+/pods/web/portforward" status="101 Switching Protocols"', log), log


def test_port_forward_to_a_service_and_a_deployment(served, kubectl, namespace):
    """kubectl resolves svc/ and deploy/ to one of their pods itself (and a service's port to its targetPort)."""
    code, out = kubectl("create", "deployment", "site", "-n", namespace, "--image=web-server:1", "--replicas=2")
    assert code == 0, out
    assert kubectl("expose", "deployment", "site", "-n", namespace, "--port=8080", "--target-port=80")[0] == 0
    ready(kubectl, namespace, "app=site")
    demo = page_html(demo_image("web-server:1"))
    for target, remote in (("svc/site", ":8080"), ("deploy/site", ":80")):
        with forward(served, namespace, target, remote) as ((port,), _, _):
            status, headers, body, order = split(curl(port)[1])
            assert status == "HTTP/1.1 200 OK" and body == demo, target
            # busybox httpd, as the demo images run it: one answer per connection
            assert order[:3] == ["Content-type", "Date", "Connection"] and headers["Connection"] == "close"
            assert split(curl(port, "/ready")[1])[2] == "ready\n"


def test_a_port_nothing_listens_on_is_the_kubelet_s_error(served, kubectl, namespace):
    assert kubectl("run", "cache", "-n", namespace, "--image=redis:7")[0] == 0
    ready(kubectl, namespace, "run=cache")
    with forward(served, namespace, "pod/cache", ":6380") as ((port,), proc, _):
        code, _ = curl(port)
        assert code != 0  # the connection is closed with no answer
        out = proc.communicate(timeout=20)[0]
    assert proc.returncode != 0
    assert re.search(r"error forwarding port 6380 to pod [0-9a-f]{64}, uid : failed to execute portforward in "
                     r"network namespace .*dial tcp4 127\.0\.0\.1:6380: connect: connection refused", out), out
    assert "lost connection to pod" in out
    # redis listens on 6379, but speaks no HTTP: the simulator says so rather than make its protocol up
    with forward(served, namespace, "pod/cache", ":6379") as ((port,), proc, _):
        curl(port)
        out = proc.communicate(timeout=20)[0]
    assert "does not speak redis's own protocol" in out and "minikube" in out, out


# -- junk on the wire: the server answers the next request ----------------------------------------------
def raw(served, namespace: str, pod: str, upgrade: str) -> ssl.SSLSocket:
    """A TLS connection to the served API that has sent one upgrade request for `pod`'s portforward."""
    context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
    sock = context.wrap_socket(socket.create_connection(("127.0.0.1", served.api.port), timeout=10),
                               server_hostname="127.0.0.1")
    sock.sendall((f"{'GET' if 'websocket' in upgrade else 'POST'} /api/v1/namespaces/{namespace}/pods/{pod}"
                  f"/portforward HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {served.api.token}\r\n"
                  f"{upgrade}Content-Length: 0\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, head
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


SPDY_UPGRADE = "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n"
WS_UPGRADE = ("Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n")


def syn_stream(deflate, stream: int, headers: dict[str, str]) -> bytes:
    pairs = [(k.encode(), v.encode()) for k, v in headers.items()]
    block = struct.pack(">I", len(pairs)) + b"".join(
        struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v for k, v in pairs)
    payload = struct.pack(">IIH", stream, 0, 0) + deflate.compress(block) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return struct.pack(">HHI", 0x8003, spdy.SYN_STREAM, len(payload)) + payload


def test_junk_leaves_the_server_answering(served, kubectl, namespace):
    assert kubectl("run", "web", "-n", namespace, "--image=nginx")[0] == 0
    ready(kubectl, namespace, "run=web")
    # garbage after a SPDY upgrade: a frame of another version, then bytes that are no frame at all
    sock = raw(served, namespace, "web", SPDY_UPGRADE)
    sock.sendall(struct.pack(">HHI", 0x8002, 1, 4) + b"junk" + os.urandom(4000))
    sock.settimeout(10)
    assert sock.recv(64)[:4] == struct.pack(">HH", 0x8003, spdy.GOAWAY)  # GOAWAY, then the server closes
    sock.close()
    # an unmasked WebSocket frame (a client must mask): the tunnel is refused
    sock = raw(served, namespace, "web", WS_UPGRADE)
    sock.sendall(b"\x82\x05hello")
    sock.close()
    # a stream with a port that is no number (refused: RST_STREAM), then a pair opened, a request half sent,
    # and the connection dropped without a word
    sock = raw(served, namespace, "web", SPDY_UPGRADE)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 15, zdict=spdy.DICTIONARY)
    sock.sendall(syn_stream(deflate, 1, {"streamtype": "data", "port": "\u00b2", "requestid": "9"}))
    assert sock.recv(64)[:4] == struct.pack(">HH", 0x8003, spdy.RST_STREAM)
    for stream, kind in ((3, "error"), (5, "data")):
        sock.sendall(syn_stream(deflate, stream, {"streamtype": kind, "port": "80", "requestid": "0"}))
    sock.sendall(struct.pack(">II", 5, 10) + b"GET / HTTP")
    sock.close()
    # a slow reader: 300 requests sent, no answer read (the server's writes wait on it, nobody else's)
    slow = raw(served, namespace, "web", SPDY_UPGRADE)
    deflate = zlib.compressobj(9, zlib.DEFLATED, 15, zdict=spdy.DICTIONARY)
    for stream, kind in ((1, "error"), (3, "data")):
        slow.sendall(syn_stream(deflate, stream, {"streamtype": kind, "port": "80", "requestid": "0"}))
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 300
    slow.sendall(struct.pack(">II", 3, len(request)) + request)
    try:
        started = time.monotonic()
        assert kubectl("get", "pod", "web", "-n", namespace)[0] == 0
        with forward(served, namespace, "pod/web", ":80") as ((port,), _, _):
            status, _, body, _ = split(curl(port)[1])
            assert status == "HTTP/1.1 200 OK" and body == catalog.NGINX_PAGE
        assert time.monotonic() - started < 15
    finally:
        slow.close()


# -- kubectl exec: WebSocket v5.channel.k8s.io, the simulator's shell in the container's context ---------
def test_exec_runs_a_command_in_the_container_s_context(served, kubectl, namespace):
    assert kubectl("create", "configmap", "app", "-n", namespace, "--from-literal=app.conf=debug=true")[0] == 0
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"run": "web"}},
           "spec": {"containers": [{"name": "main", "image": "nginx:1.27", "env": [{"name": "GREETING", "value": "hi"}],
                                    "volumeMounts": [{"name": "conf", "mountPath": "/config"}]}],
                    "volumes": [{"name": "conf", "configMap": {"name": "app"}}]}}
    apply(kubectl, namespace, pod)
    ready(kubectl, namespace, "run=web")
    code, out = kubectl("exec", "web", "-n", namespace, "--", "env")
    env = dict(line.split("=", 1) for line in out.splitlines())
    assert code == 0 and env["GREETING"] == "hi" and env["NGINX_VERSION"] == "1.27.5" and env["HOSTNAME"] == "web"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert kubectl("exec", "web", "-n", namespace, "--", "echo", "hi") == (0, "hi\n")
    assert kubectl("exec", "web", "-n", namespace, "-c", "main", "--", "cat", "/config/app.conf") == (0, "debug=true\n")
    assert kubectl("exec", "web", "-n", namespace, "--", "hostname") == (0, "web\n")
    # a non-zero exit: the Status's NonZeroExitCode becomes kubectl's own exit code
    assert kubectl("exec", "web", "-n", namespace, "--", "sh", "-c", "echo $GREETING; exit 3") == \
        (3, "hi\ncommand terminated with exit code 3\n")
    assert kubectl("exec", "web", "-n", namespace, "--", "false") == (1, "command terminated with exit code 1\n")


def test_exec_in_a_course_image_s_pod_by_its_deployment(served, kubectl, namespace):
    assert kubectl("create", "deployment", "site", "-n", namespace, "--image=web-server:2")[0] == 0
    ready(kubectl, namespace, "app=site")
    code, out = kubectl("exec", "deploy/site", "-n", namespace, "--", "printenv", "START_DELAY")
    assert (code, out) == (0, "2\n")


def test_exec_says_what_the_simulator_does_not_run(served, kubectl, namespace):
    assert kubectl("run", "web", "-n", namespace, "--image=nginx")[0] == 0
    ready(kubectl, namespace, "run=web")
    code, out = kubectl("exec", "web", "-n", namespace, "--", "ls", "/")
    assert code == 1 and "does not run 'ls /' inside containers" in out and "minikube" in out
    code, out = kubectl("exec", "web", "-n", namespace, "--", "cat", "/etc/os-release")
    assert code == 1 and "does not have the image's file /etc/os-release" in out and "No such file" not in out
    code, out = kubectl("exec", "-i", "web", "-n", namespace, "--", "sh", stdin="echo hi\n")
    assert code == 1 and "no terminal or stdin" in out and "minikube" in out
    code, out = kubectl("exec", "web", "-n", namespace, "-c", "nope", "--", "env")
    assert code == 1 and "container nope is not valid for pod web" in out
    # kubectl told to use SPDY instead (the simulator answers exec over WebSocket only): a clear refusal
    done = subprocess.run([KUBECTL, "exec", "web", "-n", namespace, "--", "env"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "KUBECONFIG": served.kubeconfig,
                                           "KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"})
    assert done.returncode == 1 and "over WebSocket (v5.channel.k8s.io)" in done.stderr, done.stderr


def test_exec_junk_leaves_the_server_answering(served, kubectl, namespace):
    assert kubectl("run", "web", "-n", namespace, "--image=nginx")[0] == 0
    ready(kubectl, namespace, "run=web")
    for junk in (b"\x82\x05hello", b"\x8f\x80\x00\x00\x00\x00", b"\xff" * 64):  # unmasked, unknown opcode, noise
        context = ssl.create_default_context(cadata=served.api.ca_pem.decode())
        sock = context.wrap_socket(socket.create_connection(("127.0.0.1", served.api.port), timeout=10),
                                   server_hostname="127.0.0.1")
        sock.sendall((f"GET /api/v1/namespaces/{namespace}/pods/web/exec?command=sleep&command=infinity&stdout=true"
                      f" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {served.api.token}\r\n"
                      "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n"
                      ).encode())
        answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in answer
        sock.sendall(junk)
        sock.settimeout(10)
        while sock.recv(4096):  # the server ends the session: the connection closes
            pass
        sock.close()
    assert kubectl("exec", "web", "-n", namespace, "--", "echo", "still here") == (0, "still here\n")
