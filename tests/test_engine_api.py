"""The simulator's swarm served as a Docker Engine API to the REAL `docker` CLI (no daemon):
`docker version`, `info`, `node ls`, and a service's life (create, ls, ps, scale, update,
rm), its errors in the engine's words, the raw HTTP a client may send, and a fuzz of
service specs (never a 5xx, nothing half made)."""
from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from labkit.backends.sim import SimBackend
from labkit.backends.sim.engine import ServedEngine

CLI = shutil.which("docker")
DEBIAN_CLI = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else None
pytestmark = pytest.mark.skipif(CLI is None, reason="no docker CLI on this machine")


@pytest.fixture(scope="module")
def served():
    with ServedEngine(SimBackend(nodes=3, flavor="swarm", seed=1), speed=20.0) as engine:
        yield engine
        assert not list(engine.failures), engine.failures  # no fault of labkit's answered as a 500


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("docker-config"))  # never the user's ~/.docker


def docker(engine: ServedEngine, config: str, *args: str, binary: str | None = None, check: bool = True,
           api: str | None = None):
    env = {"PATH": os.environ.get("PATH", ""), "HOME": config, "DOCKER_CONFIG": config, **engine.env(),
           **({"DOCKER_API_VERSION": api} if api else {})}
    done = subprocess.run([binary or CLI, *args], env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done


def wait_for(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


class Raw(http.client.HTTPConnection):
    """HTTP over the engine's unix socket, as any client may speak it."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.unix = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.unix)


def call(engine: ServedEngine, method: str, path: str, body: object = None, raw: bytes | None = None):
    conn = Raw(engine.socket)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data is not None else {})
    answer = conn.getresponse()
    text = answer.read().decode()
    conn.close()
    return answer.status, (json.loads(text) if answer.getheader("Content-Type") == "application/json" else text), answer


def services(engine: ServedEngine) -> set[str]:
    with engine.engine.lock:
        return set(engine.sim.api.items("services"))


# -- the private socket ------------------------------------------------------------------------------
def test_the_socket_is_private_and_goes_with_the_engine():
    engine = ServedEngine(SimBackend(nodes=1, flavor="swarm"), speed=0).start()
    folder = engine.folder
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(engine.socket).st_mode) == 0o600
    assert engine.env() == {"DOCKER_HOST": f"unix://{engine.socket}"}
    engine.stop()
    assert not os.path.exists(folder)


def test_only_a_swarm_is_served():
    from labkit.errors import InvalidInput
    with pytest.raises(InvalidInput, match="needs a simulated swarm"):
        ServedEngine(SimBackend(nodes=1, flavor="kubernetes"))


# -- docker version, info, node ls -----------------------------------------------------------------
CLIS = [c for c in dict.fromkeys((CLI, DEBIAN_CLI)) if c]  # each CLI that is installed, once


def client_api(binary: str) -> str:
    """The newest API a CLI speaks (`docker version` without a daemon still prints it)."""
    return subprocess.run([binary, "version", "--format", "{{.Client.APIVersion}}"], capture_output=True, text=True,
                          env={"PATH": os.environ.get("PATH", ""), "DOCKER_HOST": "unix:///nonexistent.sock"},
                          timeout=30).stdout.strip()


@pytest.mark.parametrize("binary", CLIS)
def test_docker_version_is_docker_engine_29_with_api_1_40_to_1_55(served, config_dir, binary):
    """Docker Engine 29.7.2 (moby docker-v29.7.2 daemon/config/config.go: MaxAPIVersion 1.55,
    defaultMinAPIVersion 1.40). Both CLIs are older than the engine: each speaks its own newest API."""
    out = docker(served, config_dir, "version", binary=binary).stdout
    assert "Server: labkit's simulated Docker Engine" in out and "downgraded" not in out
    assert " Version:          29.7.2\n" in out and "API version:      1.55 (minimum version 1.40)" in out
    for line in (" Go version:       go1.26.5", " Git commit:       6a43e3d",
                 " containerd:\n  Version:          v2.3.3", " runc:\n  Version:          1.4.3",
                 " docker-init:\n  Version:          0.19.0"):
        assert line in out, line
    api = client_api(binary)
    assert re.fullmatch(r"1\.[0-9]+", api) and int(api[2:]) <= 55, api  # 20.10: 1.41, 28.2: 1.50
    assert docker(served, config_dir, "version", "--format", "{{.Client.APIVersion}} {{.Server.Version}} "
                  "{{.Server.APIVersion}} {{.Server.MinAPIVersion}}", binary=binary).stdout.split() == \
        [api, "29.7.2", "1.55", "1.40"]


@pytest.mark.skipif(DEBIAN_CLI is None, reason="Debian's Docker CLI (20.10) is not installed")
def test_the_debian_20_10_cli_speaks_1_41(served, config_dir):
    out = docker(served, config_dir, "version", "--format", "{{.Client.APIVersion}} {{.Server.APIVersion}}",
                 binary=DEBIAN_CLI).stdout
    assert out.strip() == "1.41 1.55"
    assert "Leader" in docker(served, config_dir, "node", "ls", binary=DEBIAN_CLI).stdout
    docker(served, config_dir, "service", "create", "--name", "old-cli", "--replicas", "2", "--detach", "nginx",
           binary=DEBIAN_CLI)
    docker(served, config_dir, "service", "scale", "old-cli=3", "--detach", binary=DEBIAN_CLI)
    assert wait_for(lambda: "old-cli=3/3" in replicas_column(served, config_dir, binary=DEBIAN_CLI))
    docker(served, config_dir, "service", "rm", "old-cli", binary=DEBIAN_CLI)


def test_an_older_api_lists_services_from_their_tasks(served, config_dir):
    """Before API 1.41 `docker service ls` counts the running tasks itself (GET /tasks, /nodes):
    1.40, the oldest a 29.3+ daemon takes by default."""
    docker(served, config_dir, "service", "create", "--name", "old-api", "--replicas", "2", "--detach", "nginx",
           api="1.40")
    assert wait_for(lambda: "old-api=2/2" in replicas_column(served, config_dir, api="1.40"))
    assert "API version:       1.40" in docker(served, config_dir, "version", api="1.40").stdout
    docker(served, config_dir, "service", "rm", "old-api", api="1.40")


@pytest.mark.parametrize("binary", CLIS)
def test_an_api_older_than_1_40_is_refused_in_the_daemons_words(served, config_dir, binary):
    """moby docker-v29.7.2 daemon/server/middleware/version.go versionUnsupportedError."""
    done = docker(served, config_dir, "service", "ls", api="1.39", binary=binary, check=False)
    assert done.returncode == 1
    assert done.stderr.strip() == ("Error response from daemon: client version 1.39 is too old. Minimum supported API "
                                   "version is 1.40, please upgrade your client to a newer version")


@pytest.mark.parametrize("binary", CLIS)
def test_docker_info_has_the_swarm_section(served, config_dir, binary):
    out = docker(served, config_dir, "info", binary=binary).stdout
    node_id = served.engine.node_id("node-1")
    for line in ("Swarm: active", f"NodeID: {node_id}", "Is Manager: true", "Managers: 1", "Nodes: 3",
                 "Task History Retention Limit: 5", "Heartbeat Period: 2 seconds", "Node Address: 10.10.0.2",
                 "Server Version: 29.7.2", "Name: node-1",
                 "containerd version: aad11006b869517fcd3009450b6f82da282e1a9b", "runc version: v1.4.3-0-gbb14dab",
                 "init version: de40ad0", "Profile: builtin"):
        assert f" {line}\n" in out, line
    runtimes = next(line for line in out.splitlines() if line.startswith(" Runtimes: "))
    assert sorted(runtimes.split()[1:]) == ["io.containerd.runc.v2", "runc"]  # (a Go map: printed in any order)


def test_info_follows_the_api_version_asked_for(served):
    """getInfo (moby docker-v29.7.2 system_routes.go): Containerd from 1.46, FirewallBackend from 1.49;
    the commits' Expected and the bridge-nf fields (always false) only before 1.49 and 1.50."""
    new = call(served, "GET", "/v1.55/info")[1]
    assert new["Containerd"]["Namespaces"] == {"Containers": "moby", "Plugins": "plugins.moby"}
    assert new["FirewallBackend"]["Driver"] == "iptables" and new["RuncCommit"] == {"ID": "v1.4.3-0-gbb14dab"}
    assert "BridgeNfIptables" not in new and "AllowNondistributableArtifactsCIDRs" not in new["RegistryConfig"]
    old = call(served, "GET", "/v1.41/info")[1]
    assert "Containerd" not in old and "FirewallBackend" not in old
    assert old["RuncCommit"] == {"ID": "v1.4.3-0-gbb14dab", "Expected": "v1.4.3-0-gbb14dab"}
    assert (old["BridgeNfIptables"], old["BridgeNfIp6tables"]) == (False, False)
    assert old["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"] is None
    assert call(served, "GET", "/info")[1].keys() == new.keys()  # no version in the path: the newest


def test_docker_node_ls_marks_this_node_and_the_leader(served, config_dir):
    lines = docker(served, config_dir, "node", "ls").stdout.splitlines()
    assert lines[0].split() == ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER", "STATUS", "ENGINE", "VERSION"]
    rows = [line.split() for line in lines[1:]]
    assert rows[0] == [served.engine.node_id("node-1"), "*", "node-1", "Ready", "Active", "Leader", "29.7.2"]
    assert [r[1:] for r in rows[1:]] == [["node-2", "Ready", "Active", "29.7.2"],
                                         ["node-3", "Ready", "Active", "29.7.2"]]
    assert docker(served, config_dir, "node", "ls", "-q", "--filter", "role=worker").stdout.split() == \
        [served.engine.node_id("node-2"), served.engine.node_id("node-3")]
    assert docker(served, config_dir, "node", "inspect", "node-2", "--format", "{{.Status.State}} {{.Spec.Role}}"
                  ).stdout.strip() == "ready worker"


# -- labkit doctor: which docker CLI %docker runs, and where its API goes --------------------------------
@pytest.mark.parametrize("binary", CLIS)
def test_doctor_names_the_docker_cli_its_version_and_api(binary):
    from labkit import cli
    first, where = cli.docker_cli_lines(binary)[:2]
    api = client_api(binary)
    assert re.fullmatch(rf"docker CLI: [0-9][^ ]* \({re.escape(binary)}\), speaks Docker API {re.escape(api)}: "
                        r"%docker runs it", first), first
    assert "on the simulator its API goes to labkit's served engine (Docker Engine 29.7.2, API 1.40 to 1.55" in where
    assert "on the docker and swarm backends, to the real engine (DOCKER_HOST=" in where


def test_doctor_says_how_to_get_a_docker_cli_when_there_is_none(tmp_path):
    from labkit import cli
    (line,) = cli.docker_cli_lines(None)
    assert line.startswith("docker CLI: not installed: %docker needs the docker command")
    for way in ("apt-get install docker.io", "docker-ce-cli", "conda install -c conda-forge docker-cli",
                "brew install docker"):
        assert way in line
    broken = tmp_path / "docker"
    broken.write_text("#!/bin/sh\necho 'docker: cannot run' >&2\nexit 3\n")
    broken.chmod(0o755)
    (line,) = cli.docker_cli_lines(str(broken))
    assert line.startswith(f"docker CLI: not usable: {broken} did not say its version (it printed nothing "
                           "(exit code 3)")
    assert "docker: cannot run" in line and "conda-forge docker-cli" in line


def test_labkit_doctor_prints_the_docker_cli_line():
    import sys
    out = subprocess.run([sys.executable, "-m", "labkit.cli", "doctor"], capture_output=True, text=True,
                         timeout=120).stdout
    which = cli_for_console()
    wanted = "docker CLI: " if which else "docker CLI: not installed"
    assert any(line.startswith(wanted) and (not which or f"({which})" in line) for line in out.splitlines()), out


def cli_for_console() -> str | None:
    """The docker CLI the console runs: Debian's when it is there, else the one on PATH (console/real.py)."""
    return DEBIAN_CLI or CLI


def test_an_old_cli_is_told_it_is_too_old_for_the_served_engine(tmp_path):
    """A CLI that speaks less than API 1.40 (Docker 18.09 spoke 1.39) cannot reach the served engine."""
    from labkit import cli
    old = tmp_path / "docker"
    old.write_text('#!/bin/sh\necho \'{"Version":"18.09.1","ApiVersion":"1.39"}\'\n')
    old.chmod(0o755)
    lines = cli.docker_cli_lines(str(old))
    assert lines[0] == f"docker CLI: 18.09.1 ({old}), speaks Docker API 1.39: %docker runs it"
    assert lines[2].startswith("  this CLI is too old for the served engine (it takes API 1.40 or newer)")
    assert all(len(cli.docker_cli_lines(binary)) == 2 for binary in CLIS)  # the installed ones are new enough


# -- a service's life ----------------------------------------------------------------------------------
def replicas_column(engine, config, **options) -> str:
    rows = [line.split() for line in docker(engine, config, "service", "ls", **options).stdout.splitlines()[1:]]
    return " ".join(f"{r[1]}={r[3]}" for r in rows)


def test_a_service_is_created_listed_scaled_updated_and_removed(served, config_dir):
    out = docker(served, config_dir, "service", "create", "--name", "web", "--replicas", "3", "-p", "8080:80",
                 "--detach", "nginx").stdout
    assert out.strip() == served.engine.service_id("web")
    assert wait_for(lambda: replicas_column(served, config_dir) == "web=3/3"), replicas_column(served, config_dir)
    ls = docker(served, config_dir, "service", "ls").stdout.splitlines()
    assert ls[0].split() == ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"]
    assert ls[1].split()[1:] == ["web", "replicated", "3/3", "nginx:latest", "*:8080->80/tcp"]
    ps = [line.split() for line in docker(served, config_dir, "service", "ps", "web").stdout.splitlines()]
    assert ps[0][:4] == ["ID", "NAME", "IMAGE", "NODE"]
    assert sorted(r[1] for r in ps[1:]) == ["web.1", "web.2", "web.3"]
    assert {r[3] for r in ps[1:]} == {"node-1", "node-2", "node-3"}  # spread, as swarm's scheduler spreads
    assert all(r[2] == "nginx:latest" and r[4:6] == ["Running", "Running"] for r in ps[1:])
    # the simulator itself agrees (the facade's view)
    status = served.sim.state().workload("web")
    assert (status.desired, status.ready) == (3, 3)

    assert docker(served, config_dir, "service", "scale", "web=5", "--detach").stdout.strip() == "web scaled to 5"
    assert wait_for(lambda: replicas_column(served, config_dir) == "web=5/5")

    docker(served, config_dir, "service", "update", "--detach", "--image", "nginx:1.27", "web")
    assert wait_for(lambda: replicas_column(served, config_dir) == "web=5/5" and served.sim.state().workload(
        "web").updated == 5, 60)
    ps = [line.split() for line in docker(served, config_dir, "service", "ps", "web").stdout.splitlines()[1:]]
    current = [r for r in ps if r[1].startswith("web.")]
    history = [r for r in ps if r[1] == "\\_"]
    assert len(current) == 5 and all(r[2] == "nginx:1.27" and r[4] == "Running" for r in current)
    assert len(history) == 5 and all(r[3] == "nginx:latest" and r[5] == "Shutdown" for r in history)
    running = docker(served, config_dir, "service", "ps", "web", "-q", "--filter", "desired-state=running").stdout
    assert len(running.split()) == 5
    docker(served, config_dir, "service", "rollback", "--detach", "web")  # the previous spec: nginx:latest
    assert wait_for(lambda: served.sim.state().workload("web").image == "nginx:latest" and
                    replicas_column(served, config_dir) == "web=5/5", 60)
    image = docker(served, config_dir, "service", "inspect", "web", "--format",
                   "{{.Spec.TaskTemplate.ContainerSpec.Image}}").stdout
    assert image.startswith("nginx:latest@sha256:")  # the digest the CLI pinned, from labkit's offline registry

    assert docker(served, config_dir, "service", "rm", "web").stdout.strip() == "web"
    assert served.engine.service_id("web") not in docker(served, config_dir, "service", "ls", "-q").stdout
    assert "web" not in services(served)


def test_a_waiting_create_shows_progress_until_it_converges(served, config_dir):
    done = docker(served, config_dir, "service", "create", "--name", "watched", "--replicas", "2", "nginx")
    ident = served.engine.service_id("watched")
    assert done.stdout.startswith(f"{ident}\noverall progress: ")
    assert done.stdout.endswith(f"verify: Service {ident} converged\n")
    docker(served, config_dir, "service", "rm", "watched")


class PrintedRun:
    """A container's run that printed two lines (the simulator's programs.Run has this `output`)."""

    def output(self, now, wall):
        return [(0.5, "first line"), (1.0, "second line")]


def test_docker_service_logs_reads_each_tasks_lines(served, config_dir):
    docker(served, config_dir, "service", "create", "--name", "talker", "--replicas", "2", "--detach", "nginx")
    assert wait_for(lambda: replicas_column(served, config_dir).endswith("talker=2/2"))
    with served.engine.lock:
        tasks = sorted((t for t in served.engine.tasks() if t.owner == "talker"), key=lambda t: t.slot)
        for task in tasks:
            task.runs = (PrintedRun(),)
    names = [f"talker.{t.slot}.{served.engine.task_id(t)[:12]}@{t.node}" for t in tasks]
    lines = docker(served, config_dir, "service", "logs", "talker").stdout.splitlines()
    assert sorted(lines) == sorted(f"{name}    | {text}" for name in names for text in ("first line", "second line"))
    last = docker(served, config_dir, "service", "logs", "--tail", "1", "--raw", "talker").stdout
    assert last.splitlines() == ["second line", "second line"]
    with served.engine.lock:
        for task in tasks:
            task.runs = ()  # the stand-in goes before the tasks are stopped
    docker(served, config_dir, "service", "rm", "talker")


def test_a_service_made_by_the_facade_is_served_too(served, config_dir):
    from labkit.backends.base import DeploySpec
    with served.engine.lock:
        served.sim.deploy(DeploySpec(name="made-elsewhere", image="nginx:1.27", replicas=1, ports=("9090:80",)))
    assert wait_for(lambda: "made-elsewhere=1/1" in replicas_column(served, config_dir))
    row = [r for r in docker(served, config_dir, "service", "ls").stdout.splitlines() if "made-elsewhere" in r][0]
    assert row.split()[4:] == ["nginx:1.27", "*:9090->80/tcp"]
    docker(served, config_dir, "service", "scale", "made-elsewhere=2", "--detach")
    assert wait_for(lambda: "made-elsewhere=2/2" in replicas_column(served, config_dir))
    docker(served, config_dir, "service", "rm", "made-elsewhere")


def test_a_drained_node_loses_its_tasks_and_gets_them_back_when_active(served, config_dir):
    docker(served, config_dir, "service", "create", "--name", "spread", "--replicas", "3", "--detach", "nginx")
    assert wait_for(lambda: "spread=3/3" in replicas_column(served, config_dir))
    assert docker(served, config_dir, "node", "update", "--availability", "drain", "node-2").stdout.strip() == "node-2"
    row = [r.split() for r in docker(served, config_dir, "node", "ls").stdout.splitlines() if " node-2 " in r][0]
    assert row[1:4] == ["node-2", "Ready", "Drain"]

    def moved():
        rows = [r.split() for r in docker(served, config_dir, "service", "ps", "spread", "--filter",
                                          "desired-state=running").stdout.splitlines()[1:]]
        return len(rows) == 3 and all(r[3] != "node-2" and r[5] == "Running" for r in rows)
    assert wait_for(moved)
    promote = docker(served, config_dir, "node", "promote", "node-2")  # a drained manager: it keeps no tasks
    assert promote.stdout == "Node node-2 promoted to a manager in the swarm.\n"
    docker(served, config_dir, "node", "update", "--availability", "active", "node-2")
    assert "Active" in [r for r in docker(served, config_dir, "node", "ls").stdout.splitlines() if " node-2 " in r][0]
    docker(served, config_dir, "service", "rm", "spread")


def test_a_failing_task_shows_its_exit_and_is_replaced(served, config_dir):
    docker(served, config_dir, "service", "create", "--name", "crashy", "--detach", "web-server:broken")

    def failed():
        rows = docker(served, config_dir, "service", "ps", "crashy", "--no-trunc").stdout.splitlines()[1:]
        return [r for r in rows if " Failed " in r]
    rows = wait_for(failed, 40)
    assert rows and '"task: non-zero exit (' in rows[0] and "Shutdown" in rows[0]
    docker(served, config_dir, "service", "rm", "crashy")


# -- errors, in the engine's words ---------------------------------------------------------------------
def test_errors_come_in_the_engines_words(served, config_dir):
    docker(served, config_dir, "service", "create", "--name", "taken", "--detach", "nginx")
    again = docker(served, config_dir, "service", "create", "--name", "taken", "--detach", "nginx", check=False)
    assert again.returncode == 1
    assert again.stderr.strip() == ("Error response from daemon: rpc error: code = AlreadyExists desc = name conflicts "
                                    "with an existing object: service taken already exists")
    scale = docker(served, config_dir, "service", "scale", "nope=2", "--detach", check=False)
    assert "nope: Error response from daemon: service nope not found" in scale.stderr
    assert "no such service: nope" in docker(served, config_dir, "service", "ps", "nope", check=False).stderr
    bad_name = docker(served, config_dir, "service", "create", "--name", "bad_", "--detach", "nginx", check=False)
    assert "rpc error: code = InvalidArgument desc = name must be valid as a DNS name component" in bad_name.stderr
    env = docker(served, config_dir, "service", "update", "--detach", "--mount-add", "type=tmpfs,dst=/cache",
                 "taken", check=False)  # (env changes are simulated since issue #23: test_engine_swarm.py)
    assert "is not simulated yet" in env.stderr and env.returncode == 1
    docker(served, config_dir, "service", "rm", "taken")


def test_raw_http_is_answered_in_the_engines_shape(served):
    code, body, answer = call(served, "GET", "/_ping")
    assert (code, body) == (200, "OK")
    assert answer.getheader("API-Version") == "1.55" and answer.getheader("Ostype") == "linux"
    assert answer.getheader("Docker-Experimental") == "false" and answer.getheader("Swarm") == "active/manager"
    assert answer.getheader("Builder-Version") == "2" and answer.getheader("Server") == "Docker/29.7.2 (linux)"
    code, body, answer = call(served, "HEAD", "/_ping")
    assert (code, body, answer.getheader("API-Version")) == (200, "", "1.55")
    assert call(served, "GET", "/v1.99/version")[:2] == (
        400, {"message": "client version 1.99 is too new. Maximum supported API version is 1.55"})
    assert call(served, "GET", "/v1.39/version")[:2] == (
        400, {"message": "client version 1.39 is too old. Minimum supported API version is 1.40, please upgrade "
                         "your client to a newer version"})
    assert call(served, "GET", "/v1.40/version")[1]["MinAPIVersion"] == "1.40"
    assert call(served, "GET", "/v1.24/version")[0] == 400  # a 29 daemon's default; 20.10 took 1.12 on
    assert call(served, "GET", "/nothing/here")[:2] == (404, {"message": "page not found"})
    assert call(served, "GET", "/v1.41/containers/x/top")[0] == 501  # (containers are served since issue #23)
    assert call(served, "POST", "/v1.41/services/create", raw=b"{bad")[:2] == (
        400, {"message": "invalid character 'b' looking for beginning of value"})
    assert call(served, "POST", "/v1.41/services/create", raw=b"")[:2] == (
        400, {"message": "got EOF while reading request body"})
    assert call(served, "POST", "/services/create", body=[1])[:2] == (
        400, {"message": "json: cannot unmarshal array into Go value of type swarm.ServiceSpec"})
    assert call(served, "POST", "/services/create", body={"Name": "x", "Mode": {"Replicated": {"Replicas": "3"}}})[:2] \
        == (400, {"message": "json: cannot unmarshal string into Go struct field ServiceSpec.Mode.Replicated.Replicas "
                             "of type uint64"})
    assert call(served, "POST", "/services/create", body={"Name": "x"})[:2] == (
        400, {"message": "rpc error: code = InvalidArgument desc = ContainerSpec: image reference must be provided"})
    assert call(served, "DELETE", "/v1.41/services/ghost")[:2] == (404, {"message": "service ghost not found"})
    assert call(served, "GET", "/v1.41/nodes/ghost")[:2] == (404, {"message": "node ghost not found"})
    assert call(served, "GET", "/services?filters=" + "%7B%22colour%22%3A%5B%22x%22%5D%7D")[:2] == (
        400, {"message": "Invalid filter 'colour'"})
    assert call(served, "POST", "/services/create", raw=b"x" * (5 * 1024 * 1024))[0] == 413
    assert "x" not in services(served)


def test_an_update_needs_the_current_version(served):
    spec = {"Name": "versioned", "TaskTemplate": {"ContainerSpec": {"Image": "nginx"}}}
    code, created, _ = call(served, "POST", "/v1.41/services/create", body=spec)
    assert code == 201
    index = call(served, "GET", f"/v1.41/services/{created['ID']}")[1]["Version"]["Index"]
    assert call(served, "POST", f"/v1.41/services/versioned/update?version={index - 1}", body=spec)[:2] == (
        500, {"message": "rpc error: code = Unknown desc = update out of sequence"})  # as swarmkit answers
    assert call(served, "POST", "/v1.41/services/versioned/update", body=spec)[0] == 400
    scaled = {**spec, "Mode": {"Replicated": {"Replicas": 2}}}
    assert call(served, "POST", f"/v1.41/services/versioned/update?version={index}", body=scaled)[:2] == (200, {})
    assert served.sim.api.items("services")["versioned"].replicas == 2
    assert call(served, "DELETE", "/v1.41/services/versioned")[0] == 200


def test_a_silent_client_delays_nobody(served, config_dir):
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(served.socket)
    half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    half.connect(served.socket)
    half.sendall(b"POST /services/create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
    try:
        started = time.monotonic()
        docker(served, config_dir, "node", "ls")
        assert time.monotonic() - started < 10
    finally:
        idle.close()
        half.close()
    bad = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bad.connect(served.socket)
    bad.settimeout(5)
    bad.sendall(b"\x16\x03\x01 garbage\r\n\r\n")
    reply = b""
    while chunk := bad.recv(4096):  # the server answers, then closes the connection
        reply += chunk
    bad.close()
    assert reply.startswith(b"HTTP/1.1 400") and b'{"message":' in reply


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=300), method=st.sampled_from([b"GET", b"POST", b"PUT", b"HEAD", b"BREW", b""]))
def test_junk_on_the_socket_is_answered_or_closed_and_the_engine_goes_on(served, junk, method):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(served.socket)
    try:
        sock.sendall(method + b" /v1.41/" + junk + b"\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    finally:
        sock.close()
    if reply:
        assert reply.startswith(b"HTTP/1.1 "), reply[:80]
        assert not reply.startswith(b"HTTP/1.1 5") or reply.startswith(b"HTTP/1.1 501"), reply[:300]
    assert call(served, "GET", "/_ping")[:2] == (200, "OK")


def test_the_module_serves_a_swarm_until_told_to_stop(tmp_path):
    import signal
    import sys
    process = subprocess.Popen([sys.executable, "-m", "labkit.backends.sim.engine", "--nodes", "2", "--speed", "0"],
                               stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(4)]
        host = next(line.split("=", 1)[1].strip() for line in lines if "export DOCKER_HOST=" in line)
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path),
               "DOCKER_HOST": host}
        listed = subprocess.run([CLI, "node", "ls", "--format", "{{.Hostname}}"], env=env, capture_output=True,
                                text=True, timeout=30)
        assert listed.stdout.split() == ["node-1", "node-2"], listed.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert "the served swarm stopped" in process.stdout.read()
    assert not os.path.exists(host.removeprefix("unix://"))


