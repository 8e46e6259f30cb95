"""labkit.console: the course's command lines, verbatim, and the real tools' output shapes."""
from __future__ import annotations

import glob
import io
import os
import re
import shutil
import subprocess

import pytest

import labkit
from labkit import console
from labkit.errors import LabkitError
from labkit.console.parse import ConsoleError, UsageError
from labkit.backends.sim.engine.state import ENGINE_VERSION

NOTES_LINES = [
    "docker swarm init",
    "docker swarm join --tocken <token>",
    "docker run my-web-server",
    "docker service create --replicas=3 <-e> <-p> <--network> my-web-server",
    "kubectl scale --replicas=2000 my-web-server",
    "kubectl run --replicas=1000 my-web-server",
    "kubectl rolling-update my-web-serve --image=web-server:2",
    "kubectl rolling-update mys-web-server --rollback",
    "kubectl run",  # a heading in the notes, but a command too
    "kubectl run hello-minikube",
    "kubectl cluster-info",
    "kubectl get nodes",
    "kubectl run my-web-app --image=my-web-app --replicas=1000",
]


@pytest.fixture(autouse=True)
def fresh_console():
    console.forget()
    yield
    console.forget()


def k8s(**kw):
    return console.use(labkit.connect("sim", flavor="kubernetes", **kw))


def header(text: str) -> list[str]:
    """The column names of a table: split on runs of 2+ spaces."""
    return re.split(r"\s{2,}", text.splitlines()[0].strip())


def columns_line_up(text: str) -> bool:
    lines = text.splitlines()
    starts = [m.start() for m in re.finditer(r"(?<=\s{2})\S", lines[0])]
    return all(len(line) <= starts[0] or line[starts[0] - 1] == " " for line in lines[1:])


# -- every command line of the course notes ------------------------------------------------------
def _notes_files() -> list[str]:
    here = os.path.dirname(os.path.abspath(__file__))
    pattern = ["..", "..", "shared", "course", "*.txt"]
    found = []
    for base in (here, os.path.join(here, "..")):
        found += glob.glob(os.path.join(base, *pattern))
    found += glob.glob("/work/shared/course/*.txt")
    return sorted(set(os.path.realpath(f) for f in found))


def test_every_command_line_of_the_notes_is_tested_here():
    files = _notes_files()
    if not files:
        pytest.skip("the course notes are not beside this checkout")
    lines = set()
    for path in files:
        for raw in open(path, encoding="utf-8"):
            text = raw.strip()
            if re.match(r"^(docker|kubectl|minikube)( [-<a-z]\S*)+$", text):
                lines.add(text)
    assert lines, "no command lines found in the notes"
    assert lines <= set(NOTES_LINES), sorted(lines - set(NOTES_LINES))


def test_notes_docker_swarm_init_turns_the_host_into_a_swarm_manager():
    out = console.run("docker swarm init")
    assert "Swarm initialized: current node (" in out and ") is now a manager." in out
    swarm = console.current("docker")
    assert swarm.flavor == "swarm" and [n.role for n in swarm.state().nodes] == ["manager"]
    token = swarm.backend.join_token("worker")
    assert f"docker swarm join --token {token} 10.10.0.2:2377" in out
    with pytest.raises(ConsoleError, match="already part of a swarm"):
        console.run("docker swarm init")


def test_notes_swarm_join_tocken_gets_did_you_mean_token_and_changes_nothing():
    console.run("docker swarm init")
    swarm = console.current("docker")
    before = swarm.state().version
    with pytest.raises(ConsoleError) as err:  # the real CLI's words
        console.run("docker swarm join --tocken <token>")
    assert err.value.message.endswith("exited with code 125: unknown flag: --tocken")
    assert "did you mean --token?" in err.value.hint
    assert swarm.backend.join_token("worker") in err.value.output  # the placeholder, explained and filled
    assert swarm.state().version == before and len(swarm.state().nodes) == 1
    # with the flag spelled right, the placeholder is filled in and a machine joins
    out = console.run("docker swarm join --token <token>")
    assert "This node joined a swarm as a worker." in out
    assert [n.name for n in swarm.state().nodes] == ["node-1", "node-2"]


def test_notes_swarm_join_tocken_before_any_swarm_still_names_the_flag():
    with pytest.raises(ConsoleError, match="unknown flag: --tocken") as err:
        console.run("docker swarm join --tocken <token>")
    assert "--token" in err.value.hint
    assert "docker swarm init" in err.value.output


def test_notes_docker_run_my_web_server_starts_a_container_in_the_background():
    out = console.run("docker run my-web-server")
    assert re.search(r"^[0-9a-f]{64}$", out, re.M)
    assert "(labkit: added -d" in out
    host = console.current("docker")
    running = [r for r in host.state().replicas if r.phase == "running"]
    assert [r.image for r in running] == ["my-web-server"]
    assert re.search(r"my-web-server .* [a-z]+_[a-z]+$", console.run("docker ps"), re.M)  # a name Docker picked


def test_notes_service_create_with_placeholders_explains_them_and_runs_without():
    console.run("docker swarm init")
    out = console.run("docker service create --replicas=3 <-e> <-p> <--network> my-web-server")
    for flag in ("-e KEY=VALUE", "-p 8080:80", "--network NAME"):
        assert flag in out
    assert "docker service create --name my-web-server --replicas=3 my-web-server" in out
    assert "verify: Service converged" in out
    swarm = console.current("docker")
    w = swarm.state().workload("my-web-server")
    assert (w.desired, w.ready) == (3, 3)


