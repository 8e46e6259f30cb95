"""The real-request generator (labkit.traffic_live) against small real servers on this machine,
and the live traffic view it feeds: no engine needed."""
from __future__ import annotations

import http.server
import socket
import threading
import time

import pytest

import labkit as lk
from labkit.traffic import Service
from labkit.traffic_live import LiveTraffic, get
from labkit.views.payload import size

BUDGET = 64 * 1024  # the views' budget per sync


class Page(http.server.BaseHTTPRequestHandler):
    """/ answers the demo page's heading; /slow takes 3 s; /broken is a 503."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path == "/slow":
            time.sleep(3)
        status = 503 if self.path == "/broken" else 200
        body = b"<!doctype html><h1>hello v1</h1>"
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except BrokenPipeError:
            pass  # the client gave up waiting (a timeout it measures)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 256  # the backlog test opens dozens at once

    httpd = Server(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture()
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def resetting():
    """A server that accepts each connection and resets it at once (SO_LINGER 0)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.recv(1024)
            conn.close()
    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_each_way_a_request_can_end_is_told_apart(server, closed_port, resetting):
    assert get("127.0.0.1", server) == ("ok", "hello v1")
    assert get("127.0.0.1", server, "/broken") == ("error", "")
    assert get("127.0.0.1", closed_port) == ("refused", "")
    assert get("127.0.0.1", resetting) == ("reset", "")
    assert get("127.0.0.1", server, "/slow", timeout=0.5) == ("timeout", "")


def test_a_steady_rate_of_real_requests_spread_over_the_targets(server, closed_port):
    targets = [("127.0.0.1", server, "a"), ("127.0.0.1", closed_port, "b")]
    record = LiveTraffic(Service("web", 80), rate=100, seconds=2, targets=lambda: targets,
                         clock=time.monotonic, seed=1)
    assert record.join(20) and record.done and len(record.requests) == 200
    by_replica = {name: {r.outcome for r in record.requests if r.replica == name} for name in ("a", "b")}
    assert by_replica == {"a": {"ok"}, "b": {"refused"}}
    assert 60 <= sum(r.replica == "a" for r in record.requests) <= 140  # picked at random, half each
    sent = sorted(r.time for r in record.requests)
    assert 1.5 <= sent[-1] - sent[0] <= 4.0  # the rate held, about: 200 requests over 2 s


def test_stopping_ends_the_sending_and_no_targets_is_refused(server):
    record = LiveTraffic(Service("web", 80), rate=50, seconds=60, targets=lambda: [], clock=time.monotonic)
    time.sleep(0.3)
    record.stop()
    assert record.done and 0 < len(record.requests) < 50
    assert {r.outcome for r in record.requests} == {"refused"} and not record.has_endpoints
    assert "no endpoints" not in repr(record)  # it is done: nothing more will be sent


def test_the_live_view_follows_a_growing_record_within_the_budget(server):
    cluster = lk.connect("sim", nodes=1)
    record = LiveTraffic(Service("web", 80), rate=200, seconds=2, targets=lambda: [("127.0.0.1", server, "a")],
                         clock=cluster.now)
    record.cluster = cluster
    view = record.view()
    try:
        assert record.join(20)
        deadline = time.monotonic() + 10
        while view.series.get("sent") != 400 and time.monotonic() < deadline:
            time.sleep(0.05)
        columns = view.series
        assert columns["sent"] == 400 and columns["layers"][0][0] == "hello v1"
        assert sum(sum(counts) for _, _, counts in columns["layers"]) == 400  # every request counted, once
        assert view.sent >= 5 and view.last_payload_size <= BUDGET  # it synced as the record grew
    finally:
        view.close()


def test_the_view_sends_the_last_ten_minutes_of_a_long_record_within_the_budget():
    cluster = lk.connect("sim", nodes=3)
    web = cluster.deploy("web", image="web-server:1", replicas=6, readiness=True)
    cluster.wait()
    cluster.expose("web", port=8080)
    record = cluster.traffic("web", rate=200, seconds=900)
    view = record.view()
    try:
        web.update("web-server:2")
        cluster.run(900)
        view.refresh()
        columns = view.series
        assert len(columns["seconds"]) == 600 and columns["sent"] == 180_000 == columns["total"]
        assert size(columns) <= BUDGET and columns["marks"] and columns["marks"][0][1] == "rev 2"
        assert "data:image/png;base64," in view.static_html()
    finally:
        view.close()


def test_a_service_that_does_not_answer_builds_no_backlog_and_stop_sends_nothing_more(server):
    """Every request to /slow waits 3 s: at 100 a second the requests in flight are capped and the
    rest count as timed out at once; stop() ends it without sending what was queued."""
    from labkit import traffic_live
    original = traffic_live.get
    try:  # every request slow from the first one on (the record starts sending as it is made)
        traffic_live.get = lambda host, port, path="/", timeout=2.0: original(host, port, "/slow", 1.0)
        record = LiveTraffic(Service("web", 80), rate=100, seconds=30,
                             targets=lambda: [("127.0.0.1", server, "a")], clock=time.monotonic)
        time.sleep(1.5)
        started = time.monotonic()
        record.stop()
        stopped = time.monotonic()
        assert stopped - started < 4 and record.done
    finally:
        traffic_live.get = original
    time.sleep(3)  # those in flight time out (1 s each) and are recorded with the time they were sent
    sent = len(record.requests)
    assert max(r.time for r in record.requests) <= stopped  # nothing was sent after stop()
    outcomes = {r.outcome for r in record.requests}
    assert "timeout" in outcomes and "ok" not in outcomes and 50 <= sent <= 200, (outcomes, sent)  # ~150 due
