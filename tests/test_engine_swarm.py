"""The served engine's swarm beyond a service's life (test_engine_api.py), driven by the REAL
`docker` CLIs: `docker swarm init / join-token / update / leave` on a host that is in no swarm yet,
what a service spec may now say (env, update and rollback config, healthcheck, reservations,
networks, secrets, configs, `--force`), overlay networks, secrets and configs, `docker stack`,
a swarm node's task containers in `docker ps`, and junk bodies answered with a 400, never a 500.

The daemon's words are checked against moby v20.10.24's source (named beside each assertion); what
the CLI prints around them (`Swarm initialized: ...`, `Node left the swarm.`) is the CLI's own.
"""
from __future__ import annotations

import os
import re
import shutil
import textwrap

import pytest

from labkit.backends.sim import SimBackend
from labkit.backends.sim.engine import ServedEngine
from test_engine_api import call, docker, wait_for  # noqa: E402  (the served engine's helpers)

CLI = shutil.which("docker")
DEBIAN_CLI = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else None
CLIS = [c for c in dict.fromkeys((CLI, DEBIAN_CLI)) if c]
pytestmark = pytest.mark.skipif(CLI is None, reason="no docker CLI on this machine")
NOT_MANAGER = ('This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this '
               "node to swarm and try again.")  # daemon/cluster/cluster.go errNoManager


@pytest.fixture
def plain_host():
    """A machine with Docker, in no swarm yet."""
    with ServedEngine(SimBackend(nodes=1, flavor="swarm", init=False, seed=5), speed=20.0) as engine:
        yield engine
        assert not list(engine.failures), engine.failures


@pytest.fixture(scope="module")
def served():
    with ServedEngine(SimBackend(nodes=3, flavor="swarm", seed=2), speed=20.0) as engine:
        yield engine
        assert not list(engine.failures), engine.failures


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("docker-config"))  # never the user's ~/.docker