def test_notes_kubectl_scale_without_kind_is_explained_and_scales_the_deployment():
    c = k8s()
    c.deploy("my-web-server", "web-server:1", 3)
    c.wait()
    out = console.run("kubectl scale --replicas=2000 my-web-server")
    assert "needs the kind of object" in out
    assert "kubectl scale --replicas=2000 deployment/my-web-server" in out
    assert out.endswith("deployment.apps/my-web-server scaled")
    assert c.state().workload("my-web-server").desired == 2000


def test_notes_kubectl_run_replicas_explains_the_removal_and_creates_a_deployment():
    c = k8s()
    out = console.run("kubectl run --replicas=1000 my-web-server")
    for fact in ("v1.18", "v1.21", "v1.12", "generators", "one Pod"):
        assert fact in out.replace("\n", " ")
    assert "kubectl create deployment my-web-server --image=my-web-server --replicas=1000" in out
    assert out.endswith("deployment.apps/my-web-server created")
    assert c.state().workload("my-web-server").desired == 1000


def test_notes_kubectl_run_replicas_scales_when_the_deployment_exists():
    c = k8s()
    c.deploy("my-web-server", "web-server:1", 3)
    out = console.run("kubectl run --replicas=1000 my-web-server")
    assert "kubectl scale deployment/my-web-server --replicas=1000" in out
    assert c.state().workload("my-web-server").desired == 1000


def test_notes_rolling_update_typo_gets_did_you_mean_and_changes_nothing():
    """The notes' typo names no deployment: labkit says which one it may mean and shows the modern
    line for it, but never acts on an object the student did not name."""
    c = k8s()
    c.deploy("my-web-server", "web-server:1", 3)
    c.wait()
    out = console.run("kubectl rolling-update my-web-serve --image=web-server:2")
    flat = out.replace("\n", " ")
    assert "removed in v1.18" in flat and "v1.11" in flat
    assert 'There is no deployment "my-web-serve": did you mean my-web-server?' in flat
    assert "kubectl set image deployment/my-web-server my-web-server=web-server:2" in out
    assert "not run" in out and "successfully rolled out" not in out
    assert c.state().workload("my-web-server").image == "web-server:1"
    out = console.run("kubectl rolling-update my-web-server --image=web-server:2")  # named: it runs
    assert 'deployment "my-web-server" successfully rolled out' in out
    w = c.state().workload("my-web-server")
    assert (w.image, w.updated, w.available) == ("web-server:2", 3, 3)


def test_notes_rolling_update_rollback_becomes_rollout_undo():
    c = k8s()
    c.deploy("my-web-server", "web-server:1", 3)
    c.wait()
    c.workload("my-web-server").update("web-server:2")
    c.wait()
    out = console.run("kubectl rolling-update mys-web-server --rollback")  # the notes' typo: shown, not run
    assert "kubectl rollout undo deployment/my-web-server" in out and "not run" in out
    assert c.state().workload("my-web-server").image == "web-server:2"
    out = console.run("kubectl rolling-update my-web-server --rollback")
    assert "kubectl rollout undo deployment/my-web-server" in out
    assert out.endswith("deployment.apps/my-web-server rolled back")
    c.wait()
    assert c.state().workload("my-web-server").image == "web-server:1"


def test_notes_kubectl_run_hello_minikube_adds_the_image_and_runs_a_pod():
    c = k8s()
    out = console.run("kubectl run hello-minikube")
    assert "--image" in out and "kubectl run hello-minikube --image=hello-minikube" in out
    assert out.endswith("pod/hello-minikube created")
    c.run(5)
    pod = next(r for r in c.state().replicas if r.name == "hello-minikube")
    assert pod.phase == "running"


def test_notes_kubectl_run_alone_is_kubectls_own_error():
    k8s()
    with pytest.raises(ConsoleError) as err:
        console.run("kubectl run")
    assert 'error: required flag(s) "image" not set' in err.value.message


def test_notes_kubectl_cluster_info():
    c = k8s()
    out = console.run("kubectl cluster-info")
    port = c.backend.served_api.port
    assert out.splitlines()[0] == f"Kubernetes control plane is running at https://127.0.0.1:{port}"
    assert "kubectl cluster-info dump" in out


def test_notes_kubectl_get_nodes():
    k8s()
    out = console.run("kubectl get nodes")
    assert header(out) == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["control-plane", "node-1", "node-2", "node-3"]
    assert "control-plane   Ready    control-plane" in out


def test_notes_kubectl_run_my_web_app_with_image_and_replicas():
    c = k8s()
    out = console.run("kubectl run my-web-app --image=my-web-app --replicas=1000")
    assert "kubectl create deployment my-web-app --image=my-web-app --replicas=1000" in out
    assert c.state().workload("my-web-app").desired == 1000


def test_translation_is_shown_not_run_when_the_student_says_never():
    c = k8s()
    console.configure(translate="never")
    out = console.run("kubectl run --replicas=1000 my-web-server")
    assert "not run" in out and c.state().workloads == ()
    with pytest.raises(UsageError):
        console.configure(translate="sometimes")


