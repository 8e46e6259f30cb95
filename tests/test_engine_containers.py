"""A simulated Docker host (the docker flavor) served as a Docker Engine API to the REAL `docker`
CLIs (Debian's 20.10 and 28.x): containers (run, ps, logs, stop, start, restart, kill, rm, wait,
inspect, restart policies), images (pull from the offline registry, images, inspect, rmi) and
networks, their errors in the engine's words, and junk bodies answered with a 400, never a 500.

What the CLI prints around the daemon's words (table headers, `Unable to find image ... locally`,
`Error: No such object`) is the CLI's own; the daemon's words are checked against moby v20.10.24's
source, named beside each assertion.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from labkit.backends.sim import SimBackend
from labkit.backends.sim.engine import ServedEngine
from test_engine_api import call, docker, wait_for  # noqa: E402  (the served engine's helpers)

CLI = shutil.which("docker")
DEBIAN_CLI = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else None
CLIS = [c for c in dict.fromkeys((CLI, DEBIAN_CLI)) if c]  # each CLI that is installed, once
pytestmark = pytest.mark.skipif(CLI is None, reason="no docker CLI on this machine")


@pytest.fixture(scope="module")
def host():
    """One machine with Docker and no swarm (what `labkit.connect(flavor='swarm', init=False)` makes)."""
    with ServedEngine(SimBackend(nodes=1, flavor="swarm", init=False, seed=3), speed=20.0) as engine:
        yield engine
        assert not list(engine.failures), engine.failures  # no fault of labkit's answered as a 500


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("docker-config"))  # never the user's ~/.docker


def ps(engine, config, *args, binary=None) -> str:
    return docker(engine, config, "ps", "--no-trunc", *args, binary=binary).stdout


# -- docker run, ps ----------------------------------------------------------------------------------
@pytest.mark.parametrize("binary", CLIS)
def test_run_pulls_the_image_then_starts_the_container(host, config_dir, binary):
    name = f"web-{'debian' if binary == DEBIAN_CLI else 'new'}"
    done = docker(host, config_dir, "run", "-d", "--name", name, "-p", f"{8080 + len(name)}:80", "nginx:1.26",
                  binary=binary)
    ident = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", ident)
    if "Unable to find image" in done.stderr:  # the first of the two runs pulls (the CLI's words around the pull)
        assert "Unable to find image 'nginx:1.26' locally" in done.stderr
        assert "1.26: Pulling from library/nginx" in done.stderr
        assert "Status: Downloaded newer image for nginx:1.26" in done.stderr
    row = next(line for line in ps(host, config_dir, binary=binary).splitlines() if line.endswith(name))
    assert row.startswith(ident) and "nginx:1.26" in row and "Up " in row
    assert f"0.0.0.0:{8080 + len(name)}->80/tcp" in row  # as `docker ps` shows a published port
    assert '"/docker-entrypoint.sh nginx -g \'daemon off;\'"' in row  # the image's own (an arg with a space quoted)
    assert docker(host, config_dir, "inspect", "-f", "{{.State.Status}} {{.Name}} {{.HostConfig.RestartPolicy.Name}}",
                  name, binary=binary).stdout.split() == ["running", f"/{name}", "no"]
    docker(host, config_dir, "rm", "-f", name, binary=binary)
    assert name not in ps(host, config_dir, "-a", binary=binary)


def test_a_name_is_refused_in_the_engines_words(host, config_dir):
    docker(host, config_dir, "run", "-d", "--name", "taken", "nginx:1.26")
    again = docker(host, config_dir, "run", "-d", "--name", "taken", "nginx:1.26", check=False)
    ident = docker(host, config_dir, "inspect", "-f", "{{.Id}}", "taken").stdout.strip()
    # moby daemon/errors.go nameConflictError
    assert f'Conflict. The container name "/taken" is already in use by container "{ident}". You have to remove ' \
           "(or rename) that container to be able to reuse that name." in again.stderr
    one = docker(host, config_dir, "run", "-d", "--name", "x", "nginx:1.26", check=False)
    # daemon/names.go: at least two characters
    assert "Invalid container name (x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" in one.stderr
    policy = docker(host, config_dir, "run", "-d", "--restart", "on-failure:-1", "nginx:1.26", check=False)
    assert "maximum retry count cannot be negative" in policy.stderr  # daemon/container.go validateRestartPolicy
    docker(host, config_dir, "rm", "-f", "taken")


def test_ps_filters_and_quiet(host, config_dir):
    docker(host, config_dir, "run", "-d", "--name", "alpha", "--label", "tier=front", "nginx:1.26")
    docker(host, config_dir, "run", "-d", "--name", "beta", "redis:7")
    docker(host, config_dir, "stop", "beta")
    assert "alpha" in ps(host, config_dir, "--filter", "label=tier=front")
    assert "beta" not in ps(host, config_dir)  # stopped: only with -a
    exited = ps(host, config_dir, "-a", "--filter", "status=exited")
    assert "beta" in exited and "alpha" not in exited and "Exited (0) " in exited
    assert "alpha" in ps(host, config_dir, "--filter", "ancestor=nginx:1.26")
    assert "alpha" in ps(host, config_dir, "--filter", "name=alp") and "beta" not in ps(host, config_dir, "-a",
                                                                                         "--filter", "name=alp")
    quiet = docker(host, config_dir, "ps", "-aq").stdout.split()
    assert all(re.fullmatch(r"[0-9a-f]{12}", q) for q in quiet) and len(quiet) >= 2
    wrong = docker(host, config_dir, "ps", "--filter", "status=sleepy", check=False)
    assert "Invalid filter 'status=sleepy'" in wrong.stderr  # daemon/errors.go invalidFilter
    docker(host, config_dir, "rm", "-f", "alpha", "beta")


# -- a container's life ----------------------------------------------------------------------------
@pytest.mark.parametrize("binary", CLIS)
def test_stop_start_restart_kill_wait_rm(host, config_dir, binary):
    name = "life-debian" if binary == DEBIAN_CLI else "life-new"
    docker(host, config_dir, "run", "-d", "--name", name, "nginx:1.26", binary=binary)
    refused = docker(host, config_dir, "rm", name, check=False, binary=binary)
    ident = docker(host, config_dir, "inspect", "-f", "{{.Id}}", name, binary=binary).stdout.strip()
    # daemon/delete.go
    assert f"You cannot remove a running container {ident}. Stop the container before attempting removal or " \
           "force remove" in refused.stderr
    assert docker(host, config_dir, "stop", name, binary=binary).stdout.strip() == name
    assert "Exited (0) " in ps(host, config_dir, "-a", "--filter", f"name={name}", binary=binary)
    assert docker(host, config_dir, "wait", name, binary=binary).stdout.strip() == "0"
    docker(host, config_dir, "start", name, binary=binary)
    assert "Up " in ps(host, config_dir, "--filter", f"name={name}", binary=binary)
    docker(host, config_dir, "restart", name, binary=binary)
    assert "Up " in ps(host, config_dir, "--filter", f"name={name}", binary=binary)
    docker(host, config_dir, "kill", name, binary=binary)
    assert "Exited (137) " in ps(host, config_dir, "-a", "--filter", f"name={name}", binary=binary)
    again = docker(host, config_dir, "kill", name, check=False, binary=binary)
    # api/server/router/container: "Cannot kill container: %s", daemon/errors.go errNotRunning
    assert f"Cannot kill container: {name}: Container {ident} is not running" in again.stderr
    assert docker(host, config_dir, "inspect", "-f", "{{.State.ExitCode}}", name, binary=binary).stdout.strip() == "137"
    docker(host, config_dir, "rm", name, binary=binary)
    gone = docker(host, config_dir, "inspect", name, check=False, binary=binary)
    assert f"No such object: {name}" in gone.stderr  # every kind answered 404: the CLI's words


def test_docker_wait_returns_when_the_container_exits(host, config_dir):
    """`docker wait` holds the request until the container stops (moby flushes its headers first)."""
    docker(host, config_dir, "run", "-d", "--name", "short", "web-server:broken")  # exits 1 after 5 s
    assert docker(host, config_dir, "wait", "short").stdout.strip() == "1"
    assert "Exited (1) " in ps(host, config_dir, "-a", "--filter", "name=short")
    docker(host, config_dir, "rm", "short")


def test_restart_policies_as_the_simulator_runs_them(host, config_dir):
    docker(host, config_dir, "run", "-d", "--name", "flaky", "--restart", "on-failure", "web-server:broken")
    assert wait_for(lambda: int(docker(host, config_dir, "inspect", "-f", "{{.RestartCount}}", "flaky"
                                       ).stdout.strip() or 0) >= 1)
    policy = docker(host, config_dir, "inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "flaky").stdout.strip()
    assert policy == "on-failure"
    docker(host, config_dir, "rm", "-f", "flaky")
    docker(host, config_dir, "run", "-d", "--name", "limited", "--restart", "on-failure:2", "web-server:broken")
    assert wait_for(lambda: "exited" in docker(host, config_dir, "inspect", "-f", "{{.State.Status}}", "limited"
                                               ).stdout, seconds=40)
    assert docker(host, config_dir, "inspect", "-f", "{{.RestartCount}} {{.State.ExitCode}} "
                  "{{.HostConfig.RestartPolicy.MaximumRetryCount}}", "limited").stdout.split() == ["2", "1", "2"]
    docker(host, config_dir, "rm", "limited")
    docker(host, config_dir, "run", "-d", "--name", "passing", "--rm", "nginx:1.26")
    docker(host, config_dir, "stop", "passing")  # --rm: gone once it exits
    assert wait_for(lambda: "passing" not in ps(host, config_dir, "-a"))
    docker(host, config_dir, "run", "-d", "--name", "steady", "--restart=always", "nginx:1.26")
    docker(host, config_dir, "stop", "steady")  # stopped by hand: always does not bring it back
    assert "Exited (0)" in ps(host, config_dir, "-a", "--filter", "name=steady")
    docker(host, config_dir, "rm", "steady")


def test_exec_and_attach_say_which_backend_can(host, config_dir):
    docker(host, config_dir, "run", "-d", "--name", "quiet", "nginx:1.26")
    done = docker(host, config_dir, "exec", "quiet", "ls", check=False)
    assert done.returncode != 0 and "cannot run a command in a container (docker exec)" in done.stderr
    assert "the docker backend" in done.stderr
    attached = docker(host, config_dir, "attach", "quiet", check=False)
    # A refused upgrade: the CLI prints only the status (its hijack reads no body), 501: not implemented
    assert attached.returncode != 0 and "unable to upgrade to tcp, received 501" in attached.stderr
    code, answer, _ = call(host, "POST", "/v1.41/containers/quiet/attach?stream=1&stdout=1")
    assert code == 501 and "cannot attach to a container" in answer["message"] and "docker backend" in answer["message"]
    every = docker(host, config_dir, "logs", "quiet").stdout.splitlines()  # nginx's start-up lines (catalog)
    assert every[0] == "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform " \
                       "configuration"
    assert "/docker-entrypoint.sh: Configuration complete; ready for start up" in every
    last = docker(host, config_dir, "logs", "--tail", "2", "quiet").stdout.splitlines()
    undated = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d ")  # (the cluster's clock runs faster than the wall's)
    assert [undated.sub("", line) for line in last] == [undated.sub("", line) for line in every[-2:]]
    stamped = docker(host, config_dir, "logs", "-t", "--tail", "1", "quiet").stdout
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ", stamped)
    assert "No such container: nope" in docker(host, config_dir, "logs", "nope", check=False).stderr
    docker(host, config_dir, "rm", "-f", "quiet")


# -- images ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("binary", CLIS)
def test_pull_from_the_offline_registry(host, config_dir, binary):
    tag = "1.25" if binary == DEBIAN_CLI else "1.24"
    first = docker(host, config_dir, "pull", f"nginx:{tag}", binary=binary).stdout
    assert f"{tag}: Pulling from library/nginx" in first and "Pull complete" in first
    assert re.search(r"Digest: sha256:[0-9a-f]{64}", first)
    assert f"Status: Downloaded newer image for nginx:{tag}" in first
    assert first.strip().endswith(f"docker.io/library/nginx:{tag}")
    again = docker(host, config_dir, "pull", f"nginx:{tag}", binary=binary).stdout
    assert f"Status: Image is up to date for nginx:{tag}" in again and "Pull complete" not in again
    row = next(r for r in docker(host, config_dir, "images", binary=binary).stdout.splitlines()
               if r.split()[:2] == ["nginx", tag])
    assert re.search(r"[0-9a-f]{12}", row) and row.rstrip().endswith("MB")
    unknown_tag = docker(host, config_dir, "pull", "nginx:9.9", check=False, binary=binary)
    # the registry's manifest unknown, as moby's distribution/errors.go passes it on
    assert "Error response from daemon: manifest for nginx:9.9 not found: manifest unknown: manifest unknown" \
           in unknown_tag.stderr
    unknown_repo = docker(host, config_dir, "pull", "nosuchimage", check=False, binary=binary)
    assert "pull access denied for nosuchimage, repository does not exist or may require 'docker login'" \
           in unknown_repo.stderr


def test_image_inspect_and_rmi(host, config_dir):
    docker(host, config_dir, "pull", "redis:7")
    out = docker(host, config_dir, "image", "inspect", "-f", "{{json .RepoTags}} {{.Os}} {{json .Config.Cmd}}",
                 "redis:7").stdout
    assert out.strip() == '["redis:7"] linux ["redis-server"]'
    docker(host, config_dir, "run", "-d", "--name", "cache", "redis:7")
    busy = docker(host, config_dir, "rmi", "redis:7", check=False)
    assert 'conflict: unable to remove repository reference "redis:7" (must force) - container' in busy.stderr
    docker(host, config_dir, "rm", "-f", "cache")
    removed = docker(host, config_dir, "rmi", "redis:7").stdout
    assert "Untagged: redis:7" in removed and "Deleted: sha256:" in removed
    assert "No such image: redis:7" in docker(host, config_dir, "image", "inspect", "redis:7", check=False).stderr


# -- networks on a host in no swarm ---------------------------------------------------------------------
def test_networks_of_a_plain_host(host, config_dir):
    names = docker(host, config_dir, "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").stdout.split("\n")
    assert {"bridge bridge local", "host host local", "none null local"} <= set(names)
    assert not any(n.startswith("ingress") for n in names)
    overlay = docker(host, config_dir, "network", "create", "-d", "overlay", "mesh", check=False)
    assert 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join"' in overlay.stderr
    docker(host, config_dir, "network", "create", "backend")
    assert docker(host, config_dir, "network", "inspect", "-f", "{{.Driver}} {{.Scope}}", "backend"
                  ).stdout.strip() == "bridge local"
    dup = docker(host, config_dir, "network", "create", "backend", check=False)
    assert "network with name backend already exists" in dup.stderr  # libnetwork/error.go
    docker(host, config_dir, "network", "rm", "backend")
    builtin = docker(host, config_dir, "network", "rm", "bridge", check=False)
    assert "bridge is a pre-defined network and cannot be removed" in builtin.stderr  # daemon/network.go


# -- junk: every new endpoint answers a 400 in the engine's words, never a 500 ---------------------------
JUNK = [b"{bad", b"", b"[1]", b'{"Image": 5}', b'{"HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}',
        b'{"Image": "nginx:1.26", "HostConfig": {"PortBindings": {"http": []}}}', b'{"Labels": {"a": 1}}',
        b'{"Name": 7}', b'{"Driver": "overlay", "Internal": "yes"}', b'{"HostConfig": []}']


@pytest.mark.parametrize("path", ["/v1.41/containers/create?name=junk", "/v1.41/networks/create"])
@pytest.mark.parametrize("body", JUNK)
def test_junk_bodies_are_400s(host, path, body):
    code, answer, _ = call(host, "POST", path, raw=body)
    assert code in (400, 404, 501) and isinstance(answer, dict) and answer["message"], (code, answer)
    if body in (b"{bad", b"", b"[1]"):
        assert code == 400
    if body == b"":
        assert answer["message"] == "got EOF while reading request body"


def test_junk_queries_are_400s(host):
    assert call(host, "POST", "/v1.41/images/create")[:2] == (400, {"message": "invalid reference format"})
    assert call(host, "POST", "/v1.41/images/create?fromImage=NGINX!")[0] == 400
    assert call(host, "GET", "/v1.41/containers/json?filters=%7Bbad")[0] == 400
    assert call(host, "GET", "/v1.41/containers/json?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D")[:2] == (
        400, {"message": "Invalid filter 'colour'"})
    assert call(host, "POST", "/v1.41/containers/nope/start")[:2] == (404, {"message": "No such container: nope"})
    docker_id = call(host, "POST", "/v1.41/containers/create?name=waiter", body={"Image": "nginx:1.26"})
    assert docker_id[0] in (201, 404)  # 404: the image is not on the host yet
    if docker_id[0] == 201:
        assert call(host, "POST", "/v1.41/containers/waiter/wait?condition=soon")[0] == 400
        assert call(host, "GET", "/v1.41/containers/waiter/logs")[:2] == (
            400, {"message": "Bad parameters: you must choose at least one stream"})
        assert call(host, "DELETE", "/v1.41/containers/waiter")[0] == 204
    assert call(host, "POST", "/v1.41/containers/create?name=p", body={
        "Image": "nginx:1.26", "HostConfig": {"RestartPolicy": {"Name": "always", "MaximumRetryCount": 2}}})[:2] == (
        400, {"message": "maximum retry count cannot be used with restart policy 'always'"})
    assert call(host, "GET", "/v1.41/swarm")[:2] == (503, {"message": 'This node is not a swarm manager. Use "docker '
                                                                      'swarm init" or "docker swarm join" to connect '
                                                                      "this node to swarm and try again."})


# -- docker events ----------------------------------------------------------------------------------------
def test_events_past_and_followed(host, config_dir):
    docker(host, config_dir, "run", "-d", "--name", "noted", "nginx:1.26")
    docker(host, config_dir, "stop", "noted")
    time.sleep(1.1)  # the CLI sends `--until 0s` as whole seconds: what happened this second comes after it
    past = docker(host, config_dir, "events", "--since", "2m", "--until", "0s", "--filter", "container=noted",
                  "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}").stdout.split("\n")
    assert past[:2] == ["container create noted", "container start noted"]
    assert {"container stop noted", "container die noted"} <= set(past)
    died = docker(host, config_dir, "events", "--since", "2m", "--until", "0s", "--filter", "event=die", "--filter",
                  "container=noted", "--format", "{{.Actor.Attributes.exitCode}}").stdout.split()
    assert died == ["0"]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": config_dir, "DOCKER_CONFIG": config_dir, **host.env()}
    follow = subprocess.Popen([CLI, "events", "--filter", "type=network", "--format", "{{.Action}} "
                               "{{.Actor.Attributes.name}}"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        docker(host, config_dir, "network", "create", "watched")
        docker(host, config_dir, "network", "rm", "watched")
        assert follow.stdout.readline().strip() == "create watched"  # streamed as it happens
        assert follow.stdout.readline().strip() == "destroy watched"
    finally:
        follow.terminate()
        follow.wait(timeout=10)
    docker(host, config_dir, "rm", "noted")
    assert call(host, "GET", "/v1.41/events?since=soon")[:2] == (400, {"message": "invalid value for since: soon"})
    assert call(host, "GET", "/v1.41/events?since=20&until=10")[:2] == (
        400, {"message": "`since` time (20) cannot be after `until` time (10)"})  # system_routes.go getEvents


def test_logs_follow_streams_until_the_container_stops(host, config_dir):
    docker(host, config_dir, "run", "-d", "--name", "chatty", "redis:7")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": config_dir, "DOCKER_CONFIG": config_dir, **host.env()}
    follow = subprocess.Popen([CLI, "logs", "-f", "--tail", "1", "chatty"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert "Ready to accept connections tcp" in follow.stdout.readline()  # redis' last start-up line
        docker(host, config_dir, "stop", "chatty")
        assert follow.wait(timeout=20) == 0  # the stream ends with the container
    finally:
        follow.kill()
    docker(host, config_dir, "rm", "chatty")


# -- a fuzz of container configs: made whole or refused whole, never a 5xx --------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 70000), st.text(max_size=8),
                    st.sampled_from(["nginx:1.26", "always", "on-failure", "80/tcp", "8080"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["Name", "MaximumRetryCount", "HostPort", "80/tcp", "x"]), inner, max_size=3), max_leaves=6)
configs = st.fixed_dictionaries({"Image": st.one_of(st.sampled_from(["nginx:1.26", "nginx:1.26", "nosuch:1", ""]),
                                                    values)}, optional={
    "Cmd": st.one_of(st.lists(st.sampled_from(["echo", "hi", "sleep", "5"]), max_size=3), values),
    "Env": st.one_of(st.lists(st.sampled_from(["A=1", "B", "=x"]), max_size=2), values),
    "Labels": st.one_of(st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2), values),
    "ExposedPorts": st.one_of(st.just({"80/tcp": {}}), values),
    "HostConfig": st.one_of(values, st.fixed_dictionaries({}, optional={
        "RestartPolicy": st.one_of(values, st.fixed_dictionaries({"Name": st.sampled_from(
            ["", "no", "always", "on-failure", "unless-stopped", "sometimes"])}, optional={
            "MaximumRetryCount": st.integers(-1, 3)})),
        "PortBindings": st.one_of(values, st.dictionaries(st.sampled_from(["80/tcp", "80", "x/tcp", "443/udp"]),
                                                          st.lists(st.fixed_dictionaries({"HostPort": st.sampled_from(
                                                              ["", "8080", "9090"])}), max_size=1), max_size=2)),
        "AutoRemove": st.one_of(st.booleans(), values)})),
})


@pytest.fixture(scope="module")
def nginx_pulled(host, config_dir):
    docker(host, config_dir, "pull", "-q", "nginx:1.26")


def names(engine) -> set[str]:
    with engine.engine.lock:
        return set(engine.engine.containers)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(config=configs, name=st.sampled_from(["", "fz", "fz-1", "-bad", "a"]))
def test_any_container_config_is_made_whole_or_refused_whole(host, nginx_pulled, config, name):
    before = names(host)
    code, body, _ = call(host, "POST", "/v1.41/containers/create" + (f"?name={name}" if name else ""), body=config)
    event(f"answered {code}")
    assert code in (201, 400, 404, 409, 501), (code, body)
    assert isinstance(body, dict) and (("Id" in body) if code == 201 else isinstance(body.get("message"), str))
    if code == 201:
        assert len(names(host) - before) == 1
        assert call(host, "DELETE", f"/v1.41/containers/{body['Id']}")[0] == 204
    assert names(host) == before
