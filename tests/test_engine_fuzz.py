"""A bounded fuzz of every endpoint the served Docker Engine answers (engine/common.py ROUTES): random
path parameters (existing names and ids, ghosts, odd text), queries and bodies of the right and of
wrong shapes, over raw HTTP on the engine's socket. What must hold for every answer:

- no fault of labkit's: no 500 of its own (`served.failures` stays empty); a 5xx is one the engine
  gives itself (501 not simulated, 503 no swarm or no leader, 500 only for swarmkit's `rpc error`);
- an error is JSON, `{"message": "..."}` with a message that says something;
- nothing is half made: a refused request leaves the engine as it was (services, containers,
  networks, secrets, configs, images, nodes, the swarm), and a create that succeeds made one thing.

Simulator only (no daemon): it runs in `make test-fast`. Derandomized and bounded, so a run is the
same every time and takes a few seconds.
"""
from __future__ import annotations

import base64
import http.client
import json
import socket
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from labkit.backends.sim import SimBackend
from labkit.backends.sim.engine import ServedEngine
from labkit.backends.sim.engine import images as engine_images
from labkit.backends.sim.engine.common import ROUTES

SEEDS = {"service": "fz-svc", "container": "fz-box", "network": "fz-net", "secret": "fz-secret",
         "config": "fz-config"}
CREATES = {"services/create": "services", "containers/create": "containers", "networks/create": "networks",
           "secrets/create": "secrets", "configs/create": "configs"}