# -- output shapes ------------------------------------------------------------------------------------
def test_kubectl_table_shapes():
    c = k8s()
    console.run("kubectl create deployment web --image=web-server:1 --replicas=3")
    c.run(12)
    pods = console.run("kubectl get pods")
    assert header(pods) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert all(re.match(r"^web-\S+\s+1/1\s+Running\s+0\s+12s$", line) for line in pods.splitlines()[1:])
    assert columns_line_up(pods)
    wide = console.run("kubectl get pods -o wide")
    assert header(wide) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                            "READINESS GATES"]
    assert re.search(r"10\.244\.\d+\.\d+\s+node-\d", wide)
    deployments = console.run("kubectl get deployments")
    assert header(deployments) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert re.match(r"^web\s+3/3\s+3\s+3\s+12s$", deployments.splitlines()[1])
    assert header(console.run("kubectl get rs")) == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert header(console.run("kubectl get events")) == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert header(console.run("kubectl get nodes -o wide"))[:7] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION",
                                                                   "INTERNAL-IP", "EXTERNAL-IP"]
    assert console.run("kubectl get deploy web -o name") == "deployment.apps/web"
    assert '"kind": "Deployment"' in console.run("kubectl get deployment web -o json")


def test_docker_table_shapes():
    console.run("docker swarm init")
    console.run("docker swarm join --token <token>")
    console.run("docker service create --name web --replicas 2 -p 8080:80 web-server:1")
    assert header(console.run("docker service ls")) == ["ID", "NAME", "MODE", "REPLICAS", "IMAGE", "PORTS"]
    assert re.search(r"^[a-z0-9]{12}\s+web\s+replicated\s+2/2\s+web-server:1\s+\*:8080->80/tcp$",
                     console.run("docker service ls"), re.M)
    tasks = console.run("docker service ps web")
    assert header(tasks) == ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"]
    assert re.search(r"web\.1\s+web-server:1\s+node-\d\s+Running\s+Running (\d+ seconds?|Less than a second) ago", tasks)
    nodes = console.run("docker node ls")
    assert header(nodes) == ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"]
    assert re.search(r"^[a-z0-9]{25} \*\s+node-1\s+Ready\s+Active\s+Leader\s+" + re.escape(ENGINE_VERSION) + "$", nodes, re.M)
    ps = console.run("docker ps")
    assert header(ps) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert '"sh -c \'trap \'exit 0…"' in ps


def test_docker_empty_ps_matches_the_real_header_exactly():
    assert console.run("docker ps") == "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES"


def test_ages_come_from_simulated_time_and_repeat():
    def session() -> str:
        console.forget()
        c = k8s()
        console.run("kubectl create deployment web --image=web-server:1 --replicas=2")
        c.run(125)
        return console.run("kubectl get pods") + console.run("kubectl get deploy")
    first, second = session(), session()
    assert first == second and "2m5s" in first


# -- rollouts -----------------------------------------------------------------------------------------
def test_rollout_status_advances_time_and_prints_kubectls_progress():
    def session():
        console.forget()
        c = k8s()
        c.deploy("web", "web-server:1", 3)
        c.wait()
        console.run("kubectl set image deployment/web web=web-server:2")
        start = c.now()
        out = console.run("kubectl rollout status deployment/web")
        return c, start, out, c.now()
    c, start, out, end = session()
    lines = out.splitlines()
    assert lines[-1] == 'deployment "web" successfully rolled out'
    assert all(line.startswith('Waiting for deployment "web" rollout to finish: ') for line in lines[:-1])
    assert len(lines) >= 2
    assert end > start
    w = c.state().workload("web")
    assert (w.image, w.updated, w.available) == ("web-server:2", 3, 3)
    again = session()  # the clock moves by the same steps on every run
    assert (again[2], again[3]) == (out, end)
    history = console.run("kubectl rollout history deployment/web")
    assert history.splitlines()[:3] == ["deployment.apps/web ", "REVISION  CHANGE-CAUSE", "1         <none>"]
    assert "Image:\tweb-server:2" in console.run("kubectl rollout history deployment/web --revision=2")
    assert console.run("kubectl rollout pause deployment/web") == "deployment.apps/web paused"
    with pytest.raises(ConsoleError, match="already paused"):
        console.run("kubectl rollout pause deployment/web")
    assert console.run("kubectl rollout resume deploy/web") == "deployment.apps/web resumed"
    assert console.run("kubectl rollout undo deployment/web --to-revision=1") == "deployment.apps/web rolled back"


def test_rollout_status_of_a_stuck_rollout_ends_with_the_deadline_error():
    c = k8s(nodes=1)
    c.deploy("web", "web-server:1", 2)
    c.wait()
    console.run("kubectl set image deployment/web web=does-not-exist:9")
    with pytest.raises(ConsoleError, match='deployment "web" exceeded its progress deadline') as err:
        console.run("kubectl rollout status deployment/web")
    assert "Waiting for deployment" in err.value.output
    assert "ErrImagePull" in console.run("kubectl get pods") or "ImagePullBackOff" in console.run("kubectl get pods")


# -- nodes, pods, describe ---------------------------------------------------------------------------------
def test_cordon_drain_uncordon_and_delete_pod():
    c = k8s()
    c.deploy("web", "web-server:1", 3)
    c.wait()
    assert console.run("kubectl cordon node-1") == "node/node-1 cordoned"
    assert "SchedulingDisabled" in console.run("kubectl get nodes")
    out = console.run("kubectl drain node-2 --ignore-daemonsets")
    assert out.splitlines()[0] == "node/node-2 cordoned" and out.endswith("node/node-2 drained")
    assert "evicting pod default/web-" in out
    c.wait()
    assert "node-2" not in {r.node for r in c.state().replicas}  # node-1 is cordoned: its pod stays
    assert console.run("kubectl uncordon node-1") == "node/node-1 uncordoned"
    pod = sorted(r.name for r in c.state().replicas)[0]
    assert console.run(f"kubectl delete pod {pod}") == f'pod "{pod}" deleted from default namespace'
    c.wait()
    assert len(c.state().replicas) == 3 and pod not in {r.name for r in c.state().replicas}