def test_without_a_quorum_swarm_requests_are_refused():
    sim = SimBackend(nodes=3, managers=3, flavor="swarm", seed=2)
    with ServedEngine(sim, speed=0) as engine:
        sim.fail_node("node-2")
        sim.fail_node("node-3")
        code, body, _ = call(engine, "GET", "/v1.41/nodes")
        assert code == 503 and "The swarm does not have a leader" in body["message"]
        assert call(engine, "GET", "/_ping")[0] == 200


# -- a fuzz of service specs ------------------------------------------------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=12), st.sampled_from(["nginx", "nginx:1.27", "web", "stop-first", "rollback",
                                                           "ingress", "host", "tcp"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["Image", "Replicas", "Env", "Ports", "PublishedPort", "TargetPort", "Order", "Parallelism",
                     "Replicated", "Global", "x"]), inner, max_size=3), max_leaves=8)
good_names = st.sampled_from(["fz", "fz-1", "fz_2", "Fz3"])
images = st.sampled_from(["nginx", "nginx:1.27", "web-server:1", "nosuch:1"])
specs = st.fixed_dictionaries({
    "Name": st.one_of(good_names, good_names, good_names, st.sampled_from(["", "-no", "a" * 64]), st.text(max_size=8),
                      st.integers()),
    "TaskTemplate": st.one_of(
        st.fixed_dictionaries({"ContainerSpec": st.fixed_dictionaries({"Image": images}, optional={
            "Env": st.one_of(st.lists(st.sampled_from(["A=1", "B", "=x"]), max_size=2), values)})}),
        st.fixed_dictionaries({"ContainerSpec": st.fixed_dictionaries({"Image": images}, optional={
            "Env": st.one_of(st.lists(st.sampled_from(["A=1", "B", "=x"]), max_size=2), values)})}),
        st.fixed_dictionaries({"ContainerSpec": st.one_of(values, st.fixed_dictionaries(
            {"Image": st.one_of(st.sampled_from(["NGINX", "no such", ""]), values)}))}),
        values),
}, optional={
    "Labels": st.one_of(st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2), values),
    "Mode": st.one_of(st.fixed_dictionaries({"Replicated": st.fixed_dictionaries(
        {"Replicas": st.one_of(st.integers(0, 4), st.integers(0, 4), values)})}), values,
        st.just({"Global": {}}), st.just({"Replicated": {"Replicas": 1}, "Global": {}})),
    "UpdateConfig": st.one_of(st.fixed_dictionaries({}, optional={
        "Parallelism": st.integers(-1, 3), "Delay": st.integers(-1, 10**10), "Order": st.sampled_from(
            ["start-first", "stop-first", "sideways", ""]),
        "FailureAction": st.sampled_from(["pause", "rollback", "x"]),
        "MaxFailureRatio": st.floats(-1, 2, allow_nan=False)}), values),
    "EndpointSpec": st.one_of(values, st.fixed_dictionaries({"Ports": st.lists(st.fixed_dictionaries(
        {"TargetPort": st.integers(-1, 70000)}, optional={
            "PublishedPort": st.one_of(st.integers(-1, 70000), st.sampled_from([0, 8081, 8082])),
            "PublishMode": st.sampled_from(["ingress", "host", "x"])}), max_size=2)})),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(spec=specs)
def test_any_spec_is_made_whole_or_refused_whole(served, spec):
    if "Fz3" not in services(served):  # a name that is taken: a 409
        call(served, "POST", "/v1.41/services/create", body={"Name": "Fz3", "TaskTemplate": {
            "ContainerSpec": {"Image": "nginx"}},
            "EndpointSpec": {"Ports": [{"TargetPort": 80, "PublishedPort": 8082}]}})
    before = services(served)
    code, body, _ = call(served, "POST", "/v1.41/services/create", body=spec)
    event(f"answered {code}")
    assert code in (201, 400, 409, 501), (code, body)
    assert isinstance(body, dict) and (("ID" in body) if code == 201 else isinstance(body.get("message"), str))
    after = services(served)
    if code == 201:
        (made,) = after - before
        assert served.engine.service_id(made) == body["ID"]
        assert call(served, "DELETE", f"/v1.41/services/{body['ID']}")[0] == 200
    else:
        assert after == before
    assert services(served) == before