# -- docker swarm init, join-token, update, leave -----------------------------------------------------
@pytest.mark.parametrize("binary", CLIS)
def test_a_host_becomes_a_swarm_and_leaves_it(plain_host, config_dir, binary):
    def run(*args, check=True):
        return docker(plain_host, config_dir, *args, binary=binary, check=check)

    run("run", "-d", "--name", "keeper", "nginx:1.27")
    assert NOT_MANAGER in run("swarm", "join-token", "worker", check=False).stderr
    assert NOT_MANAGER in run("node", "ls", check=False).stderr
    assert "This node is not part of a swarm" in run("swarm", "leave", check=False).stderr  # errors.go errNoSwarm
    assert run("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "inactive"

    out = run("swarm", "init", "--advertise-addr", "192.168.56.10").stdout
    node_id = plain_host.engine.node_id("node-1")
    assert out.startswith(f"Swarm initialized: current node ({node_id}) is now a manager.")
    token = plain_host.sim.join_token("worker")
    assert f"docker swarm join --token {token} 192.168.56.10:2377" in out
    again = run("swarm", "init", check=False)
    # daemon/cluster/errors.go errSwarmExists
    assert 'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another ' \
           "one." in again.stderr
    nodes = run("node", "ls", "--format", "{{.Hostname}} {{.ManagerStatus}} {{.Self}}").stdout.split("\n")
    assert nodes[0] == "node-1 Leader true"
    assert run("swarm", "join-token", "-q", "manager").stdout.strip() == plain_host.sim.join_token("manager")
    assert "keeper" in run("ps", "--format", "{{.Names}} {{.State}}").stdout  # the same machine runs it still
    info = run("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.NodeAddr}} {{.Swarm.Nodes}}").stdout
    assert info.split() == ["active", "192.168.56.10", "1"]

    assert run("swarm", "update", "--task-history-limit", "3").stdout.strip() == "Swarm updated."
    assert run("info", "--format", "{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}"
               ).stdout.strip() == "3"
    rotated = run("swarm", "join-token", "--rotate", "-q", "worker").stdout.strip()
    assert rotated != token and rotated.startswith("SWMTKN-1-") and rotated == plain_host.sim.join_token("worker")

    refused = run("swarm", "leave", check=False)
    # daemon/cluster/swarm.go Leave, the last manager
    assert "You are attempting to leave the swarm on a node that is participating as a manager. Removing the last " \
           "manager erases all current state of the swarm. Use `--force` to ignore this message." in refused.stderr
    assert run("swarm", "leave", "--force").stdout.strip() == "Node left the swarm."
    assert run("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "inactive"
    assert "keeper" in run("ps").stdout
    assert NOT_MANAGER in run("service", "ls", check=False).stderr


def test_leaving_a_swarm_of_three_managers(config_dir):
    with ServedEngine(SimBackend(nodes=3, managers=3, flavor="swarm", seed=4), speed=20.0) as engine:
        refused = docker(engine, config_dir, "swarm", "leave", check=False).stderr
        # daemon/cluster/swarm.go Leave: three reachable managers keep a quorum without this one
        assert "You are attempting to leave the swarm on a node that is participating as a manager. The only way " \
               "to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use " \
               "`--force` to suppress this message." in refused
        assert "Removing the last manager" not in refused
        assert not list(engine.failures)


def test_swarm_requests_with_junk_are_400s(plain_host):
    for body, words in ((b"{bad", "invalid character 'b' looking for beginning of value"),
                        (b"", "got EOF while reading request body"),
                        (b"[1]", "json: cannot unmarshal array into Go value of type swarm.InitRequest"),
                        (b'{"ListenAddr": 5}', "json: cannot unmarshal number into Go struct field "
                                               "InitRequest.ListenAddr of type string"),
                        (b'{"ForceNewCluster": "yes"}', "json: cannot unmarshal string into Go struct field "
                                                        "InitRequest.ForceNewCluster of type bool"),
                        (b'{"AdvertiseAddr": "not an address!"}', "advertise address must be a non-zero IP address "
                                                                  "or network interface (with optional port number)"),
                        (b'{"Spec": {"Name": "other"}}', 'swarm spec must be named "default"')):
        assert call(plain_host, "POST", "/v1.41/swarm/init", raw=body)[:2] == (400, {"message": words}), body
    assert call(plain_host, "POST", "/v1.41/swarm/join", body={"RemoteAddrs": []})[:2] == (
        400, {"message": "at least 1 RemoteAddr is required to join"})
    assert call(plain_host, "POST", "/v1.41/swarm/update?version=x", body={})[0] == 400
    assert call(plain_host, "POST", "/v1.41/swarm/init", body={"AdvertiseAddr": "10.1.2.3"})[0] == 200
    assert call(plain_host, "POST", "/v1.41/swarm/update?version=10", body={"Raft": {"ElectionTick": "ten"}})[:2] == (
        400, {"message": "json: cannot unmarshal string into Go struct field Spec.Raft.ElectionTick of type int64"})
    assert call(plain_host, "POST", "/v1.41/swarm/update?version=10&rotateWorkerToken=maybe", body={})[:2] == (
        400, {"message": "invalid value for rotateWorkerToken: maybe"})
    assert call(plain_host, "POST", "/v1.41/swarm/update?version=3", body={})[:2] == (
        500, {"message": "rpc error: code = Unknown desc = update out of sequence"})  # stale: swarmkit's own 500
    assert call(plain_host, "POST", "/v1.41/swarm/join", body={"RemoteAddrs": ["10.0.0.1:2377"], "JoinToken": "x"}
                )[0] == 503


# -- what a service spec may say ----------------------------------------------------------------------
def tasks_of(engine, name):
    with engine.engine.lock:
        pods = engine.sim.api.items("pods").values()
        return {p.name: p for p in pods if p.owner == name and not p.deleting and p.phase in ("pending", "running")}


def test_a_service_with_env_update_rollback_and_health(served, config_dir):
    docker(served, config_dir, "service", "create", "-d", "--name", "shop", "--replicas", "3", "--env", "COLOR=blue",
           "--update-parallelism", "2", "--update-delay", "1s", "--update-failure-action", "rollback",
           "--rollback-parallelism", "3", "--rollback-order", "start-first", "--health-cmd", "wget -qO- localhost",
           "--health-interval", "2s", "--reserve-cpu", "0.25", "--limit-cpu", "0.5", "-p", "8090:80", "nginx:1.27")
    shape = docker(served, config_dir, "service", "inspect", "-f",
                   "{{json .Spec.TaskTemplate.ContainerSpec.Env}} {{.Spec.UpdateConfig.Parallelism}} "
                   "{{.Spec.UpdateConfig.FailureAction}} {{.Spec.RollbackConfig.Order}} "
                   "{{json .Spec.TaskTemplate.ContainerSpec.Healthcheck.Test}}", "shop").stdout.split()
    assert shape == ['["COLOR=blue"]', "2", "rollback", "start-first", '["CMD-SHELL","wget', '-qO-', 'localhost"]']
    with served.engine.lock:
        svc = served.sim.api.items("services")["shop"]
        assert svc.template.env == {"COLOR": "blue"} and svc.template.probe is not None
        assert svc.update_config["parallelism"] == 2 and svc.rollback_config["order"] == "start-first"
        assert svc.template.cpu == 250  # --reserve-cpu 0.25: millicores the scheduler counts
    assert wait_for(lambda: len(tasks_of(served, "shop")) == 3 and all(
        t.phase == "running" for t in tasks_of(served, "shop").values()))

    before = set(tasks_of(served, "shop"))
    docker(served, config_dir, "service", "update", "-d", "--env-add", "COLOR=green", "shop")
    assert wait_for(lambda: not before & set(tasks_of(served, "shop")) and all(
        t.template.env == {"COLOR": "green"} for t in tasks_of(served, "shop").values()))  # a rolling update

    before = set(tasks_of(served, "shop"))
    docker(served, config_dir, "service", "update", "-d", "--force", "shop")  # the same spec: every task anew
    assert wait_for(lambda: len(tasks_of(served, "shop")) == 3 and not before & set(tasks_of(served, "shop")))

    docker(served, config_dir, "service", "rollback", "-d", "shop")  # to the spec before --force: still green
    assert docker(served, config_dir, "service", "inspect", "-f", "{{json .Spec.TaskTemplate.ContainerSpec.Env}}",
                  "shop").stdout.strip() == '["COLOR=green"]'
    docker(served, config_dir, "service", "rm", "shop")


def running_on(engine, name) -> list[str]:
    """The nodes of the service's running tasks."""
    return sorted(t.node for t in tasks_of(engine, name).values() if t.phase == "running" and t.node)


def test_constraints_place_tasks_or_leave_them_pending(served, config_dir):
    docker(served, config_dir, "service", "create", "-d", "--name", "workers", "--replicas", "3", "--constraint",
           "node.role==worker", "nginx:1.27")
    assert wait_for(lambda: len(running_on(served, "workers")) == 3)
    assert set(running_on(served, "workers")) <= {"node-2", "node-3"}  # node-1 is the manager
    docker(served, config_dir, "service", "create", "-d", "--name", "moon", "--constraint", "node.labels.zone==moon",
           "nginx:1.27")
    error = lambda: docker(served, config_dir, "service", "ps", "moon", "--no-trunc", "--format",  # noqa: E731
                           "{{.CurrentState}} {{.Error}}").stdout
    # swarmkit scheduler/filter.go ConstraintFilter.Explain, in the scheduler's `no suitable node (...)`
    assert wait_for(lambda: '"no suitable node (scheduling constraints not satisfied on 3 nodes)"' in error())
    assert error().startswith("Pending")
    docker(served, config_dir, "node", "update", "--label-add", "zone=moon", "node-3")
    zone = docker(served, config_dir, "node", "inspect", "-f", "{{.Spec.Labels.zone}}", "node-3").stdout.strip()
    assert zone == "moon"
    assert wait_for(lambda: running_on(served, "moon") == ["node-3"])  # the scheduler looked again
    docker(served, config_dir, "service", "update", "-d", "--constraint-rm", "node.role==worker", "--constraint-add",
           "node.hostname==node-1", "workers")  # a new template: a rolling update onto node-1
    assert wait_for(lambda: running_on(served, "workers") == ["node-1"] * 3, seconds=60)
    wrong = docker(served, config_dir, "service", "create", "-d", "--name", "nowhere", "--constraint", "zone", "nginx",
                   check=False)
    # swarmkit manager/constraint/constraint.go Parse (gRPC Unknown; served as the client's fault, a 400)
    assert "rpc error: code = Unknown desc = constraint expected one operator from ==, !=" in wrong.stderr
    pref = docker(served, config_dir, "service", "create", "-d", "--name", "nowhere", "--placement-pref",
                  "spread=node.labels.zone", "nginx", check=False)
    assert "a placement preference (--placement-pref) is not simulated yet" in pref.stderr
    docker(served, config_dir, "node", "update", "--label-rm", "zone", "node-3")
    docker(served, config_dir, "service", "rm", "workers", "moon")


def test_global_services_and_replicas_per_node(served, config_dir):
    docker(served, config_dir, "service", "create", "-d", "--name", "agent", "--mode", "global", "nginx:1.27")
    assert wait_for(lambda: running_on(served, "agent") == ["node-1", "node-2", "node-3"])
    listed = docker(served, config_dir, "service", "ls", "--filter", "name=agent", "--format",
                    "{{.Mode}} {{.Replicas}}").stdout.strip()
    assert listed == "global 3/3"
    names = docker(served, config_dir, "service", "ps", "agent", "--format", "{{.Name}}").stdout.split()
    assert sorted(names) == sorted(f"agent.{served.engine.node_id(n)}" for n in ("node-1", "node-2", "node-3"))
    docker(served, config_dir, "node", "update", "--availability", "drain", "node-2")
    assert wait_for(lambda: running_on(served, "agent") == ["node-1", "node-3"])  # none moves: one a node
    docker(served, config_dir, "node", "update", "--availability", "active", "node-2")
    assert wait_for(lambda: running_on(served, "agent") == ["node-1", "node-2", "node-3"])
    scale = docker(served, config_dir, "service", "scale", "agent=5", check=False)
    assert "scale can only be used with replicated" in scale.stderr  # the CLI's own refusal
    docker(served, config_dir, "service", "create", "-d", "--name", "capped", "--replicas", "4",
           "--replicas-max-per-node", "1", "nginx:1.27")
    assert wait_for(lambda: len(running_on(served, "capped")) == 3)
    assert "3/4 (max 1 per node)" in docker(served, config_dir, "service", "ls", "--filter", "name=capped").stdout
    # swarmkit scheduler/filter.go MaxReplicasFilter.Explain
    assert "no suitable node (max replicas per node limit exceed on 3 nodes)" in docker(
        served, config_dir, "service", "ps", "capped", "--no-trunc").stdout
    docker(served, config_dir, "service", "rm", "agent", "capped")


# -- networks, secrets, configs, stacks --------------------------------------------------------------------
def test_overlay_networks_and_services_on_them(served, config_dir):
    names = docker(served, config_dir, "network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}"
                   ).stdout.split("\n")
    assert {"ingress overlay swarm", "docker_gwbridge bridge local", "bridge bridge local"} <= set(names)
    ident = docker(served, config_dir, "network", "create", "-d", "overlay", "backend").stdout.strip()
    assert re.fullmatch(r"[a-z0-9]{25}", ident)
    docker(served, config_dir, "service", "create", "-d", "--name", "api", "--network", "backend", "nginx:1.27")
    vips = docker(served, config_dir, "service", "inspect", "-f", "{{range .Endpoint.VirtualIPs}}{{.NetworkID}} "
                                                                  "{{end}}", "api").stdout.split()
    assert ident in vips
    busy = docker(served, config_dir, "network", "rm", "backend", check=False)
    assert f"network {ident} is in use by service {served.engine.service_id('api')}" in busy.stderr
    missing = docker(served, config_dir, "service", "create", "-d", "--name", "lost", "--network", "nowhere", "nginx",
                     check=False)
    assert missing.returncode != 0 and "nowhere" in missing.stderr
    assert call(served, "POST", "/v1.41/services/create", body={
        "Name": "lost", "TaskTemplate": {"ContainerSpec": {"Image": "nginx"}, "Networks": [{"Target": "bridge"}]}}
    )[:2] == (403, {"message": "The network bridge cannot be used with services. Only networks scoped to the swarm "
                               "can be used, such as those created with the overlay driver."})  # cluster/networks.go
    docker(served, config_dir, "service", "rm", "api")
    docker(served, config_dir, "network", "rm", "backend")


def test_secrets_and_configs(served, config_dir, tmp_path):
    site = tmp_path / "site.conf"
    site.write_text("server { listen 80; }\n")
    password = tmp_path / "password.txt"
    password.write_text("s3cret")
    secret_id = docker(served, config_dir, "secret", "create", "db_password", str(password)).stdout.strip()
    docker(served, config_dir, "config", "create", "site", str(site))
    listed = docker(served, config_dir, "secret", "ls", "--format", "{{.ID}} {{.Name}}").stdout.split()
    assert listed == [secret_id, "db_password"]
    assert "Data" not in docker(served, config_dir, "secret", "inspect", "-f", "{{json .Spec}}", "db_password").stdout
    assert docker(served, config_dir, "config", "inspect", "--pretty", "site").stdout.rstrip().endswith(
        "server { listen 80; }")
    docker(served, config_dir, "service", "create", "-d", "--name", "db", "--secret", "db_password", "--config",
           "src=site,target=/etc/nginx/conf.d/site.conf", "redis:7")
    busy = docker(served, config_dir, "secret", "rm", "db_password", check=False)
    # swarmkit controlapi/secret.go RemoveSecret
    assert "rpc error: code = InvalidArgument desc = secret 'db_password' is in use by the following service: db" \
        in busy.stderr
    dup = call(served, "POST", "/v1.41/secrets/create", body={"Name": "db_password", "Data": "eA=="})
    assert dup[:2] == (409, {"message": "rpc error: code = AlreadyExists desc = secret db_password already exists"})
    docker(served, config_dir, "service", "rm", "db")
    docker(served, config_dir, "secret", "rm", "db_password")
    docker(served, config_dir, "config", "rm", "site")
    gone = docker(served, config_dir, "secret", "inspect", "db_password", check=False)
    assert "Error response from daemon: secret db_password not found" in gone.stderr  # daemon/cluster/helpers.go


@pytest.mark.parametrize("body, words", [
    (b"{bad", "invalid character 'b' looking for beginning of value"),
    (b"[1]", "json: cannot unmarshal array into Go value of type swarm.SecretSpec"),
    (b'{"Name": 7}', "json: cannot unmarshal number into Go struct field SecretSpec.Name of type string"),
    (b'{"Name": "x", "Data": "!!"}', "illegal base64 data at input byte 2"),
    (b'{"Name": "", "Data": "eA=="}', "rpc error: code = InvalidArgument desc = name must be provided"),
    (b'{"Name": "-x", "Data": "eA=="}', "rpc error: code = InvalidArgument desc = invalid name, only 64 "
                                        "[a-zA-Z0-9-_.] characters allowed, and the start and end character must be "
                                        "[a-zA-Z0-9]"),
    (b'{"Name": "empty"}', "rpc error: code = InvalidArgument desc = secret data must be larger than 0 and less "
                           "than 512000 bytes"),  # swarmkit api/validation/secrets.go
])
def test_secret_junk_is_a_400(served, body, words):
    assert call(served, "POST", "/v1.41/secrets/create", raw=body)[:2] == (400, {"message": words})
    config = call(served, "POST", "/v1.41/configs/create", raw=body.replace(b"secret", b"config"))
    assert config[0] == 400 and config[1]["message"]


def test_network_junk_is_a_400(served):
    for body, words in ((b'{"Name": "n", "Driver": "overlay", "Attachable": "yes"}',
                         "json: cannot unmarshal string into Go struct field NetworkCreateRequest.Attachable of type "
                         "bool"),
                        (b'{"Name": "n", "IPAM": {"Config": [{"Subnet": 5}]}}',
                         "json: cannot unmarshal number into Go struct field IPAMConfig.Subnet of type string"),
                        (b"[]", "json: cannot unmarshal array into Go value of type types.NetworkCreateRequest")):
        assert call(served, "POST", "/v1.41/networks/create", raw=body)[:2] == (400, {"message": words}), body
    assert call(served, "POST", "/v1.41/networks/create", body={"Name": "ingress", "Driver": "overlay"})[:2] == (
        403, {"message": "operation is not permitted on predefined ingress network "})  # daemon/network.go
    assert call(served, "GET", "/v1.41/networks/nope")[:2] == (404, {"message": "network nope not found"})


@pytest.mark.parametrize("binary", CLIS)
def test_a_stack_is_deployed_updated_and_removed(served, config_dir, tmp_path, binary):
    """`docker stack deploy`: the CLI turns the compose file into networks, secrets, configs and
    services itself; deploying again updates them in place."""
    (tmp_path / "site.conf").write_text("server {}\n")
    (tmp_path / "password.txt").write_text("s3cret\n")
    (tmp_path / "compose.yml").write_text(textwrap.dedent("""\
        version: "3.8"
        services:
          web:
            image: nginx:1.27
            ports: ["8091:80"]
            networks: [front]
            deploy: {replicas: 2, update_config: {parallelism: 1, delay: 2s}}
            configs: [{source: site, target: /etc/nginx/conf.d/site.conf}]
            secrets: [password]
          cache:
            image: redis:7
            networks: [front]
        networks: {front: {}}
        configs: {site: {file: ./site.conf}}
        secrets: {password: {file: ./password.txt}}
        """))
    stack = "shop" if binary == CLI else "store"

    def run(*args, check=True):
        return docker(served, config_dir, *args, binary=binary, check=check)

    out = run("stack", "deploy", "-c", str(tmp_path / "compose.yml"), stack).stdout
    for line in (f"Creating network {stack}_front", f"Creating secret {stack}_password",
                 f"Creating config {stack}_site", f"Creating service {stack}_web", f"Creating service {stack}_cache"):
        assert line in out
    assert f"{stack} 2" in run("stack", "ls", "--format", "{{.Name}} {{.Services}}").stdout
    assert wait_for(lambda: set(run("stack", "services", stack, "--format", "{{.Name}} {{.Replicas}}"
                                    ).stdout.split("\n")) >= {f"{stack}_web 2/2", f"{stack}_cache 1/1"})
    tasks = run("stack", "ps", stack, "--format", "{{.Name}}").stdout.split()
    assert sorted(tasks) == [f"{stack}_cache.1", f"{stack}_web.1", f"{stack}_web.2"]
    again = run("stack", "deploy", "-c", str(tmp_path / "compose.yml"), stack).stdout
    assert f"Updating service {stack}_web" in again
    removed = run("stack", "rm", stack).stdout
    assert f"Removing network {stack}_front" in removed and f"Removing secret {stack}_password" in removed
    assert stack not in run("stack", "ls").stdout


def test_the_managers_task_containers_are_in_docker_ps(served, config_dir):
    docker(served, config_dir, "service", "create", "-d", "--name", "spread", "--replicas", "3", "nginx:1.27")
    assert wait_for(lambda: "spread.1." in docker(served, config_dir, "ps", "--format", "{{.Names}}").stdout
                    or "spread.2." in docker(served, config_dir, "ps", "--format", "{{.Names}}").stdout
                    or "spread.3." in docker(served, config_dir, "ps", "--format", "{{.Names}}").stdout)
    row = next(r for r in docker(served, config_dir, "ps", "--format", "{{.Names}} {{.Label \"com.docker.swarm."
                                                                       "service.name\"}}").stdout.split("\n")
               if r.startswith("spread."))
    name, service = row.split()
    assert re.fullmatch(r"spread\.[123]\.[a-z0-9]{25}", name) and service == "spread"
    assert docker(served, config_dir, "ps", "--filter", "is-task=false", "--format", "{{.Names}}").stdout.strip() == ""
    docker(served, config_dir, "service", "rm", "spread")


def test_update_junk_is_a_400(served):
    made = call(served, "POST", "/v1.41/configs/create", body={"Name": "tuned", "Data": "eA=="})[1]["ID"]
    assert call(served, "POST", f"/v1.41/configs/{made}/update?version=x", body={})[0] == 400
    version = call(served, "GET", f"/v1.41/configs/{made}")[1]["Version"]["Index"]
    changed = call(served, "POST", f"/v1.41/configs/{made}/update?version={version}",
                   body={"Name": "tuned", "Data": "eQ=="})
    # swarmkit controlapi/config.go UpdateConfig
    assert changed[:2] == (400, {"message": "rpc error: code = InvalidArgument desc = only updates to Labels are "
                                            "allowed"})
    assert call(served, "POST", f"/v1.41/configs/{made}/update?version={version}",
                body={"Name": "tuned", "Labels": {"a": 2}})[0] == 400
    assert call(served, "POST", f"/v1.41/configs/{made}/update?version={version}",
                body={"Name": "tuned", "Labels": {"tier": "web"}})[0] == 200
    assert call(served, "GET", f"/v1.41/configs/{made}")[1]["Spec"]["Labels"] == {"tier": "web"}
    assert call(served, "DELETE", f"/v1.41/configs/{made}")[0] == 204
    for constraints, words in ((["node.role"], "constraint expected one operator from ==, !="),
                               (["no de==x"], "key 'no de' is invalid"),
                               (["node.role==<b>"], "value '<b>' is invalid")):
        spec = {"Name": "placed", "TaskTemplate": {"ContainerSpec": {"Image": "nginx"},
                                                   "Placement": {"Constraints": constraints}}}
        assert call(served, "POST", "/v1.41/services/create", body=spec)[:2] == (
            400, {"message": f"rpc error: code = Unknown desc = {words}"})  # swarmkit constraint.Parse
    health = {"Name": "checked", "TaskTemplate": {"ContainerSpec": {"Image": "nginx", "Healthcheck": {
        "Test": ["CMD", "true"], "Interval": 5}}}}
    assert call(served, "POST", "/v1.41/services/create", body=health)[:2] == (  # controlapi validateHealthCheck
        400, {"message": "rpc error: code = InvalidArgument desc = ContainerSpec: Interval in HealthConfig cannot be "
                         "less than 1ms"})
    assert call(served, "POST", "/v1.41/nodes/node-2/update?version=x", body={})[0] == 400