def test_drain_refuses_bare_pods_without_force():
    c = k8s(nodes=1)
    console.run("kubectl run solo --image=web-server:1")
    c.run(3)
    with pytest.raises(ConsoleError, match="cannot delete Pods that declare no controller"):
        console.run("kubectl drain node-1")
    with pytest.raises(ConsoleError, match=r"cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets"):
        console.run("kubectl drain node-1 --force")  # kube-proxy runs on every node, as on minikube
    out = console.run("kubectl drain node-1 --force --ignore-daemonsets")
    assert "deleting Pods that declare no controller" in out and "ignoring DaemonSet-managed Pods" in out


def test_describe_deployment_pod_and_node():
    c = k8s()
    c.deploy("web", "web-server:1", 2)
    c.wait()
    text = console.run("kubectl describe deployment web")
    assert "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable" in text
    assert "RollingUpdateStrategy:  25% max unavailable, 25% max surge" in text
    assert "NewReplicaSet:   web-" in text and "ScalingReplicaSet" in text
    pod = c.state().replicas[0].name
    assert re.search(rf"^Name:\s+{pod}$", console.run(f"kubectl describe pod {pod}"), re.M)
    assert "Non-terminated Pods:" in console.run("kubectl describe node node-1")


@pytest.mark.parametrize("component, says, hint", [
    ("api-server", "The connection to the server 127.0.0.1:{port} was refused", "start_component('api-server')"),
    ("etcd", "etcdserver: request timed out", "etcd is stopped"),
])
def test_a_stopped_control_plane_answers_kubectl_as_a_real_one(component, says, hint):
    c = k8s()
    c.deploy("web", "web-server:1", 2)
    console.run("kubectl get nodes")  # served from here on
    c.stop_component(component)
    with pytest.raises(ConsoleError, match=says.format(port=c.backend.served_api.port)) as err:
        console.run("kubectl scale deployment web --replicas=3")
    assert hint in err.value.hint
    c.start_component(component)
    assert console.run("kubectl scale deployment web --replicas=3") == "deployment.apps/web scaled"


def test_namespaces_and_the_control_planes_pods():
    c = k8s()
    system = console.run("kubectl get pods -n kube-system")
    assert re.search(r"^kube-scheduler-control-plane\s+1/1\s+Running", system, re.M) and "etcd-control-plane" in system
    c.stop_component("scheduler")
    assert re.search(r"^kube-scheduler-control-plane\s+0/1\s+Error", console.run("kubectl get pods -n kube-system"),
                     re.M)
    assert "CoreDNS is running at https://127.0.0.1:" in console.run("kubectl cluster-info")
    assert console.run("kubectl -n other get pods") == "No resources found in other namespace."
    assert console.run("kubectl get pods") == "No resources found in default namespace."
    assert console.run("kubectl create namespace other") == "namespace/other created"
    console.run("kubectl create deployment web --image=web-server:1 -n other")
    assert console.run("kubectl get deployments") == "No resources found in default namespace."
    assert console.run("kubectl get deployments -n other -o name") == "deployment.apps/web"


# -- minikube -------------------------------------------------------------------------------------------
def test_minikube_status_stop_start_and_nodes():
    c = k8s()
    assert "Done! kubectl is now configured" in console.run("minikube start")
    status = console.run("minikube status")
    assert "control-plane\ntype: Control Plane\nhost: Running\nkubelet: Running\napiserver: Running" in status
    out = console.run("minikube node add")
    assert "Successfully added node-4 to minikube!" in out and "node-4" in c.nodes
    assert "Successfully stopped node node-2" in console.run("minikube node stop node-2")
    c.run(60)
    assert "node-2          NotReady" in console.run("kubectl get nodes")
    console.run("minikube stop")
    assert "apiserver: Stopped" in console.run("minikube status")
    with pytest.raises(ConsoleError, match="was refused"):
        console.run("kubectl get nodes")
    console.run("minikube start")
    assert "Ready" in console.run("kubectl get nodes")


# -- containers ----------------------------------------------------------------------------------------------
def test_docker_container_lifecycle():
    console.run("docker run -d --name web --restart always web-server:1")
    assert re.search(r"Up \S+", console.run("docker ps"))
    assert console.run("docker stop web") == "web"
    assert "Exited (0)" in console.run("docker ps -a") and console.run("docker ps").count("\n") == 0
    console.run("docker start web")
    console.run("docker kill web")
    assert "Exited (137)" in console.run("docker ps -a")  # killed by hand: restart=always stays quiet
    with pytest.raises(ConsoleError, match="No such container: wbe") as err:
        console.run("docker rm wbe")
    assert "did you mean web?" in err.value.hint
    assert console.run("docker rm web") == "web"
    with pytest.raises(ConsoleError, match="Conflict"):
        console.run("docker run -d --name twice web-server:1 && docker run -d --name twice web-server:1")


def test_service_update_rollback_scale_rm():
    console.run("docker swarm init")
    console.run("docker swarm join --token <token>")
    console.run("docker service create --name web --replicas 3 --update-parallelism 1 --update-delay 2s web-server:1")
    out = console.run("docker service update --image web-server:2 web")
    assert "web" in out.splitlines() and out.endswith("verify: Service converged")
    swarm = console.current("docker")
    assert swarm.state().workload("web").image == "web-server:2"
    out = console.run("docker service rollback web")
    assert "rollback: manually requested rollback" in out
    assert "overall progress: rolling back update: 3 out of 3 tasks" in out
    assert console.run("docker service scale web=5").startswith("web scaled to 5")
    assert swarm.state().workload("web").ready == 5
    assert console.run("docker node update --availability drain node-2") == "node-2"
    assert "Drain" in console.run("docker node ls")
    assert console.run("docker service rm web") == "web"
    assert console.run("docker service ls").count("\n") == 0


