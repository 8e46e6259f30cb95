"""Lesson 08 · Troubleshooting: five broken things, found from what the cluster shows.

Each section starts with an incident (`incident(k8s, name)`): a colleague's change, made with the
real kubectl (a manifest applied) or a machine switched off, and some time for it to go wrong.
Nothing it prints names the cause: the student finds it with `kubectl get`,
`describe`, `logs --previous` and `get events`, and fixes it. Each check reads the state the fix
leaves (pods, endpoints, nodes), never the command that made it, so any right fix passes. An
exercise's reset is its incident again: what it made is deleted and made broken anew.

The five, in the lesson's order, and what a real cluster shows for each (as the simulator shows them):
  crashloop  a container that exits 1 (a missing environment variable): CrashLoopBackOff, and the
             reason only in the crashed container's log (`kubectl logs --previous`);
  image      a tag that does not exist (nginx:1.999): ErrImagePull / ImagePullBackOff, and the
             registry's "not found" in describe's events (kubelet's pull error, pkg/kubelet/images);
  service    a Service whose selector picks no pod: no endpoints (`kubectl get endpointslices`);
  pending    pods the scheduler places nowhere: each asks for 6 CPUs (someone typed 6 for 600m) and
             a worker has 4: FailedScheduling, "0/4 nodes are available: ..., 3 Insufficient cpu"
             (NodeResourcesFit, pkg/scheduler/framework/plugins/noderesources);
  node       a worker switched off: NotReady after 50 s, "Kubelet stopped posting node status."
             (pkg/controller/nodelifecycle), its pods evicted 300 s later.
"""
from __future__ import annotations

import json
import os
import tempfile

from ..exercises import Exercise, Lesson, Stuck, delete_workload, events_about, praise, workers, workload_problems
from ..exercises import enough_workers  # noqa: F401 - the notebook calls lab.enough_workers

TITLE = "Troubleshooting"

def deployment(name: str, replicas: int, container: str, image: str, command: list[str] | None = None,
               cpu: str = "") -> dict:
    """A Deployment as `kubectl create deployment` writes one (labels app=NAME), serving port 80;
    `cpu`: what each pod requests."""
    spec: dict = {"name": container, "image": image, "ports": [{"containerPort": 80, "protocol": "TCP"}]}
    if command:
        spec["command"] = command
    if cpu:
        spec["resources"] = {"requests": {"cpu": cpu}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [spec]}}}}


# What each incident makes, as a colleague would have applied it.
API = deployment("api", 2, "api", "nginx:1.27", ["sh", "-c", 'test -n "$DB_HOST" || { echo "error: DB_HOST is not '
                                                             'set" >&2; exit 1; }; echo "api: using the database at '
                                                             '$DB_HOST"; exec nginx -g "daemon off;"'])
WEB = deployment("web", 2, "nginx", "nginx:1.999")  # a tag nobody pushed
REPORT = deployment("report", 2, "report", "httpd:2.4", cpu="6")  # meant: 600m
SHOP = deployment("shop", 3, "nginx", "nginx:1.27")
SHOP_SERVICE = {  # asks for a label shop's pods do not carry
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "shop", "labels": {"app": "shop"}},
    "spec": {"selector": {"app": "shop", "tier": "frontend"}, "ports": [{"port": 80, "targetPort": 80}]}}

NODE = "node-2"  # the worker the last incident switches off (the lesson's text never names it)

TICKETS = {
    "crashloop": "ticket 1: `api` was deployed a minute and a half ago; it has not answered once.",
    "image": "ticket 2: `web` was deployed a minute and a half ago; none of its pods has started.",
    "pending": "ticket 4: `report` was deployed half a minute ago, with the resources its author measured; "
               "its pods have not started.",
    "service": "ticket 3: `shop`'s three pods run, but requests to the Service `shop` are refused.",
    "node": "ticket 5: a monitoring alert: one of the machines stopped answering a minute ago.",
}


def kubectl(cluster, line: str) -> str:
    """Run one kubectl line against `cluster` (the real kubectl, as the student's %kubectl)."""
    from ..console import run
    return run(f"kubectl {line}", cluster)