class Raw(http.client.HTTPConnection):
    """HTTP over the engine's unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=15)
        self.unix = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(15)
        self.sock.connect(self.unix)


def send(engine: ServedEngine, method: str, path: str, body: bytes | None = None) -> tuple[int, str, object]:
    """(status, content type, body): JSON read, a stream's body left unread (a follow or a wait may
    never end; its status and headers are what the engine answered)."""
    conn = Raw(engine.socket)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body is not None else {})
        answer = conn.getresponse()
        kind = answer.getheader("Content-Type") or ""
        if answer.getheader("Transfer-Encoding") == "chunked" and answer.status < 300:
            return answer.status, kind, None
        text = answer.read()
    finally:
        conn.close()
    if kind != "application/json" or not text or (answer.status < 300 and text.count(b"\n") > 1):
        return answer.status, kind, text  # (a pull's progress is JSON a line at a time)
    return answer.status, kind, json.loads(text)


def api(engine: ServedEngine, method: str, path: str, body: object = None) -> tuple[int, object]:
    code, _, out = send(engine, method, path, None if body is None else json.dumps(body).encode())
    return code, out


def state(engine: ServedEngine) -> dict:
    """What a request may change, by name: a refused one must leave all of it as it was."""
    e = engine.engine
    with e.lock:
        return {"swarm": e.in_swarm, "services": sorted(e.sim.api.items("services")),
                "containers": sorted(e.containers), "networks": sorted(e.networks),
                "secrets": sorted(e.objects["secrets"]), "configs": sorted(e.objects["configs"]),
                "images": sorted(map(str, engine_images.held(e).items())),
                "nodes": sorted((n.name, n.availability, n.role) for n in e.sim.api.items("nodes").values())}


def seed(engine: ServedEngine) -> None:
    """A swarm with one of each kind to aim at (made again after a fuzzed `swarm leave --force`)."""
    if not engine.engine.in_swarm:
        assert api(engine, "POST", "/swarm/init", {"ListenAddr": "0.0.0.0:2377"})[0] == 200
    have = state(engine)
    if SEEDS["service"] not in have["services"]:
        api(engine, "POST", "/services/create", {"Name": SEEDS["service"], "TaskTemplate": {
            "ContainerSpec": {"Image": "nginx"}}, "Mode": {"Replicated": {"Replicas": 2}}})
    if SEEDS["container"] not in have["containers"]:
        api(engine, "POST", "/images/create?fromImage=nginx&tag=latest")
        api(engine, "POST", f"/containers/create?name={SEEDS['container']}", {"Image": "nginx"})
        api(engine, "POST", f"/containers/{SEEDS['container']}/start")
    if SEEDS["network"] not in have["networks"]:
        api(engine, "POST", "/networks/create", {"Name": SEEDS["network"], "Driver": "overlay"})
    for kind in ("secret", "config"):
        if SEEDS[kind] not in have[f"{kind}s"]:
            api(engine, "POST", f"/{kind}s/create", {"Name": SEEDS[kind], "Data": base64.b64encode(b"x").decode()})
    for name, availability, _ in state(engine)["nodes"]:  # a fuzzed drain or pause is undone, as a client would
        if availability != "active":
            code, node = api(engine, "GET", f"/nodes/{name}")
            spec = {**node["Spec"], "Availability": "active"}
            assert api(engine, "POST", f"/nodes/{name}/update?version={node['Version']['Index']}", spec)[0] == 200
    have = state(engine)
    assert all(SEEDS[kind] in have[f"{kind}s"] for kind in SEEDS), have


def tidy(engine: ServedEngine) -> None:
    """Remove what an example made, so the next one starts from the seeds."""
    now = state(engine)
    for name in now["services"]:
        if name != SEEDS["service"]:
            api(engine, "DELETE", f"/services/{quote(name, safe='')}")
    for name in now["containers"]:
        if name != SEEDS["container"]:
            api(engine, "DELETE", f"/containers/{quote(name, safe='')}?force=1")
    for name in now["networks"]:
        if name != SEEDS["network"]:
            api(engine, "DELETE", f"/networks/{quote(name, safe='')}")
    for kind in ("secret", "config"):
        for name in now[f"{kind}s"]:
            if name != SEEDS[kind]:
                api(engine, "DELETE", f"/{kind}s/{quote(name, safe='')}")


@pytest.fixture(scope="module")
def served():
    with ServedEngine(SimBackend(nodes=3, flavor="swarm", seed=5), speed=20.0) as engine:
        seed(engine)
        yield engine
        assert not list(engine.failures), engine.failures


def targets(engine: ServedEngine) -> dict[str, list[str]]:
    """Names, ids and id prefixes of the seeds by the path's first word, for path parameters: always as
    many of each (hypothesis replays its choices by position)."""
    e = engine.engine
    with e.lock:
        box, net = e.containers.get(SEEDS["container"]), e.networks.get(SEEDS["network"])
        task = next((e.task_id(t) for t in e.tasks() if t.owner == SEEDS["service"]), "")
        ids = {"services": e.service_id(SEEDS["service"]), "nodes": e.node_id("node-2"),
               "containers": box.ident if box else "", "networks": net.ident if net else "", "tasks": task,
               **{kind: e.objects[kind].get(SEEDS[kind[:-1]], {}).get("ID", "") for kind in ("secrets", "configs")}}
    names = {"services": SEEDS["service"], "nodes": "node-2", "containers": SEEDS["container"],
             "networks": SEEDS["network"], "tasks": "node-1", "secrets": SEEDS["secret"], "configs": SEEDS["config"]}
    out = {kind: [names[kind], ident, ident[:6]] for kind, ident in ids.items()}
    out["images"] = out["distribution"] = ["nginx", "nginx:latest", "library/nginx"]
    out["volumes"] = out["plugins"] = ["local", "fz-vol", "x"]
    return out


# -- what is sent ---------------------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**64), st.floats(allow_nan=False),
                    st.text(max_size=10), st.sampled_from(["nginx", "web", "fz-svc", "bridge", "overlay", "drain"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.one_of(st.text(max_size=6), st.sampled_from(["Name", "Image", "Labels", "Data", "Replicas", "Driver"])),
    inner, max_size=3), max_leaves=8)
names = st.one_of(st.just("fz-new"), st.sampled_from(["fz-new", "fz-svc", "fz-net", "fz-secret", "fz-box", "", "-x",
                                                      "a" * 70, "x/y", "ingress"]), st.text(max_size=8))
labels = st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2)
images = st.sampled_from(["nginx", "nginx:1.27", "web-server:1", "redis:7", "nosuch:1", "NGINX", ""])
DATA = base64.b64encode(b"s3cret").decode()


def shaped(**fields) -> st.SearchStrategy:
    """A body of the endpoint's own shape: every field of its own type (half the time), or each field
    there or not, of its own type mostly and any JSON sometimes."""
    return st.one_of(st.fixed_dictionaries(fields),
                     st.fixed_dictionaries({}, optional={k: st.one_of(v, v, v, values) for k, v in fields.items()}))


service_spec = shaped(
    Name=names, Labels=labels,
    TaskTemplate=shaped(ContainerSpec=shaped(Image=images, Env=st.lists(st.sampled_from(["A=1", "B", "=x"]),
                                                                        max_size=2))),
    Mode=st.one_of(shaped(Replicated=shaped(Replicas=st.integers(0, 4))), st.just({"Global": {}})),
    EndpointSpec=shaped(Ports=st.lists(shaped(TargetPort=st.integers(0, 70000), PublishedPort=st.sampled_from(
        [0, 8081, 8082, 70000]), PublishMode=st.sampled_from(["ingress", "host", "x"])), max_size=2)))
BODIES = {
    "services/create": service_spec, "services/{id}/update": service_spec,
    "containers/create": shaped(Image=images, Cmd=st.lists(st.text(max_size=4), max_size=2), Labels=labels,
                                Env=st.lists(st.sampled_from(["A=1", "=x"]), max_size=2),
                                HostConfig=shaped(AutoRemove=st.booleans(), PortBindings=st.dictionaries(
                                    st.sampled_from(["80/tcp", "80", "0/tcp", "x/udp"]), st.lists(shaped(
                                        HostPort=st.sampled_from(["8090", "", "x"])), max_size=1), max_size=1),
                                    RestartPolicy=shaped(Name=st.sampled_from(["no", "always", "on-failure", "x"]),
                                                         MaximumRetryCount=st.integers(-1, 3)))),
    "networks/create": shaped(Name=names, Driver=st.sampled_from(["bridge", "overlay", "macvlan", "x", ""]),
                              Attachable=st.booleans(), Labels=labels, IPAM=shaped(Config=st.lists(shaped(
                                  Subnet=st.sampled_from(["10.30.0.0/16", "x", "300.0.0.0/8"])), max_size=2))),
    "secrets/create": shaped(Name=names, Data=st.sampled_from([DATA, "not base64!", ""]), Labels=labels),
    "secrets/{id}/update": shaped(Name=names, Data=st.sampled_from([DATA, ""]), Labels=labels),
    "configs/create": shaped(Name=names, Data=st.sampled_from([DATA, "not base64!", ""]), Labels=labels),
    "configs/{id}/update": shaped(Name=names, Data=st.sampled_from([DATA, ""]), Labels=labels),
    "nodes/{id}/update": shaped(Availability=st.sampled_from(["active", "pause", "drain", "x"]),
                                Role=st.sampled_from(["worker", "manager", "x"]), Labels=labels, Name=names),
    "swarm/init": shaped(ListenAddr=st.sampled_from(["0.0.0.0:2377", "", "x:y"]), ForceNewCluster=st.booleans(),
                         AdvertiseAddr=st.sampled_from(["10.10.0.2", "eth9", ""]),
                         Spec=shaped(Orchestration=shaped(TaskHistoryRetentionLimit=st.integers(-1, 9)))),
    "swarm/join": shaped(RemoteAddrs=st.lists(st.sampled_from(["10.10.0.2:2377", "x"]), max_size=2),
                         JoinToken=st.sampled_from(["", "SWMTKN-1-x"]), ListenAddr=st.sampled_from(["0.0.0.0:2377"])),
    "swarm/update": shaped(Name=st.sampled_from(["default", "x"]), Orchestration=shaped(
        TaskHistoryRetentionLimit=st.integers(-1, 9)), Dispatcher=shaped(HeartbeatPeriod=st.integers(-1, 10**10))),
    "volumes/create": shaped(Name=names, Driver=st.sampled_from(["local", "x"])),
    "containers/{id}/exec": shaped(Cmd=st.lists(st.text(max_size=4), max_size=2)),
}
# Bodies an engine takes, for the writes: what is made must be whole (one object, made once).
VALID = {
    "services/create": st.fixed_dictionaries({"Name": st.sampled_from(["fz-new", "fz-2"]), "TaskTemplate": st.just(
        {"ContainerSpec": {"Image": "nginx"}}), "Mode": st.sampled_from([{"Replicated": {"Replicas": 1}}, {}])}),
    "containers/create": st.fixed_dictionaries({"Image": st.sampled_from(["nginx", "nginx:latest"])}, optional={
        "Labels": labels,
        "HostConfig": st.sampled_from([{}, {"AutoRemove": True}, {"RestartPolicy": {"Name": "always"}}])}),
    "networks/create": st.fixed_dictionaries({"Name": st.sampled_from(["fz-new", "fz-2"]),
                                              "Driver": st.sampled_from(["bridge", "overlay"])}),
    "secrets/create": st.fixed_dictionaries({"Name": st.sampled_from(["fz-new", "fz-2"]), "Data": st.just(DATA)}),
    "configs/create": st.fixed_dictionaries({"Name": st.sampled_from(["fz-new", "fz-2"]), "Data": st.just(DATA)}),
    "nodes/{id}/update": st.fixed_dictionaries({"Role": st.just("worker"), "Availability": st.sampled_from(
        ["active", "pause", "drain"])}),
}
QUERY_KEYS = ("filters", "all", "force", "follow", "stdout", "stderr", "tail", "since", "until", "timestamps",
              "version", "name", "fromImage", "tag", "t", "signal", "condition", "status", "insertDefaults",
              "rollback", "limit", "scope", "details", "rotateWorkerToken", "fromSrc", "x")
query_values = st.one_of(
    st.sampled_from(["1", "0", "true", "", "-1", "all", "x", "99999999999999999999", "nginx", "previous", "SIGTERM",
                     "SIGNOPE", "removed", "next-exit", "1.5", "2026-12-01T00:00:00Z", "10"]),
    st.text(max_size=8),
    st.dictionaries(st.sampled_from(["name", "label", "id", "status", "x", "node", "desired-state", "dangling"]),
                    st.one_of(st.lists(st.text(max_size=4), max_size=2), st.dictionaries(
                        st.text(max_size=4), st.booleans(), max_size=2), values), max_size=2).map(json.dumps))
VERSIONS = ("",) * 6 + ("/v1.41", "/v1.50", "/v1.55", "/v1.40") * 2 + ("/v1.24", "/v1.99", "/v1.x")


# Every route; the ones that write, whose bodies are the richest, four times over.
WEIGHTED = [r for r in ROUTES for _ in range(4 if r.method == "POST" and r.body else 1)]


def current_version(engine: ServedEngine, pattern: str, ref: str) -> str:
    """The Version.Index an update must name (`?version=`), of what `ref` is, or "" if it is nothing."""
    kind = "swarm" if pattern == "swarm/update" else pattern.split("/")[0]
    code, out = api(engine, "GET", "/swarm" if kind == "swarm" else f"/{kind}/{ref}")
    return str(out["Version"]["Index"]) if code == 200 and isinstance(out, dict) and "Version" in out else ""


@st.composite
def requests(draw, engine: ServedEngine):
    """(method, path with its query, body, the route's pattern): one endpoint, filled in."""
    where = targets(engine)
    chosen = draw(st.sampled_from(WEIGHTED))
    pattern = "/".join(chosen.parts)
    every = [ref for refs in where.values() for ref in refs]
    own = where.get(chosen.parts[0], every)
    parts = [quote(draw(st.one_of(st.sampled_from(own), st.sampled_from(own), st.sampled_from(every),
                                  st.sampled_from(["ghost", "", "..", "a" * 300]), st.text(max_size=10))), safe="")
             if p.startswith("{") else p for p in chosen.parts]
    method = draw(st.sampled_from([chosen.method] * 20 + ["HEAD", "PUT", "PATCH", "DELETE", "POST"]))
    query = draw(st.dictionaries(st.sampled_from(QUERY_KEYS), query_values, max_size=3))
    if pattern.endswith("/update") and draw(st.booleans()):  # the version it has: the update is read on
        query["version"] = current_version(engine, pattern, parts[1] if len(parts) > 2 else "")
    if pattern == "swarm/leave" and draw(st.booleans()):  # a manager leaves only when forced
        query["force"] = "1"
    shape, valid = BODIES.get(pattern, values), VALID.get(pattern)
    body = draw(st.one_of(
        st.just(None), st.binary(max_size=24), values.map(lambda v: json.dumps(v).encode()),
        *[shape.map(lambda v: json.dumps(v).encode())] * 6,
        *([valid.map(lambda v: json.dumps(v).encode())] * 6 if valid is not None else [])))
    path = draw(st.sampled_from(VERSIONS)) + "/" + "/".join(parts) + (f"?{urlencode(query)}" if query else "")
    return method, path, body, pattern


ENGINE_5XX = {501, 503}  # not simulated; no swarm here, or no leader (as moby answers both)


@settings(max_examples=1000, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_every_endpoint_answers_in_the_engines_shape_and_makes_nothing_by_halves(served, data):
    seed(served)
    method, path, body, pattern = data.draw(requests(served), label="request")
    before = state(served)
    try:
        code, kind, out = send(served, method, path, body)
        event(f"{pattern} -> {code}")
        after = state(served)
    finally:
        tidy(served)  # (a failing example's leftovers too: the next one starts from the seeds)
    assert not list(served.failures), served.failures[-1][2]
    assert code < 500 or code in ENGINE_5XX or (code == 500 and out["message"].startswith("rpc error: ")), (code, out)
    if code >= 400:
        assert kind == "application/json", (code, kind, out)
    if code >= 400 and method != "HEAD":  # (a HEAD's answer has headers only)
        assert isinstance(out, dict), (code, out)
        assert isinstance(out.get("message"), str) and out["message"].strip(), out
    if not 200 <= code < 300:
        assert after == before, f"{method} {path} answered {code} {out} but changed the engine"
    elif method == "POST" and pattern in CREATES and code == 201:
        made = set(after[CREATES[pattern]]) - set(before[CREATES[pattern]])
        assert len(made) == 1, (pattern, made)