def test_unnamed_service_gets_a_docker_style_name():
    console.run("docker swarm init")
    console.run("docker service create -d web-server:1")
    assert re.search(r"^\w{12}\s+[a-z]+_[a-z]+\s+replicated", console.run("docker service ls"), re.M)


# -- the parser and its messages ------------------------------------------------------------------------------
@pytest.mark.parametrize("line, message", [
    ("kubectl get pods --bogus", "error: unknown flag: --bogus"),
    ("kubectl scale --replicas=abc deploy/x",
     'error: invalid argument "abc" for "--replicas" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
    ("docker service create", '"docker service create" requires at least 1 argument.'),
    ("docker run -x img", "unknown shorthand flag: 'x' in -x\nSee 'docker run --help'."),
    ("docker foo", "docker: 'foo' is not a docker command."),
    ("kubectl foo", 'error: unknown command "foo" for "kubectl"'),
    ("kubectl get pods 'unclosed", "unexpected end of line"),
    ("kubectl scale deploy/x --replicas=99999999999", 'deployments.apps "x" not found'),
    ("docker service create --replicas=-3 img", "strconv.ParseUint"),
    ("kubeclt get pods", "kubeclt: command not found"),
    ("kubectl get pods | grep web", "pipes"),
    ("docker service create --update-delay 10 img", 'missing unit in duration "10"'),
])
def test_mistakes_get_the_tools_messages(line, message):
    k8s()
    with pytest.raises(ConsoleError) as err:  # the tool's own words, or the console's for what it refuses
        console.run(line)
    assert message in err.value.message or message in getattr(err.value, "output", "")


def test_absurd_replica_counts_are_refused_by_the_facade():
    c = k8s()
    c.deploy("web", "web-server:1", 1)
    with pytest.raises(ConsoleError, match="at most 200000 replicas"):
        console.run("kubectl scale deploy/web --replicas=2000000")
    with pytest.raises(ConsoleError, match="cannot unmarshal number 99999999999 into Go struct field ScaleSpec"):
        console.run("kubectl scale deploy/web --replicas=99999999999")
    assert c.state().workload("web").desired == 1


def test_not_found_names_suggest_the_closest():
    c = k8s()
    c.deploy("my-web-server", "web-server:1", 1)
    with pytest.raises(ConsoleError) as err:
        console.run("kubectl scale deployment/my-web-serve --replicas=2")
    assert err.value.message.endswith('Error from server (NotFound): deployments.apps "my-web-serve" not found')
    assert err.value.hint == "did you mean my-web-server?"


def test_help_is_printed_not_raised():
    k8s()
    assert "Usage:  docker service create [OPTIONS] IMAGE" in console.run("docker service create --help")
    assert "--replicas" in console.run("kubectl scale -h")
    assert "rollout" in console.run("kubectl --help")


def test_sh_prints_errors_without_a_traceback(capsys):
    k8s()
    console.sh("kubectl get pods --bogus")
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "error: unknown flag: --bogus"  # kubectl's words, once
    assert "unknown flag" not in captured.err and captured.err.startswith("  hint: ")
    assert "Traceback" not in captured.err + captured.out
    console.sh("kubectl get nodes")
    assert "control-plane" in capsys.readouterr().out


def test_cell_runs_lines_in_order_and_stops_at_the_first_error(capsys):
    k8s()
    ok = console.run_cell("# a comment\nkubectl create deployment web \\\n  --image=web-server:1\n"
                          "kubectl get deploy nope\nkubectl get nodes\n")
    out = capsys.readouterr()
    assert not ok
    assert "$ kubectl create deployment web --image=web-server:1" in out.out
    assert "deployment.apps/web created" in out.out and '"nope" not found' in out.out
    assert out.err.startswith("  hint: ") and "$ kubectl get nodes" not in out.out


def test_ipython_magics_and_error_display():
    IPython = pytest.importorskip("IPython")
    from IPython.testing.globalipapp import start_ipython
    ip = start_ipython() or IPython.get_ipython()
    console.load_ipython_extension(ip)
    for name in ("docker", "kubectl", "minikube"):
        assert name in ip.magics_manager.magics["line"]
    assert "labkit" in ip.magics_manager.magics["cell"]
    k8s()
    from IPython.utils.capture import capture_output
    with capture_output() as cap:
        ip.run_line_magic("kubectl", "get nodes")
        ip.run_cell_magic("labkit", "", "kubectl get nodes\nkubectl get pods")
        ip.run_cell("import labkit; labkit.connect('nope')")
    assert "control-plane" in cap.stdout and "$ kubectl get pods" in cap.stdout
    assert "unknown backend" in cap.stdout + cap.stderr
    assert "Traceback" not in cap.stdout + cap.stderr


# -- the real path (plain local Docker engine) ----------------------------------------------------------------
def _docker_ok() -> bool:
    if not shutil.which("docker") and not os.path.exists("/usr/bin/docker"):
        return False
    try:
        return subprocess.run(["/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker", "info"],
                              capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.docker
@pytest.mark.skipif(not _docker_ok(), reason="no Docker engine")
def test_real_docker_run_and_ps_through_the_console():
    c = labkit.connect("docker", lab="console-test", reaper=False)
    try:
        console.use(c)
        out = console.run("docker run --name lkconsole-web web-server:1")
        assert "added -d" in out and re.search(r"^[0-9a-f]{64}$", out, re.M)
        listing = console.run("docker ps --filter name=lkconsole-web")
        assert header(listing) == ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
        assert "lkconsole-web" in listing
        assert [r.name for r in c.state().replicas] == ["lkconsole-web"]  # labelled: labkit sees it as its own
        with pytest.raises(ConsoleError, match="exited with code 1") as err:
            console.run("docker rm lkconsole-nope")
        assert "No such container" in err.value.output
        # the notes' placeholders are explained, and nothing runs on a real engine without consent
        note = console.run("docker service create --replicas=3 <-e> <-p> <--network> my-web-server")
        assert "not run on a real cluster without your consent" in note
        assert "docker service create --name my-web-server --replicas=3 my-web-server" in note
    finally:
        c.reset()
        c.close()
    assert subprocess.run(["/usr/bin/docker", "ps", "-aq", "--filter", "name=lkconsole-web"],
                          capture_output=True, text=True).stdout.strip() == ""


@pytest.mark.docker
@pytest.mark.skipif(not _docker_ok(), reason="no Docker engine")
def test_the_real_cli_finds_a_demo_image_built_first_and_a_missing_one_is_explained(capfd):
    """A fresh machine: `docker run web-server:2` before anything built it builds it first
    (with progress); an image nobody can provide says which, that no registry answered, what to do."""
    c = labkit.connect("docker", lab="console-images", reaper=False)
    engine = c.backend.client
    try:
        console.use(c)
        engine.images.remove("web-server:2", force=True)  # as on a machine where labkit built nothing yet
        out = console.run("docker run --name lkconsole-v2 web-server:2")
        assert re.search(r"^[0-9a-f]{64}$", out, re.M)
        assert "building web-server:2" in capfd.readouterr().out  # the progress display
        assert "web-server:2" in engine.containers.get("lkconsole-v2").image.tags  # (and web-server:latest)
        with pytest.raises(ConsoleError) as err:
            console.run("docker run --name lkconsole-ghost no-such-image:1")
        assert "Unable to find image 'no-such-image:1' locally" in err.value.message
        assert "--help" not in err.value.message
        assert "no registry" in err.value.hint and "docker build -t no-such-image:1 ." in err.value.hint
        assert "web-server:1" in err.value.hint
        assert not engine.containers.list(all=True, filters={"name": "lkconsole-ghost"})  # nothing half made
    finally:
        c.reset()
        c.close()


def test_a_line_runs_as_a_shell_runs_it():
    c = k8s()
    with pytest.raises(UsageError, match="command not found"):  # the console's own check: nothing runs
        console.run("kubectl create deployment a --image=web-server:1 ; ls")
    assert c.state().workloads == ()
    with pytest.raises(ConsoleError, match="unknown flag: --bogus"):  # kubectl judges itself, as in a shell
        console.run("kubectl create deployment a --image=web-server:1 && kubectl get pods --bogus")
    assert [w.name for w in c.state().workloads] == ["a"]
    out = console.run("kubectl create deployment b --image=web-server:1 && kubectl get deploy b -o name")
    assert out.splitlines() == ["deployment.apps/b created", "deployment.apps/b"]


def test_watch_prints_changes_in_simulated_time():
    c = k8s()
    console.run("kubectl create deployment web --image=web-server:1 --replicas=2")
    out = console.run("kubectl get pods -w")  # ends once the cluster has converged
    lines = out.splitlines()
    assert header(out) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert "ContainerCreating" in lines[1] and out.count("Running") >= 2
    assert c.state().workload("web").ready == 2 and c.now() > 0


def test_get_all_and_node_ps():
    c = k8s()
    c.deploy("web", "web-server:1", 1)
    c.wait()
    out = console.run("kubectl get all")
    assert "pod/web-" in out and "deployment.apps/web" in out and "replicaset.apps/web-" in out
    console.forget()
    console.run("docker swarm init")
    console.run("docker service create --name web web-server:1")
    assert "web.1" in console.run("docker node ps")


def test_real_kubectl_and_minikube_lines_point_at_labkits_context_and_profile():
    """No Kubernetes cluster runs here: this checks the command line the console would run."""
    from types import SimpleNamespace

    from labkit.console import real
    from labkit.console.shell import Context, Session
    if not shutil.which("kubectl"):
        pytest.skip("no kubectl")
    from labkit.backends.kubernetes.backend import KubernetesBackend
    context = SimpleNamespace(name="minikube", files=("/tmp/kubeconfig-a", "/tmp/kubeconfig-b"))
    made = []
    kube = SimpleNamespace(context=context, namespace="labkit", ensure_namespace=lambda: made.append("labkit"))
    backend = SimpleNamespace(cli_target=lambda tool: KubernetesBackend.cli_target(kube, tool))  # backends.base.Commands
    ctx = Context("kubectl", SimpleNamespace(backend=backend, flavor="kubernetes"), print, Session())
    command, env, _notes = real.prepare(ctx, ["get", "pods"])
    assert command[1:] == ["-n", "labkit", "--context", "minikube", "get", "pods"]
    assert env["KUBECONFIG"] == os.pathsep.join(context.files) and made == ["labkit"]
    command, _env, _notes = real.prepare(ctx, ["get", "nodes", "-A"])
    assert "-n" not in command
    args, notes = real.docker_args(["run", "web-server:1"], "lab")
    assert args == ["run", "--label", "io.labkit=lab", "--label", "io.labkit.kind=container", "-d", "web-server:1"]
    args, _ = real.docker_args(["service", "create", "--name", "web", "web-server:1"], "lab")
    assert "io.labkit.workload=web" in args and args[-3:] == ["--name", "web", "web-server:1"]


def test_watching_a_cluster_that_never_settles_ends_after_two_minutes_of_it():
    c = k8s()
    c.deploy("crashy", "web-server:broken", 1)
    out = console.run("kubectl get pods -w")
    assert out.splitlines()[-1] == "(labkit: stopped after 120 s of cluster time)"
    assert "CrashLoopBackOff" in out or "Error" in out
    assert 120 <= c.now() < 130


def test_a_swarm_without_a_majority_of_managers_answers_in_mobys_words():
    """moby's errNoLeader for every command the managers' Raft store answers (docker node ls as
    well as service scale); the local daemon still answers `docker ps`; the terminal moves to a
    manager that is on, as the real backend's does."""
    c = console.use(labkit.connect("sim", flavor="swarm", nodes=5, managers=3))
    c.deploy("web", "web-server:1", replicas=3)
    c.wait()
    c.fail_node("node-1")
    c.run(30)
    listing = console.run("docker node ls")
    assert re.search(r"\* +node-2 +Ready +Active +Leader", listing) and re.search(r"node-1 +Down .*Unreachable", listing)
    c.fail_node("node-2")
    c.run(30)
    for line in ("docker node ls", "docker service scale web=5", "docker service ps web"):
        with pytest.raises(ConsoleError) as error:
            console.run(line)
        assert ("Error response from daemon: rpc error: code = Unknown desc = The swarm does not have a leader. "
                "It's possible that too few managers are online.") in error.value.message
        assert "recover_node('node-1')" in error.value.hint
    assert "web-server:1" in console.run("docker ps")
    assert c.workload("web").status().desired == 3


def test_with_its_only_manager_off_no_docker_daemon_answers():
    c = console.use(labkit.connect("sim", flavor="swarm", nodes=3, managers=1))
    c.fail_node("node-1")
    for line in ("docker node ls", "docker ps"):
        with pytest.raises(ConsoleError, match=r"Cannot connect to the Docker daemon at unix://.*Is the docker daemon"):
            console.run(line)


def test_docker_ps_dates_an_exit_from_the_exit_and_a_lost_host_as_exited_255():
    c = console.use(labkit.connect("sim", flavor="docker"))
    c.run(100)
    console.run("docker run -d --name once web-server:broken")
    console.run("docker run -d --name w1 web-server:1")
    c.run(30)
    assert re.search(r"Exited \(1\) 2\d seconds ago +once", console.run("docker ps -a"))
    c.fail_node("docker-host")
    c.run(60)
    c.recover_node("docker-host")
    c.run(5)
    listing = console.run("docker ps -a")
    assert re.search(r"Exited \(255\) 5 seconds ago +w1", listing), listing


def test_a_canarys_pods_carry_the_stable_app_label_so_one_service_reaches_both():
    """Lesson 04: the canary pattern of the Kubernetes docs (Managing Resources, canary
    deployments): both deployments' pods are app=<name>, the canary's also track=canary."""
    c = k8s(nodes=3)
    web = c.deploy("my-web-server", "web-server:1", replicas=8)
    c.wait()
    web.canary("web-server:2", percent=25)
    c.wait()
    console.run("kubectl create service clusterip my-web-server --tcp=80:80")
    c.run(1)
    tracks = console.run("kubectl get pods -l app=my-web-server -L track --no-headers").splitlines()
    assert len(tracks) == 8 and sum(line.split()[-1] == "canary" for line in tracks) == 2
    addresses = console.run("kubectl get endpointslices -l kubernetes.io/service-name=my-web-server "
                            "-o jsonpath={.items[0].endpoints[*].addresses[0]}").split()
    pods = console.run("kubectl get pods -l app=my-web-server -o jsonpath={.items[*].status.podIP}").split()
    assert sorted(addresses) == sorted(pods) and len(pods) == 8


def test_docker_service_ps_writes_durations_in_lower_case_as_the_cli_does():
    c = console.use(labkit.connect("sim", flavor="swarm", nodes=3))
    c.deploy("web", "web-server:1", replicas=1)
    c.wait()
    assert re.search(r"Running +Running (less than a second|\d+ seconds) ago", console.run("docker service ps web"))
    c.run(90)
    assert "Running about a minute ago" in console.run("docker service ps web")


def test_leases_are_the_heartbeats_a_stopped_kubelet_no_longer_renews():
    """pkg/kubelet/nodelease: a node's Lease in kube-node-lease, 40 s long, renewed every 10 s;
    the leader leases of the controller manager and the scheduler in kube-system (2 s retries)."""
    from datetime import datetime
    c = k8s(nodes=2)
    c.run(30)
    assert console.run("kubectl get leases -n kube-node-lease -o name").split() == [
        "lease.coordination.k8s.io/control-plane", "lease.coordination.k8s.io/node-1", "lease.coordination.k8s.io/node-2"]

    def renewed() -> dict[str, float]:
        out = console.run("kubectl get leases -A -o 'jsonpath={range .items[*]}{.metadata.name}={.spec.renewTime} {end}'")
        return {k: datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp() for k, v in
                (pair.split("=") for pair in out.split())}
    assert console.run("kubectl get lease node-1 -n kube-node-lease -o jsonpath={.spec.leaseDurationSeconds}") == "40"
    assert "renewTime is a time when the current holder" in console.run("kubectl explain lease.spec.renewTime")
    before = renewed()  # the renewals of one listing, against each other (the clock behind them moves)
    assert abs(before["node-1"] - before["node-2"]) < 10 and abs(before["kube-scheduler"] - before["kube-controller-manager"]) < 2
    c.stop_component("kubelet", node="node-1")
    c.stop_component("scheduler")
    c.run(60)
    after = renewed()
    assert after["node-2"] - after["node-1"] >= 50 and after["kube-controller-manager"] - after["kube-scheduler"] >= 58


def test_one_error_display_with_or_without_the_magics(capsys):
    """notebook.show: the notebook's handler, the magics' and the console's print the same thing;
    a tool's error in its own words, the Python API's with its kind, the hint indented under it."""
    from IPython.core.interactiveshell import InteractiveShell

    from labkit import notebook
    from labkit.console import magics
    from labkit.errors import InvalidInput
    error = InvalidInput("replicas cannot be negative (-1)", "use 0 to stop every replica")
    notebook.show_error(None, InvalidInput, error, None)
    assert capsys.readouterr().err == "InvalidInput: replicas cannot be negative (-1)\n  hint: use 0 to stop every replica\n"
    shell = InteractiveShell.instance()
    magics.register(shell)
    shell.run_cell("import labkit; labkit.connect('sim').deploy('web', 'web-server:1', replicas=-1)")
    assert capsys.readouterr().err == ("InvalidInput: replicas cannot be negative (-1)\n"
                                       "  hint: use 0 to stop every replica but keep the workload\n")
    stream = io.StringIO()
    console.show_error(error, stream)
    assert stream.getvalue() == "InvalidInput: replicas cannot be negative (-1)\n  hint: use 0 to stop every replica\n"
    stream = io.StringIO()
    console.show_error(ConsoleError("Error response from daemon: No such service: web", "see docker service ls"), stream)
    assert stream.getvalue() == "Error response from daemon: No such service: web\n  hint: see docker service ls\n"


def test_published_ports_reach_the_routing_mesh_and_carry_traffic():
    """`docker service create -p` and `--publish-add` publish through the mesh: `service ls` shows
    them, traffic reaches the service, and a taken port is refused before anything is made."""
    swarm = console.use(labkit.connect("sim", flavor="swarm", nodes=3))
    console.run("docker service create --name web -p 8080:80 --replicas 3 web-server:1")
    with pytest.raises(LabkitError, match=r"port '8080' is already in use by service 'web' \(\w+\) as an ingress port"):
        console.run("docker service create --name other -p 8080:80 web-server:1")
    assert [w.name for w in swarm.state().workloads] == ["web"]  # nothing half made
    console.run("docker service create --name other web-server:1")
    console.run("docker service update --publish-add 8081:80 other")
    console.run("docker service update --publish-add 8081:80 other")  # again: no change, no error
    with pytest.raises(LabkitError, match="port '8080' is already in use by service 'web'"):
        console.run("docker service update --publish-add 8080:80 --publish-add 8082:80 other")
    listed = console.run("docker service ls")
    assert "*:8080->80/tcp" in listed and "*:8081->80/tcp" in listed and "8082" not in listed  # nothing half made
    swarm.run(3)  # the demo images listen 2 s after they start
    sent = swarm.traffic("other", rate=10, seconds=5)
    swarm.run(5)
    assert (len(sent.requests), sent.failed, sent.service.port) == (50, 0, 8081)


def test_a_service_with_a_health_command_starts_when_healthy_at_its_interval():
    """`--health-cmd` makes a healthcheck; Docker runs it every 30 s unless `--health-interval`
    says otherwise, and a task is Starting until it passes (the demo images listen after 2 s)."""
    swarm = console.use(labkit.connect("sim", flavor="swarm", nodes=2))
    check = '--health-cmd "wget -q -O /dev/null http://127.0.0.1/ready"'
    console.run(f"docker service create -d --name quick {check} --health-interval 1s --replicas 2 web-server:1")
    console.run(f"docker service create -d --name slow {check} --replicas 2 web-server:1")
    # an interval without a command: Docker accepts it (the image's own check, none here, keeps its command)
    console.run("docker service create -d --name odd --health-interval 1s web-server:1")
    swarm.run(5)
    assert console.run("docker service ps quick").count("Running") == 4  # desired and current state
    assert "Starting" in console.run("docker service ps slow")
    swarm.run(30)
    assert "Starting" not in console.run("docker service ps slow")
    assert "Starting" not in console.run("docker service ps odd")  # no check: running once started
    console.forget()


def test_kubectl_wait_ends_when_its_condition_holds_and_its_timeout_counts_in_cluster_time():
    """`kubectl wait` on the simulator: the clock moves until the condition holds (kubectl then says
    "condition met" itself), and a condition that never comes ends with kubectl's own "timed out"
    after --timeout of cluster time, not 900 s of it."""
    from labkit.console.real import CommandFailed
    cluster = labkit.connect("sim", nodes=1, seed=0)
    console.run("kubectl create deployment web --image=web-server:1 --replicas=2", cluster)
    start = cluster.state().time
    out = console.run("kubectl wait --for=condition=Available deployment/web --timeout=60s", cluster)
    assert out.strip() == "deployment.apps/web condition met"
    assert cluster.state().time - start < 60
    start = cluster.state().time
    with pytest.raises(CommandFailed) as error:
        console.run("kubectl wait --for=condition=Available=False deployment/web --timeout=5s", cluster)
    assert "timed out waiting for the condition on deployments/web" in str(error.value)
    assert "labkit: stopped" not in str(error.value)
    assert 5 <= cluster.state().time - start <= 7  # its timeout, in cluster time
    pod = next(r.name for r in cluster.state().replicas)
    console.run(f"kubectl delete pod {pod} --wait=false", cluster)
    out = console.run(f"kubectl wait --for=delete pod/{pod} --timeout=120s", cluster)
    assert out.strip() == f"pod/{pod} condition met"