def apply(cluster, *objects: dict) -> None:
    """`kubectl apply -f` of `objects`, written to a file of their own (the console has no stdin)."""
    handle, path = tempfile.mkstemp(prefix="labkit-08-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:  # a YAML stream of JSON documents
            out.write("\n---\n".join(json.dumps(o) for o in objects))
        kubectl(cluster, f"apply -f {path}")
    finally:
        os.unlink(path)


def _remove(cluster, name: str, service: bool = False) -> None:
    """Delete deployment `name` (and its Service): an incident starts from nothing."""
    delete_workload(cluster, name)
    if service and f"service/{name}" in kubectl(cluster, "get services -o name").split():
        kubectl(cluster, f"delete service {name}")


def incident(cluster, name: str) -> None:
    """Break what the section `name` is about, let the time pass that a colleague waited, and
    print the ticket (what was seen, never why)."""
    if name not in TICKETS:
        raise ValueError(f"no incident {name!r}: one of {', '.join(TICKETS)}")
    # Each ticket starts on a whole minute of cluster time: the commands typed before it (`rollout
    # status`, `kubectl wait`) move the clock by as much as they waited, which differs a little from
    # run to run, and the ages the ticket's objects show then do not.
    cluster.run((int(cluster.now()) // 60 + 1) * 60 - cluster.now())
    if name == "crashloop":
        _remove(cluster, "api")
        apply(cluster, API)
        cluster.run(90)
    elif name == "image":
        _remove(cluster, "web")
        apply(cluster, WEB)
        cluster.run(90)
    elif name == "pending":
        _remove(cluster, "report")
        apply(cluster, REPORT)
        cluster.run(30)
    elif name == "service":
        _remove(cluster, "shop", service=True)
        apply(cluster, SHOP, SHOP_SERVICE)
        cluster.run(30)  # not wait(): the other tickets' pods may be broken still
    else:  # the node: switched on again if an earlier run left it off, then off
        for node in cluster.state().nodes:
            if not node.ready:
                cluster.recover_node(node.name)
        cluster.run(60)
        cluster.fail_node(NODE)
        cluster.run(60)
    print(TICKETS[name])


RESET_SAYS = {"crashloop": "api made again with its mistake", "image": "web made again with its mistake",
              "service": "shop and its Service made again with their mistake",
              "pending": "report made again, asking for 6 CPUs again", "node": f"{NODE} switched off again"}


def _reset(name: str):
    """An exercise's reset: its incident again (what it made deleted, then made broken anew)."""
    def reset(cluster) -> str:
        incident(cluster, name)
        return RESET_SAYS[name]
    return reset


# -- the checks: the state a fix leaves -----------------------------------------------------------
def _gone(cluster, name: str, section: str) -> list[str]:
    if cluster.state().workload(name) is None:
        return [Stuck(f"there is no deployment {name} any more: deleting it is not fixing it (the ticket "
                      f"is about {name}); {section}")]
    return []


def _pods_say(state, name: str) -> str:
    reasons = sorted({r.reason or r.phase for r in state.replicas_of(name) if r.phase != "terminating"})
    return ", ".join(reasons) or "nothing"


@praise("The log of the container that crashed named what it missed: CrashLoopBackOff is only the kubelet "
        "waiting longer between restarts; `kubectl logs --previous` says why.")
def check_crashloop(cluster) -> list[str]:
    problems = _gone(cluster, "api", "its pods should run")
    if problems:
        return problems
    state = cluster.state()
    problems = workload_problems(state, "api", 2)
    crashing = [r for r in state.replicas_of("api")
                if r.phase != "terminating" and (r.restarts or r.reason in ("CrashLoopBackOff", "Error"))]
    if crashing:
        problems.append(f"{len(crashing)} pod(s) of api still crash and restart (they say: {_pods_say(state, 'api')})"
                        ": a new pod of the same template crashes the same way")
    return problems


@praise("The registry said `not found`: a tag that does not exist never pulls, however often the kubelet "
        "tries.")
def check_image(cluster) -> list[str]:
    problems = _gone(cluster, "web", "its pods should run")
    if problems:
        return problems
    state = cluster.state()
    problems = workload_problems(state, "web", 2)
    waiting = [r for r in state.replicas_of("web")
               if r.phase != "terminating" and r.reason in ("ErrImagePull", "ImagePullBackOff")]
    if waiting:
        problems.append(f"{len(waiting)} pod(s) of web still wait for their image ({_pods_say(state, 'web')}): "
                        "pulling the same reference again fails again")
    return problems


@praise("FailedScheduling said why in one line: no node had 6 CPUs to give. A pod waits in Pending until a node "
        "has room for what it requests; the scheduler's message names what each node lacked.")
def check_pending(cluster) -> list[str]:
    problems = _gone(cluster, "report", "its pods should run")
    if problems:
        return problems
    state = cluster.state()
    problems = workload_problems(state, "report", 2)
    waiting = sum(1 for r in state.replicas_of("report") if r.phase == "pending" and r.node is None)
    if waiting:
        problems.append(f"{waiting} pod(s) of report are still Pending, on no node")
    return problems


def endpoints(cluster, service: str) -> list[dict]:
    """The ready endpoints of `service`, from its EndpointSlices (what kube-proxy reads)."""
    found = json.loads(kubectl(cluster, f"get endpointslices -l kubernetes.io/service-name={service} -o json"))
    return [e for item in found.get("items", []) for e in item.get("endpoints") or []
            if (e.get("conditions") or {}).get("ready", True)]


@praise("A Service is a selector: no pod with all of its labels, no endpoint, and every request refused. "
        "`kubectl get endpointslices` shows it at once.")
def check_service(cluster) -> list[str]:
    problems = _gone(cluster, "shop", "its three pods should be the Service's endpoints")
    if problems:
        return problems
    if "service/shop" not in kubectl(cluster, "get services -o name").split():
        return [Stuck("there is no Service shop any more: requests need it; the ticket is about its endpoints")]
    state = cluster.state()
    problems = workload_problems(state, "shop", 3)
    ready = endpoints(cluster, "shop")
    if not ready:
        problems.append("the Service shop has no endpoint: its selector picks none of the running pods")
    elif len(ready) < 3:
        problems.append(f"the Service shop has {len(ready)} endpoint(s), not 3: some of shop's pods do not carry "
                        "what its selector asks for (a label put on one pod by hand goes with that pod)")
    return problems


@praise("NotReady, Unknown conditions and 'Kubelet stopped posting node status.': the node controller only "
        "knows that the kubelet went silent; the machine itself had to come back.")
def check_node(cluster) -> list[str]:
    state = cluster.state()
    node = state.node(NODE)
    if node is None:
        return [Stuck(f"there is no {NODE} any more: deleting a node takes it out of the cluster, it does not "
                      "bring the machine back")]
    if not events_about(cluster, reason="NodeNotReady", object=f"node/{NODE}"):
        return ["no node has gone NotReady yet: run the incident's cell first"]
    problems = []
    if not node.ready:
        problems.append("a worker is still NotReady: its kubelet posts no status")  # which one: the student's to find
    if not node.schedulable and any(n.schedulable for n in workers(state) if n.name != NODE):
        # (every worker cordoned is 08.pending's ticket, not this one's)
        problems.append(f"{NODE} takes no new pods (SchedulingDisabled) while the other workers do: bring it back "
                        "into service too")
    return problems


EXERCISES = [
    Exercise("crashloop", "find why `api`'s pods crash (CrashLoopBackOff) and fix `api` so that its 2 pods run",
             (
                 "CrashLoopBackOff only says the container keeps exiting; what it printed before it died is in "
                 "the log of its previous run",
                 "%kubectl logs deploy/api --previous names what is missing; %kubectl set env deployment/api "
                 "NAME=value adds it to the template",
                 "%kubectl set env deployment/api DB_HOST=db; %kubectl rollout status deployment/api"),
             check_crashloop, wrong="deleting a crashing pod: its replacement crashes the same way",
             reset=_reset("crashloop")),
    Exercise("image", "find why `web`'s pods never start (ImagePullBackOff) and fix `web` so that its 2 pods run",
             (
                 "the events at the end of `kubectl describe pod` show what the registry answered the kubelet",
                 "the tag does not exist: %kubectl set image deployment/web CONTAINER=nginx:TAG with a tag that "
                 "does (1.27); the container's name is in describe",
                 "%kubectl set image deployment/web nginx=nginx:1.27; %kubectl rollout status deployment/web"),
             check_image, wrong="restarting the rollout: the same tag is pulled again and fails again",
             reset=_reset("image")),
    Exercise("service", "find why the Service `shop` has no endpoints and fix it so that all 3 of shop's pods are "
                        "its endpoints",
             (
                 "a Service sends requests to the pods that carry every label of its selector: compare "
                 "kubectl describe service shop (Selector) with kubectl get pods --show-labels",
                 "%kubectl set selector service shop KEY=VALUE sets the selector to what the pods carry (or add "
                 "the missing label to shop's pod template)",
                 "%kubectl set selector service shop app=shop; %kubectl get endpointslices "
                 "-l kubernetes.io/service-name=shop"),
             check_service, wrong="labelling one pod by hand: one endpoint of three, gone with that pod",
             reset=_reset("service")),
    Exercise("pending", "find why `report`'s pods stay Pending and fix it so that its 2 pods run",
             (
                 "the scheduler writes why it placed a pod nowhere: a FailedScheduling event on the pod "
                 "(kubectl describe pod), and the pod's Requests are in the same describe",
                 "each pod asks for more CPU than a worker has (kubectl describe node: Allocatable); "
                 "%kubectl set resources deployment report --requests=cpu=... asks for less",
                 "%kubectl set resources deployment report --requests=cpu=600m; "
                 "%kubectl rollout status deployment/report"),
             check_pending, wrong="adding a node (minikube node add): a new worker has 4 CPUs too, report's pods "
                                  "still ask for 6", reset=_reset("pending")),
    Exercise("node", "find the node that went NotReady, and why, and bring it back Ready and in service",
             (
                 "kubectl get nodes shows which; kubectl describe node shows its conditions (who stopped "
                 "talking) and minikube status shows whether the machine itself runs",
                 "the machine is off: %minikube node start NAME (k8s.recover_node(NAME) in Python), then wait "
                 "for the node to be Ready: %kubectl wait --for=condition=Ready node/NAME",
                 "%minikube node start node-2; %kubectl wait --for=condition=Ready node/node-2; "
                 "%kubectl get nodes"),
             check_node, wrong="uncordoning the node: it was never cordoned, and it stays NotReady",
             reset=_reset("node")),
]

Lesson("08", title=TITLE, exercises=EXERCISES, helpers=__name__)
