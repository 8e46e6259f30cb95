"""`kubectl` on the simulator: the commands of the course, printed as kubectl prints them.

Writes go through the facade (`Cluster`, `Workload`); tables are built from
its snapshots, plus the few simulator details kubectl shows that the
snapshot does not carry (replica sets, creation times: `siminfo`).
"""
from __future__ import annotations

import json

from . import siminfo
from .parse import (Command, ConsoleError, Flag, OutcomeError, Parsed, UsageError, closest, parse, usage_text)
from .tables import kube_age, kubectl_table, node_ip, pod_ip, table, timestamp

VERSION = "v1.31.0"
KUSTOMIZE = "v5.4.2"
SERVER = "192.168.49.2:8443"
REFUSED = f"The connection to the server {SERVER} was refused - did you specify the right host or port?"
GLOBAL = (Flag("namespace", "n", help="If present, the namespace scope for this CLI request"),
          Flag("context", help="The name of the kubeconfig context to use"),
          Flag("kubeconfig", help="Path to the kubeconfig file to use for CLI requests"),
          Flag("request-timeout", help="The length of time to wait before giving up on a single server request"),
          Flag("help", "h", "bool", help="help for this command"))
KINDS = {
    "pods": ("pod", "pods", "po"),
    "deployments": ("deployment", "deployments", "deploy", "deployment.apps", "deployments.apps"),
    "replicasets": ("replicaset", "replicasets", "rs", "replicaset.apps", "replicasets.apps"),
    "nodes": ("node", "nodes", "no"),
    "events": ("event", "events", "ev"),
    "services": ("service", "services", "svc"),
    "namespaces": ("namespace", "namespaces", "ns"),
}
SINGULAR = {"pods": "pod", "deployments": "deployment.apps", "replicasets": "replicaset.apps", "nodes": "node",
            "events": "event", "services": "service", "namespaces": "namespace"}
API_NAME = {"deployments": "deployments.apps", "replicasets": "replicasets.apps"}
NOT_SIMULATED = ("logs", "exec", "apply", "edit", "expose", "port-forward", "top", "label", "annotate", "patch",
                 "replace", "autoscale", "config", "api-resources", "api-versions", "explain", "attach", "cp",
                 "proxy", "auth", "certificate", "taint", "wait", "diff", "kustomize", "plugin", "completion",
                 "debug", "events", "alpha")
CONTROL_PLANE_PODS = (("etcd", "etcd"), ("kube-apiserver", "api-server"),
                      ("kube-controller-manager", "controller-manager"), ("kube-scheduler", "scheduler"))


def _cmd(path: str, usage: str, summary: str, *flags: Flag, min_args: int = 0, max_args: int | None = None,
         run=None) -> Command:
    return Command("kubectl", tuple(path.split()), usage, summary, tuple(flags) + GLOBAL, min_args, max_args, run)


def main(ctx, argv: list[str]) -> None:
    argv = _hoist_globals(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        ctx.print(_top_help())
        return
    word = argv[0]
    if word.startswith("-"):
        raise UsageError(f"Error: unknown flag: {word}\nSee 'kubectl --help' for usage.", "")
    if word in NOT_SIMULATED:
        raise ConsoleError(f"error: `kubectl {word}` is not part of labkit's simulator",
                           "it works on a real cluster (labkit.connect('kubernetes')); here try: "
                           + ", ".join(sorted({p[0] for p in COMMANDS})))
    cmd, rest = _find(argv)
    parsed = parse(cmd, rest)
    if parsed.get("help"):
        ctx.print(usage_text(cmd))
        return
    if cmd.path != ("version",):
        _check_server(ctx)
    cmd.run(ctx, parsed)


def _hoist_globals(argv: list[str]) -> list[str]:
    """`kubectl -n kube-system get pods` -> `kubectl get pods -n kube-system`."""
    moved: list[str] = []
    while argv and argv[0].startswith("-") and argv[0] not in ("-h", "--help"):
        token = argv[0]
        takes = token in ("-n", "--namespace", "--context", "--kubeconfig", "--request-timeout")
        moved += argv[:2] if takes else argv[:1]
        argv = argv[2:] if takes else argv[1:]
    return argv + moved


def _find(argv: list[str]) -> tuple[Command, list[str]]:
    for size in (2, 1):
        key = tuple(argv[:size])
        if len(key) == size and key in COMMANDS:
            return COMMANDS[key], argv[size:]
    word = argv[0]
    groups = {p[0] for p in COMMANDS if len(p) == 2}
    if word in groups:
        subs = sorted(p[1] for p in COMMANDS if p[0] == word)
        if len(argv) == 1 or argv[1].startswith("-"):
            raise UsageError(f"error: `kubectl {word}` needs a subcommand: {', '.join(subs)}",
                             f"e.g. kubectl {word} {subs[0]} ...")
        guess = closest(argv[1], subs)
        raise UsageError(f'Error: unknown command "{argv[1]}" for "kubectl {word}"'
                         + (f"\n\nDid you mean this?\n\t{guess}\n" if guess else "")
                         + f"\nRun 'kubectl {word} --help' for usage.",
                         f"kubectl {word} has: {', '.join(subs)}")
    words = sorted({p[0] for p in COMMANDS} | set(NOT_SIMULATED))
    guess = closest(word, words)
    raise UsageError(f'error: unknown command "{word}" for "kubectl"'
                     + (f"\n\nDid you mean this?\n\t{guess}\n" if guess else "")
                     + "\nRun 'kubectl --help' for usage.", f"did you mean kubectl {guess}?" if guess else
                     "kubectl get nodes, kubectl create deployment ..., kubectl rollout status ...")


def _top_help() -> str:
    lines = ["kubectl controls the Kubernetes cluster manager (labkit's simulator).", "", "Commands:"]
    for path, cmd in sorted(COMMANDS.items()):
        lines.append(f"  {' '.join(path):<18}{cmd.summary}")
    lines += ["", "Usage:", "  kubectl [flags] [options]", "",
              "Use \"kubectl <command> --help\" for more information about a given command."]
    return "\n".join(lines)


def _check_server(ctx) -> None:
    cluster = ctx.cluster
    if cluster.flavor != "kubernetes":
        raise ConsoleError("The connection to the server localhost:8080 was refused - did you specify the right "
                           "host or port?", f"this is a {cluster.flavor} cluster, not Kubernetes: use a Kubernetes one, "
                           "e.g. labkit.console.use(labkit.connect(flavor='kubernetes'))")
    parts = {c.name: c.running for c in cluster.state().components}
    if not parts.get("api-server", True):
        raise ConsoleError(REFUSED, "the API server is stopped: cluster.start_component('api-server')"
                           " (or `minikube start` if you stopped the cluster)")
    if not parts.get("etcd", True):
        raise ConsoleError("Error from server: etcdserver: request timed out",
                           "the API server keeps nothing itself: etcd is stopped. "
                           "cluster.start_component('etcd')")


def _namespace(p: Parsed) -> str:
    return p.get("namespace") or "default"


# -- resources and names --------------------------------------------------------------------------
def kind_of(word: str) -> str:
    low = word.lower()
    for kind, names in KINDS.items():
        if low in names:
            return kind
    every = [n for names in KINDS.values() for n in names]
    guess = closest(low, every)
    raise UsageError(f'error: the server doesn\'t have a resource type "{word}"',
                     f"did you mean {guess}?" if guess else
                     "resource types here: pods, deployments, replicasets, nodes, events")


def targets(args: list[str]) -> list[tuple[str, str | None]]:
    """`deployment web`, `deploy/web`, `pods`, `deploy a b` -> [(kind, name or None)]."""
    if not args:
        return []
    if "/" in args[0]:
        out = []
        for arg in args:
            kind, _, name = arg.partition("/")
            if not name or "/" not in arg:
                raise UsageError("error: there is no need to specify a resource type as a separate argument "
                                 "when passing arguments in resource/name form",
                                 "write them all as TYPE/NAME, e.g. deployment/my-web-server")
            out.append((kind_of(kind), name))
        return out
    kinds = [kind_of(k) for k in args[0].split(",")]
    if len(args) == 1:
        return [(k, None) for k in kinds]
    if len(kinds) > 1:
        raise UsageError("error: you may only specify a single resource type", "")
    return [(kinds[0], name) for name in args[1:]]


def not_found(kind: str, name: str, choices: list[str]) -> ConsoleError:
    guess = closest(name, choices)
    return ConsoleError(f'Error from server (NotFound): {API_NAME.get(kind, kind)} "{name}" not found',
                        f"did you mean {guess}?" if guess else
                        (f"there are: {', '.join(sorted(choices)[:8])}" if choices else f"there are no {kind} yet"))


def deployment_names(ctx) -> list[str]:
    return [w.name for w in ctx.cluster.state().workloads]


def workload(ctx, name: str):
    names = deployment_names(ctx)
    if name not in names:
        raise not_found("deployments", name, names)
    return ctx.cluster.workload(name)


def one_deployment(args: list[str], verb: str) -> str:
    found = targets(args)
    if not found:
        raise UsageError("error: required resource not specified", f"e.g. kubectl {verb} deployment/my-web-server")
    if len(found) != 1 or found[0][0] != "deployments" or found[0][1] is None:
        kind = found[0][0]
        if kind != "deployments":
            raise ConsoleError(f'error: no {verb} for "{SINGULAR.get(kind, kind)}": only deployments roll out here',
                               f"e.g. kubectl {verb} deployment/my-web-server")
        raise UsageError("error: required resource not specified", f"e.g. kubectl {verb} deployment/my-web-server")
    return found[0][1]


# -- kubectl get ------------------------------------------------------------------------------------
def pod_status(r) -> str:
    if r.phase == "terminating":
        return "Terminating"
    if r.reason in ("ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff"):
        return r.reason
    if r.phase == "pending":
        return "ContainerCreating" if r.node else "Pending"
    if r.phase == "running":
        return "Running"
    if r.phase == "succeeded":
        return "Completed"
    return r.reason if r.reason and " " not in r.reason else "Error"


def _node_index(state) -> dict[str, int]:
    return {n.name: i for i, n in enumerate(state.nodes)}


def _labels_match(selector: str | None, labels: dict[str, str]) -> bool:
    if not selector:
        return True
    for part in selector.split(","):
        key, eq, value = part.partition("=")
        key, value = key.rstrip("!"), value.lstrip("=")
        if part.partition("=")[0].endswith("!"):
            if labels.get(key) == value:
                return False
        elif eq and labels.get(key) != value:
            return False
        elif not eq and key not in labels:
            return False
    return True


def pod_labels(ctx, r) -> dict[str, str]:
    labels = {"app": r.workload} if r.workload else {"run": r.name}
    owner = siminfo.pod_owner(ctx, r.name)
    if owner and "-" in owner:
        labels["pod-template-hash"] = owner.rsplit("-", 1)[1]
    return labels


def pod_rows(ctx, p: Parsed, names: list[str] | None):
    state = ctx.cluster.state()
    now = state.time
    index = _node_index(state)
    wide = p.get("output") == "wide"
    if _namespace(p) == "kube-system":
        return _system_pods(ctx, state, wide, names)
    pods = sorted(state.replicas, key=lambda r: r.name)
    if names is not None:
        known = {r.name for r in pods}
        for name in names:
            if name not in known:
                raise not_found("pods", name, list(known))
        pods = [r for r in pods if r.name in names]
    pods = [r for r in pods if _labels_match(p.get("selector"), pod_labels(ctx, r))]
    header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    if wide:
        header += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
    rows = []
    for r in pods:
        row = [r.name, f"{int(r.ready)}/1", pod_status(r), str(r.restarts), kube_age(now - r.created)]
        if wide:
            ip = r.ip or (pod_ip(index.get(r.node, 0), r.name) if r.node and r.phase != "pending" else "<none>")
            row += [ip, r.node or "<none>", "<none>", "<none>"]
        rows.append(row)
    return header, rows


def _system_pods(ctx, state, wide: bool, names):
    parts = {c.name: c.running for c in state.components}
    header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] + (["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
                                                               if wide else [])
    rows = []
    for pod, part in CONTROL_PLANE_PODS:
        name = f"{pod}-control-plane"
        if names is not None and name not in names:
            continue
        up = parts.get(part, True)
        row = [name, "1/1" if up else "0/1", "Running" if up else "Error", "0", kube_age(state.time)]
        if wide:
            row += [node_ip(0), "control-plane", "<none>", "<none>"]
        rows.append(row)
    return header, rows


def deployment_rows(ctx, p: Parsed, names):
    state = ctx.cluster.state()
    found = _select(state.workloads, names, "deployments")
    found = [w for w in found if _labels_match(p.get("selector"), dict(w.labels))]
    wide = p.get("output") == "wide"
    header = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] + (["CONTAINERS", "IMAGES", "SELECTOR"] if wide else [])
    rows = []
    for w in found:
        age = kube_age(state.time - siminfo.created(ctx, "deployments", w.name))
        row = [w.name, f"{w.ready}/{w.desired}", str(w.updated), str(w.available), age]
        if wide:
            row += [w.name, w.image, f"app={w.name}"]
        rows.append(row)
    return header, rows


def replicaset_rows(ctx, p: Parsed, names):
    now = ctx.cluster.now()
    sets = siminfo.all_replica_sets(ctx)
    if names is not None:
        known = [rs.name for rs in sets]
        for name in names:
            if name not in known:
                raise not_found("replicasets", name, known)
        sets = [rs for rs in sets if rs.name in names]
    sets = [rs for rs in sets if _labels_match(p.get("selector"), {"app": rs.owner})]
    wide = p.get("output") == "wide"
    header = ["NAME", "DESIRED", "CURRENT", "READY", "AGE"] + (["CONTAINERS", "IMAGES", "SELECTOR"] if wide else [])
    rows = []
    for rs in sets:
        row = [rs.name, str(rs.replicas), str(rs.active), str(rs.ready),
               kube_age(now - siminfo.replica_set_created(ctx, rs.name))]
        if wide:
            row += [rs.owner, rs.template.image, f"app={rs.owner},pod-template-hash={rs.name.rsplit('-', 1)[1]}"]
        rows.append(row)
    return header, rows


def node_rows(ctx, p: Parsed, names):
    state = ctx.cluster.state()
    found = _select(state.nodes, names, "nodes")
    wide = p.get("output") == "wide"
    header = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    if wide:
        header += ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    rows = []
    index = _node_index(state)
    for n in found:
        role = "control-plane" if n.role == "control-plane" else "<none>"
        row = [n.name, n.status or ("Ready" if n.ready else "NotReady"), role,
               kube_age(state.time - siminfo.node_created(ctx, n.name)), VERSION]
        if wide:
            row += [node_ip(index[n.name]), "<none>", "Ubuntu 22.04.4 LTS", "6.1.0-labkit", "docker://27.2.0"]
        rows.append(row)
    return header, rows


def event_rows(ctx, p: Parsed, names):
    now = ctx.cluster.now()
    header = ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    events = [e for e in ctx.cluster.events() if not e.object.startswith(("component/", "task/", "service/"))]
    if p.get("field-selector"):
        key, _, value = p["field-selector"].partition("=")
        if key == "type":
            events = [e for e in events if e.type == value]
    rows = [[kube_age(now - e.time), e.type, e.reason, e.object, e.message] for e in events]
    return header, rows


def service_rows(ctx, p: Parsed, names):
    header = ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    if names is not None and names != ["kubernetes"]:
        raise not_found("services", names[0], ["kubernetes"])
    return header, [["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", kube_age(ctx.cluster.now())]]


def namespace_rows(ctx, p: Parsed, names):
    age = kube_age(ctx.cluster.now())
    rows = [[n, "Active", age] for n in ("default", "kube-node-lease", "kube-public", "kube-system")]
    return ["NAME", "STATUS", "AGE"], rows


ROWS = {"pods": pod_rows, "deployments": deployment_rows, "replicasets": replicaset_rows, "nodes": node_rows,
        "events": event_rows, "services": service_rows, "namespaces": namespace_rows}
NAMESPACED = ("pods", "deployments", "replicasets", "events", "services")


def _select(items, names, kind: str):
    items = sorted(items, key=lambda x: x.name)
    if names is None:
        return items
    known = [x.name for x in items]
    for name in names:
        if name not in known:
            raise not_found(kind, name, known)
    return [x for x in items if x.name in names]


def get(ctx, p: Parsed) -> None:
    if not p.args:
        raise UsageError("You must specify the type of resource to get. Use \"kubectl api-resources\" for a complete "
                         "list of supported resources.\n\nerror: Required resource not specified.\n"
                         "Use \"kubectl explain <resource>\" for a detailed description of that resource "
                         "(e.g. kubectl explain pods).\nSee 'kubectl get -h' for help and examples",
                         "e.g. kubectl get pods, kubectl get deployments, kubectl get nodes")
    output = p.get("output")
    if output not in (None, "wide", "name", "json", "yaml"):
        raise UsageError(f'error: unable to match a printer suitable for the output format "{output}", allowed '
                         'formats are: json,name,wide,yaml', "e.g. -o wide")
    if p.args[0] == "all":
        wanted = [("pods", None), ("services", None), ("deployments", None), ("replicasets", None)]
    else:
        wanted = targets(p.args)
    groups: dict[str, list[str] | None] = {}
    for kind, name in wanted:
        if name is None:
            groups[kind] = None
        elif groups.get(kind, []) is not None:
            groups.setdefault(kind, []).append(name)
    namespace = _namespace(p)
    if namespace not in ("default", "kube-system", "kube-public", "kube-node-lease") and not p.get("all-namespaces"):
        if any(k in NAMESPACED for k in groups):
            ctx.print(f"No resources found in {namespace} namespace.")
            return
    if output in ("json", "yaml", "name"):
        _print_objects(ctx, groups, output)
        return
    blocks = []
    for kind, names in groups.items():
        if namespace != "default" and kind in NAMESPACED and not (kind == "pods" and namespace == "kube-system"):
            if names is None:
                continue
        header, rows = ROWS[kind](ctx, p, names)
        if not rows:
            continue
        if p.args[0] == "all" or len(groups) > 1:
            rows = [[f"{SINGULAR[kind]}/{r[0]}" if kind != "events" else r[0]] + r[1:] for r in rows]
        blocks.append(kubectl_table(header, rows))
    if not blocks:
        where = "" if set(groups) <= {"nodes", "namespaces"} else f" in {namespace} namespace"
        ctx.print(f"No resources found{where}.")
        if not p.get("watch"):
            return
    else:
        ctx.print("\n\n".join(blocks))
    if p.get("watch"):
        _watch(ctx, p, groups)


def _watch(ctx, p: Parsed, groups) -> None:
    """`-w`: let simulated time pass and print each row that changes, as kubectl does, until calm."""
    seen, first = {}, {}
    for kind, names in groups.items():
        _h, rows = ROWS[kind](ctx, p, names)
        first[kind] = rows
        for row in rows:
            seen[(kind, row[0])] = _without_age(kind, row)
    quiet = 0.0
    limit = ctx.cluster.now() + 120.0
    while quiet < 10.0 and ctx.cluster.now() < limit:
        ctx.cluster.run(1.0)
        changed = False
        for kind, names in groups.items():
            try:
                _h, rows = ROWS[kind](ctx, p, names)
            except ConsoleError:
                continue
            for row in rows:
                key = (kind, row[0])
                if seen.get(key) != _without_age(kind, row):
                    if not first.get(kind):  # the first rows of an empty list: their header too
                        first[kind] = rows
                        ctx.print(kubectl_table(_h, rows).split("\n", 1)[0])
                    seen[key] = _without_age(kind, row)
                    ctx.print(kubectl_table(_h, [row] + first[kind]).split("\n")[1])  # aligned with the first
                    changed = True
        quiet = 0.0 if changed else quiet + 1.0
    ctx.print(f"(labkit: watched {ctx.cluster.now():.0f}s of simulated time; nothing changed for 10s, so the watch "
              "stopped)")


def _without_age(kind: str, row: list[str]) -> tuple:
    skip = {"pods": 4, "deployments": 4, "replicasets": 4, "nodes": 3}.get(kind)
    return tuple(c for i, c in enumerate(row) if i != skip)


def _print_objects(ctx, groups, output: str) -> None:
    items = []
    state = ctx.cluster.state()
    for kind, names in groups.items():
        if kind == "deployments":
            for w in _select(state.workloads, names, kind):
                items.append(_deployment_manifest(ctx, w))
        elif kind == "pods":
            for r in _select(state.replicas, names, kind):
                items.append(_pod_manifest(ctx, r))
        elif kind == "nodes":
            for n in _select(state.nodes, names, kind):
                items.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n.name},
                              "spec": {"unschedulable": not n.schedulable} if not n.schedulable else {},
                              "status": {"capacity": {"cpu": str(n.cpu_capacity // 1000),
                                                      "memory": f"{n.memory_capacity}Mi",
                                                      "pods": str(n.pods_capacity)}}})
        else:
            raise ConsoleError(f"error: -o {output} is simulated for deployments, pods and nodes only",
                               "use kubectl get " + kind)
    if output == "name":
        for item in items:
            kind = item["kind"].lower() + (".apps" if item["kind"] == "Deployment" else "")
            ctx.print(f"{kind}/{item['metadata']['name']}")
        return
    doc = items[0] if len(items) == 1 and all(v is not None for v in groups.values()) else \
        {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}
    if output == "json":
        ctx.print(json.dumps(doc, indent=4))
    else:
        try:
            import yaml
        except ImportError:
            raise ConsoleError("error: -o yaml needs the PyYAML package", "pip install pyyaml, or use -o json") from None
        ctx.print(yaml.safe_dump(doc, sort_keys=True, default_flow_style=False).rstrip())


def _deployment_manifest(ctx, w) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": w.name, "namespace": "default", "labels": dict(w.labels),
                         "annotations": {"deployment.kubernetes.io/revision": str(w.revision)},
                         "creationTimestamp": timestamp(siminfo.created(ctx, "deployments", w.name))},
            "spec": {"replicas": w.desired, "paused": w.paused, "selector": {"matchLabels": {"app": w.name}},
                     "strategy": {"type": w.strategy},
                     "template": {"metadata": {"labels": {"app": w.name}},
                                  "spec": {"containers": [{"name": w.name, "image": w.image}]}}},
            "status": {"replicas": w.current, "readyReplicas": w.ready, "updatedReplicas": w.updated,
                       "availableReplicas": w.available}}


def _pod_manifest(ctx, r) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": r.name, "namespace": "default", "labels": pod_labels(ctx, r)},
            "spec": {"nodeName": r.node, "containers": [{"name": r.workload or r.name, "image": r.image}]},
            "status": {"phase": {"running": "Running", "pending": "Pending", "failed": "Failed",
                                 "succeeded": "Succeeded", "terminating": "Running"}[r.phase],
                       "containerStatuses": [{"name": r.workload or r.name, "ready": r.ready,
                                              "restartCount": r.restarts, "image": r.image}]}}


# -- describe ------------------------------------------------------------------------------------------
def describe(ctx, p: Parsed) -> None:
    found = targets(p.args)
    if not found:
        raise UsageError("error: You must specify the type of resource to describe. Use \"kubectl api-resources\" "
                         "for a complete list of supported resources.", "e.g. kubectl describe deployment my-web-server")
    state = ctx.cluster.state()
    blocks = []
    for kind, name in found:
        pool = {"deployments": state.workloads, "pods": state.replicas, "nodes": state.nodes}.get(kind)
        if pool is None:
            raise ConsoleError(f"error: describe {kind} is not simulated", "describe deployments, pods or nodes")
        items = _select(pool, None if name is None else [name], kind)
        if name is None and not items:
            raise ConsoleError("No resources found in default namespace.", "")
        for item in items:
            blocks.append({"deployments": _describe_deployment, "pods": _describe_pod,
                           "nodes": _describe_node}[kind](ctx, state, item))
    ctx.print("\n\n".join(blocks))


def _fields(pairs: list[tuple[str, str]], width: int) -> list[str]:
    return [f"{k + ':':<{width}}{v}" if v != "" else f"{k}:" for k, v in pairs]


def _events_block(ctx, obj_prefixes: tuple[str, ...]) -> list[str]:
    now = ctx.cluster.now()
    events = [e for e in ctx.cluster.events() if e.object.startswith(obj_prefixes)]
    if not events:
        return ["Events:          <none>"]
    rows = [[e.type, e.reason, kube_age(now - e.time), e.source or "kubelet", e.message] for e in events[-20:]]
    body = table(["Type", "Reason", "Age", "From", "Message"],
                 [["----", "------", "----", "----", "-------"]] + rows, 0, 2)
    return ["Events:"] + ["  " + line for line in body.split("\n")]


def _describe_deployment(ctx, state, w) -> str:
    obj = siminfo.deployment(ctx, w.name)
    strategy = getattr(obj, "strategy", {}) or {}
    sets = siminfo.replica_sets(ctx, w.name)
    new = next((rs for rs in sets if rs.template.image == w.image and rs.revision == w.revision), None)
    old = [rs for rs in sets if rs is not new and (rs.replicas or rs.active)]
    lines = _fields([
        ("Name", w.name), ("Namespace", "default"),
        ("CreationTimestamp", timestamp(siminfo.created(ctx, "deployments", w.name))),
        ("Labels", ",".join(f"{k}={v}" for k, v in w.labels) or "<none>"),
        ("Annotations", f"deployment.kubernetes.io/revision: {w.revision}"),
        ("Selector", f"app={w.name}"),
        ("Replicas", f"{w.desired} desired | {w.updated} updated | {w.current} total | {w.available} available | "
                     f"{max(w.current - w.available, 0)} unavailable"),
        ("StrategyType", w.strategy), ("MinReadySeconds", f"{strategy.get('min_ready_seconds', 0):g}"),
    ], 24)
    if w.strategy == "RollingUpdate":
        lines += _fields([("RollingUpdateStrategy", f"{strategy.get('max_unavailable', '25%')} max unavailable, "
                                                    f"{strategy.get('max_surge', '25%')} max surge")], 24)
    template = getattr(obj, "template", None)
    env = getattr(template, "env", {}) or {}
    ports = getattr(template, "ports", ()) or ()
    lines += ["Pod Template:", f"  Labels:  app={w.name}", "  Containers:", f"   {w.name}:",
              f"    Image:        {w.image}",
              f"    Port:         {', '.join(ports) + '/TCP' if ports else '<none>'}",
              "    Host Port:    <none>",
              "    Environment:  " + ("<none>" if not env else ""),
              *[f"      {k}:  {v}" for k, v in sorted(env.items())],
              "    Mounts:       <none>", "  Volumes:        <none>", "Conditions:",
              "  Type           Status  Reason", "  ----           ------  ------"]
    available = w.available >= w.desired - w.max_unavailable
    lines.append(f"  Available      {'True ' if available else 'False'}   "
                 f"{'MinimumReplicasAvailable' if available else 'MinimumReplicasUnavailable'}")
    progressing = {"complete": ("True ", "NewReplicaSetAvailable"), "failed": ("False", "ProgressDeadlineExceeded"),
                   "paused": ("Unknown", "DeploymentPaused")}.get(w.rollout, ("True ", "ReplicaSetUpdated"))
    lines.append(f"  Progressing    {progressing[0]}   {progressing[1]}")
    lines.append("OldReplicaSets:  " + (", ".join(f"{rs.name} ({rs.active}/{rs.replicas} replicas created)"
                                                 for rs in old) or "<none>"))
    lines.append("NewReplicaSet:   " + (f"{new.name} ({new.active}/{new.replicas} replicas created)" if new else "<none>"))
    lines += _events_block(ctx, (f"deployment/{w.name}",))
    return "\n".join(lines)


def _describe_pod(ctx, state, r) -> str:
    index = _node_index(state)
    owner = siminfo.pod_owner(ctx, r.name)
    labels = pod_labels(ctx, r)
    label_lines = [f"{k}={v}" for k, v in sorted(labels.items())]
    ip = r.ip or (pod_ip(index.get(r.node, 0), r.name) if r.node and r.phase != "pending" else "")
    lines = _fields([
        ("Name", r.name), ("Namespace", "default"), ("Priority", "0"),
        ("Node", f"{r.node}/{node_ip(index[r.node])}" if r.node in index else "<none>"),
        ("Start Time", timestamp(r.created)), ("Labels", label_lines[0]),
    ], 18)
    lines += [" " * 18 + extra for extra in label_lines[1:]]
    phase = {"running": "Running", "pending": "Pending", "failed": "Failed", "succeeded": "Succeeded",
             "terminating": "Terminating"}[r.phase]
    lines += _fields([("Status", phase), ("IP", ip or "<none>"),
                      ("Controlled By", f"ReplicaSet/{owner}" if owner else "<none>")], 18)
    state_word = "Running" if r.phase == "running" else ("Waiting" if r.phase == "pending" else "Terminated")
    lines += ["Containers:", f"  {r.workload or r.name}:", f"    Image:          {r.image}",
              f"    State:          {state_word}"]
    if r.reason and state_word != "Running":
        lines.append(f"      Reason:       {r.reason}")
    lines += [f"    Ready:          {r.ready}", f"    Restart Count:  {r.restarts}",
              "Conditions:", "  Type              Status",
              f"  PodScheduled      {r.node is not None}", f"  Ready             {r.ready}"]
    lines += _events_block(ctx, (f"pod/{r.name}",))
    return "\n".join(lines)


def _describe_node(ctx, state, n) -> str:
    index = _node_index(state)
    obj = siminfo.node_obj(ctx, n.name)
    taints = list(getattr(obj, "taints", []) or [])
    if not n.schedulable and n.role != "control-plane":
        taints.append("node.kubernetes.io/unschedulable:NoSchedule")
    if not n.ready:
        taints.append("node.kubernetes.io/unreachable:NoSchedule")
    lines = _fields([
        ("Name", n.name), ("Roles", "control-plane" if n.role == "control-plane" else "<none>"),
        ("Labels", f"kubernetes.io/hostname={n.name}"),
        ("CreationTimestamp", timestamp(siminfo.node_created(ctx, n.name))),
        ("Taints", taints[0] if taints else "<none>"),
    ], 20)
    lines += [" " * 20 + t for t in taints[1:]]
    lines += _fields([("Unschedulable", str(not n.schedulable and n.role != "control-plane").lower())], 20)
    lines += ["Conditions:", "  Type    Status  Reason",
              f"  Ready   {'True ' if n.ready else 'Unknown'}   "
              f"{'KubeletReady' if n.ready else 'NodeStatusUnknown'}",
              "Addresses:", f"  InternalIP:  {node_ip(index[n.name])}", f"  Hostname:    {n.name}",
              "Capacity:", f"  cpu:     {n.cpu_capacity // 1000}", f"  memory:  {n.memory_capacity}Mi",
              f"  pods:    {n.pods_capacity}"]
    pods = [r for r in state.replicas if r.node == n.name]
    lines.append(f"Non-terminated Pods:          ({len(pods)} in total)")
    if pods:
        rows = [["default", r.name, kube_age(state.time - r.created)] for r in sorted(pods, key=lambda r: r.name)]
        body = table(["Namespace", "Name", "Age"], [["---------", "----", "---"]] + rows, 0, 2)
        lines += ["  " + line for line in body.split("\n")]
    lines += _events_block(ctx, (f"node/{n.name}",))
    return "\n".join(lines)


# -- making and changing ------------------------------------------------------------------------------------
def create_deployment(ctx, p: Parsed) -> None:
    name = p.args[0]
    images = p.get("image")
    if not images:
        raise UsageError('error: required flag(s) "image" not set', f"e.g. kubectl create deployment {name} "
                         "--image=web-server:1")
    if len(images) > 1:
        raise ConsoleError("error: labkit's simulator runs one container per pod", "give one --image")
    replicas = p.get("replicas", 1)
    if replicas < 0:
        raise UsageError(f"error: replicas must be greater than or equal to 0, not {replicas}", "e.g. --replicas=3")
    if name in deployment_names(ctx):
        raise ConsoleError(f'error: failed to create deployment: deployments.apps "{name}" already exists',
                           f"scale it instead: kubectl scale deployment/{name} --replicas={replicas}")
    ports = (f"{p['port']}",) if p.get("port") else ()
    ctx.cluster.deploy(name, images[0], replicas, ports=ports)
    ctx.print(f"deployment.apps/{name} created")


def run_pod(ctx, p: Parsed) -> None:
    if len(p.args) != 1:
        raise UsageError("error: NAME is required for run" if not p.args else
                         f"error: kubectl run takes one NAME, got {len(p.args)}: {' '.join(p.args)}",
                         "kubectl run NAME --image=IMAGE makes one pod, e.g. kubectl run hello --image=web-server:1; "
                         "for several replicas: kubectl create deployment NAME --image=IMAGE --replicas=3")
    name = p.args[0]
    image = p.get("image")
    if not image:
        raise UsageError('error: required flag(s) "image" not set', f"e.g. kubectl run {name} --image=web-server:1")
    restart = {"Always": "always", "OnFailure": "on-failure", "Never": "no"}.get(p.get("restart", "Always"))
    if restart is None:
        raise UsageError(f'error: invalid restart policy: {p.get("restart")}', "use Always, OnFailure or Never")
    if any(r.name == name for r in ctx.cluster.state().replicas):
        raise ConsoleError(f'Error from server (AlreadyExists): pods "{name}" already exists',
                           f"delete it first: kubectl delete pod {name}")
    ctx.cluster.run_container(image, name=name, restart=restart)
    ctx.print(f"pod/{name} created")


def scale(ctx, p: Parsed) -> None:
    if "replicas" not in p.given:
        raise UsageError('error: required flag(s) "replicas" not set', "e.g. kubectl scale deployment/my-web-server "
                         "--replicas=5")
    found = targets(p.args)
    if not found or any(n is None for _k, n in found):
        raise UsageError("error: resource(s) were provided, but no name was specified" if found else
                         "error: required resource not specified", "e.g. kubectl scale deployment/my-web-server "
                         "--replicas=5")
    count = p["replicas"]
    if count < 0:
        raise UsageError("error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0",
                         "e.g. --replicas=3")
    from .. import validate
    validate.replicas(count, ctx.cluster.backend.name)
    for kind, name in found:
        if kind != "deployments":
            raise ConsoleError(f"error: scaling {kind} is not simulated: scale the deployment that owns them",
                               "e.g. kubectl scale deployment/my-web-server --replicas=5")
    loads = [workload(ctx, name) for _k, name in found]
    for w in loads:
        current = p.get("current-replicas", -1)
        if current >= 0 and w.status().desired != current:
            raise ConsoleError(f"error: Expected replicas to be {current}, was {w.status().desired}", "")
    for w in loads:
        w.scale(count)
        ctx.print(f"deployment.apps/{w.name} scaled")


def set_image(ctx, p: Parsed) -> None:
    pairs = [a for a in p.args if "=" in a]
    rest = [a for a in p.args if "=" not in a]
    if not pairs:
        raise UsageError("error: at least one image update is required", "e.g. kubectl set image "
                         "deployment/my-web-server my-web-server=web-server:2")
    name = one_deployment(rest, "set image")
    w = workload(ctx, name)
    status = w.status()
    base = status.image.rsplit("/", 1)[-1].split(":")[0].split("@")[0]
    image = None
    for pair in pairs:
        container, _, value = pair.partition("=")
        if container not in ("*", name, base):
            raise ConsoleError(f'error: unable to find container named "{container}"',
                               f"the container of deployment/{name} is called {name}: "
                               f"kubectl set image deployment/{name} {name}={value}")
        image = value
    from .. import validate
    validate.image(image)
    if image != status.image:  # the same image: nothing to roll out
        w.update(image)
    ctx.print(f"deployment.apps/{name} image updated")


def delete(ctx, p: Parsed) -> None:
    found = targets(p.args)
    if not found:
        raise UsageError("error: You must provide one or more resources by argument or filename.",
                         "e.g. kubectl delete deployment my-web-server")
    state = ctx.cluster.state()
    plan = []
    for kind, name in found:
        if name is None:
            if not p.get("all"):
                raise UsageError('error: resource(s) were provided, but no name was specified',
                                 f"name one, e.g. kubectl delete {SINGULAR[kind].split('.')[0]} NAME, or add --all")
            names = [w.name for w in state.workloads] if kind == "deployments" else \
                [r.name for r in state.replicas if r.phase != "terminating"] if kind == "pods" else None
            if names is None:
                raise ConsoleError(f"error: deleting {kind} is not simulated", "delete deployments or pods")
            plan += [(kind, n) for n in sorted(names)]
            continue
        if kind == "deployments":
            if name not in [w.name for w in state.workloads]:
                raise not_found(kind, name, [w.name for w in state.workloads])
        elif kind == "pods":
            if name not in [r.name for r in state.replicas]:
                raise not_found(kind, name, [r.name for r in state.replicas])
        else:
            raise ConsoleError(f"error: deleting {kind} is not simulated", "delete deployments or pods")
        plan.append((kind, name))
    if not plan:
        ctx.print("No resources found")
        return
    for kind, name in dict.fromkeys(plan):  # a name given twice is deleted once
        if kind == "deployments":
            ctx.cluster.workload(name).delete()
            ctx.print(f'deployment.apps "{name}" deleted')
        else:
            replica = next(r for r in ctx.cluster.state().replicas if r.name == name)
            if replica.workload:
                siminfo.delete_pod(ctx, name)
            else:
                ctx.cluster.remove_container(name)
            ctx.print(f'pod "{name}" deleted')
    if p.get("wait", True):  # kubectl waits until the objects are gone
        gone = {n for _k, n in plan}
        ctx.cluster._wait_for(lambda: not any(r.name in gone for r in ctx.cluster.state().replicas), 120)


def _node(ctx, name: str):
    state = ctx.cluster.state()
    node = state.node(name)
    if node is None:
        raise not_found("nodes", name, [n.name for n in state.nodes])
    return node


def cordon(ctx, p: Parsed) -> None:
    node = _node(ctx, p.args[0])
    if not node.schedulable:
        ctx.print(f"node/{node.name} already cordoned")
        return
    siminfo.cordon(ctx, node.name)
    ctx.print(f"node/{node.name} cordoned")


def uncordon(ctx, p: Parsed) -> None:
    node = _node(ctx, p.args[0])
    if node.schedulable or node.role == "control-plane":
        ctx.print(f"node/{node.name} already uncordoned")
        return
    ctx.cluster.uncordon(node.name)
    ctx.print(f"node/{node.name} uncordoned")


def drain(ctx, p: Parsed) -> None:
    node = _node(ctx, p.args[0])
    pods = sorted((r for r in ctx.cluster.state().replicas if r.node == node.name and r.phase != "terminating"),
                  key=lambda r: r.name)
    bare = [r for r in pods if not r.workload]
    if bare and not p.get("force"):
        names = ", ".join(f"default/{r.name}" for r in bare)
        if node.schedulable:
            siminfo.cordon(ctx, node.name)
            ctx.print(f"node/{node.name} cordoned")
        raise OutcomeError(f'error: unable to drain node "{node.name}" due to error: cannot delete Pods that declare '
                           f"no controller (use --force to override): {names}, continuing command...\n"
                           f"There are pending nodes to be drained:\n {node.name}\n"
                           f"error: cannot delete Pods that declare no controller (use --force to override): {names}",
                           "nothing recreates a bare pod elsewhere: add --force to delete it anyway")
    ctx.print(f"node/{node.name} cordoned" if node.schedulable else f"node/{node.name} already cordoned")
    if bare:
        ctx.print("Warning: deleting Pods that declare no controller: "
                  + ", ".join(f"default/{r.name}" for r in bare))
    for r in pods:
        ctx.print(f"evicting pod default/{r.name}")
    for r in bare:
        ctx.cluster.remove_container(r.name)
    ctx.cluster.drain(node.name)
    names = {r.name for r in pods}
    ctx.cluster._wait_for(lambda: not any(r.name in names for r in ctx.cluster.state().replicas), 120)
    for r in pods:
        ctx.print(f"pod/{r.name} evicted")
    ctx.print(f"node/{node.name} drained")


# -- rollouts --------------------------------------------------------------------------------------------------
def rollout_line(w) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer, line for line."""
    name = w.name
    if w.updated < w.desired:
        return (f'Waiting for deployment "{name}" rollout to finish: {w.updated} out of {w.desired} new replicas '
                "have been updated..."), False
    if w.current > w.updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {w.current - w.updated} old replicas are '
                "pending termination..."), False
    if w.available < w.updated:
        return (f'Waiting for deployment "{name}" rollout to finish: {w.available} of {w.updated} updated replicas '
                "are available..."), False
    return f'deployment "{name}" successfully rolled out', True


def rollout_status(ctx, p: Parsed) -> None:
    name = one_deployment(p.args, "rollout status")
    workload(ctx, name)  # says "not found" the way kubectl does
    cluster = ctx.cluster
    watch = p.get("watch", True)
    timeout = p.get("timeout") or 0.0
    deadline = cluster.now() + (timeout or 3600.0)
    last = None
    while True:
        status = next((x for x in cluster._workloads() if x.name == name), None)  # cheap: no full snapshot
        if status is None:
            raise ConsoleError(f'Error from server (NotFound): deployments.apps "{name}" not found',
                               "it was deleted while we waited")
        line, done = rollout_line(status)
        if line != last:
            ctx.print(line)
            last = line
        if done or not watch:
            return
        if status.rollout == "failed":
            raise OutcomeError(f'error: deployment "{name}" exceeded its progress deadline',
                               f"kubectl describe deployment {name} and kubectl get events show why "
                               "(pods Pending: no room on the nodes? ImagePullBackOff: a wrong image?)")
        if status.paused:
            raise OutcomeError(f'error: deployment "{name}" is paused: its rollout waits until it is resumed',
                               f"kubectl rollout resume deployment/{name}")
        if cluster.now() >= deadline:
            raise OutcomeError("error: timed out waiting for the condition",
                               "wait longer (--timeout=5m) or look at kubectl get pods")
        cluster.run(0.5)


def rollout_history(ctx, p: Parsed) -> None:
    name = one_deployment(p.args, "rollout history")
    w = workload(ctx, name)
    history = w.history()
    revision = p.get("revision", 0)
    if revision:
        image = dict(history).get(revision)
        if image is None:
            raise ConsoleError(f"error: unable to find the specified revision {revision}",
                               f"revisions: {', '.join(str(r) for r, _ in history)}")
        ctx.print(f"deployment.apps/{name} with revision #{revision}\nPod Template:\n  Labels:\tapp={name}\n"
                  f"  Containers:\n   {name}:\n    Image:\t{image}\n    Port:\t<none>\n    Host Port:\t<none>\n"
                  "    Environment:\t<none>\n    Mounts:\t<none>\n  Volumes:\t<none>")
        return
    body = table(["REVISION", "CHANGE-CAUSE"], [[str(r), "<none>"] for r, _image in history], 0, 2)
    ctx.print(f"deployment.apps/{name}\n{body}")


def rollout_undo(ctx, p: Parsed) -> None:
    name = one_deployment(p.args, "rollout undo")
    w = workload(ctx, name)
    target = p.get("to-revision", 0)
    if target:
        history = dict(w.history())
        if target not in history:
            raise ConsoleError(f"error: unable to find specified revision {target} in history",
                               f"see kubectl rollout history deployment/{name}")
        status = w.status()
        if history[target] == status.image:
            ctx.print(f"deployment.apps/{name} skipped rollback (current template already matches revision {target})")
            return
        w.update(history[target])
    else:
        w.rollback()
    ctx.print(f"deployment.apps/{name} rolled back")


def rollout_pause(ctx, p: Parsed) -> None:
    name = one_deployment(p.args, "rollout pause")
    w = workload(ctx, name)
    if w.status().paused:
        raise ConsoleError(f'error: deployments.apps "{name}" is already paused',
                           f"resume it with kubectl rollout resume deployment/{name}")
    w.pause()
    ctx.print(f"deployment.apps/{name} paused")


def rollout_resume(ctx, p: Parsed) -> None:
    name = one_deployment(p.args, "rollout resume")
    w = workload(ctx, name)
    if not w.status().paused:
        raise ConsoleError(f'error: deployments.apps "{name}" is not paused', "")
    w.resume()
    ctx.print(f"deployment.apps/{name} resumed")


# -- the cluster -----------------------------------------------------------------------------------------------
def cluster_info(ctx, p: Parsed) -> None:
    if p.args:
        raise ConsoleError("error: kubectl cluster-info dump is not simulated",
                           "kubectl get events and kubectl describe node NAME show most of it")
    ctx.print(f"Kubernetes control plane is running at https://{SERVER}\n"
              f"CoreDNS is running at https://{SERVER}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy\n\n"
              "To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.")


def version(ctx, p: Parsed) -> None:
    ctx.print(f"Client Version: {VERSION}\nKustomize Version: {KUSTOMIZE}")
    if not p.get("client"):
        _check_server(ctx)
        ctx.print(f"Server Version: {VERSION}")


_OUTPUT = Flag("output", "o", help="Output format: wide, name, json or yaml")
_SELECTOR = Flag("selector", "l", help="Selector (label query) to filter on, e.g. app=my-web-server")
COMMANDS = {c.path: c for c in (
    _cmd("get", "[(-o|--output=)wide|name|json|yaml] (TYPE[.VERSION][.GROUP] [NAME ...]) [flags] [options]",
         "Display one or many resources", _OUTPUT, _SELECTOR,
         Flag("watch", "w", "bool", help="After listing, watch for changes (simulated time passes)"),
         Flag("all-namespaces", "A", "bool", help="List across all namespaces"),
         Flag("field-selector", help="Selector on fields, e.g. type=Warning"),
         Flag("sort-by", help="Sort list (accepted; lists are sorted by name)"),
         Flag("show-labels", "", "bool", help="(accepted)"), run=get),
    _cmd("describe", "(-f FILENAME | TYPE [NAME_PREFIX | -l label] | TYPE/NAME) [options]",
         "Show details of a specific resource or group of resources", _SELECTOR, run=describe),
    _cmd("create deployment", "NAME --image=image -- [COMMAND] [args...] [options]",
         "Create a deployment with the specified name",
         Flag("image", kind="list", help="Image names to run, e.g. --image=web-server:1"),
         Flag("replicas", "r", "int32", help="Number of replicas to create. Default is 1.", default=1),
         Flag("port", kind="int32", help="The containerPort that this deployment exposes."),
         Flag("dry-run", help="(accepted)"), min_args=1, max_args=1, run=create_deployment),
    _cmd("run", "NAME --image=image [--env=\"key=value\"] [--port=port] [--restart=Always|OnFailure|Never] [options]",
         "Run a particular image on the cluster (one pod)",
         Flag("image", help="The image for the container to run."),
         Flag("restart", help="The restart policy for this Pod: Always, OnFailure or Never", default="Always"),
         Flag("port", help="The port that this container exposes."),
         Flag("env", kind="list", help="Environment variables to set in the container."),
         Flag("labels", "l", help="Comma separated labels to apply to the pod(s)."), run=run_pod),
    _cmd("scale", "[--current-replicas=count] --replicas=COUNT (-f FILENAME | TYPE NAME) [options]",
         "Set a new size for a deployment",
         Flag("replicas", kind="int32", help="The new desired number of replicas. Required."),
         Flag("current-replicas", kind="int32", help="Precondition for current size.", default=-1), run=scale),
    _cmd("set image", "(-f FILENAME | TYPE NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... [options]",
         "Update the image of a pod template", Flag("record", kind="bool", hidden=True), run=set_image),
    _cmd("rollout status", "(TYPE NAME | TYPE/NAME) [flags] [options]", "Show the status of the rollout",
         Flag("watch", "w", "bool", default=True, help="Watch the status of the rollout until it's done."),
         Flag("timeout", kind="duration", help="The length of time to wait before ending watch, e.g. 5m"),
         Flag("revision", kind="int", help="(accepted)"), run=rollout_status),
    _cmd("rollout history", "(TYPE NAME | TYPE/NAME) [flags] [options]", "View rollout history",
         Flag("revision", kind="int", default=0, help="See the details of this revision"), run=rollout_history),
    _cmd("rollout undo", "(TYPE NAME | TYPE/NAME) [flags] [options]", "Undo a previous rollout",
         Flag("to-revision", kind="int", default=0, help="The revision to rollback to. Default to 0 (last revision)."),
         run=rollout_undo),
    _cmd("rollout pause", "RESOURCE", "Mark the provided resource as paused", run=rollout_pause),
    _cmd("rollout resume", "RESOURCE", "Resume a paused resource", run=rollout_resume),
    _cmd("delete", "([-f FILENAME] | TYPE [(NAME | -l label | --all)]) [options]",
         "Delete resources by resource names", _SELECTOR,
         Flag("all", kind="bool", help="Delete all resources of the given type"),
         Flag("wait", kind="bool", default=True, help="Wait for resources to be gone before returning"),
         Flag("force", kind="bool", help="(accepted)"), Flag("grace-period", kind="int", help="(accepted)"),
         run=delete),
    _cmd("cordon", "NODE [options]", "Mark node as unschedulable", min_args=1, max_args=1, run=cordon),
    _cmd("uncordon", "NODE [options]", "Mark node as schedulable", min_args=1, max_args=1, run=uncordon),
    _cmd("drain", "NODE [options]", "Drain node in preparation for maintenance",
         Flag("ignore-daemonsets", kind="bool", help="Ignore DaemonSet-managed pods."),
         Flag("force", kind="bool", help="Continue even if there are pods that do not declare a controller."),
         Flag("delete-emptydir-data", kind="bool", help="Continue even if there are pods using emptyDir"),
         Flag("delete-local-data", kind="bool", hidden=True),
         Flag("grace-period", kind="int", help="(accepted)"), Flag("timeout", kind="duration", help="(accepted)"),
         min_args=1, max_args=1, run=drain),
    _cmd("cluster-info", "[flags] [options]", "Display cluster information", run=cluster_info),
    _cmd("version", "[flags] [options]", "Print the client and server version information",
         Flag("client", kind="bool", help="If true, shows client version only (no server required)."),
         Flag("output", "o", help="(accepted)"), max_args=0, run=version),
)}
COMMANDS[("create", "deploy")] = COMMANDS[("create", "deployment")]


def syntax(argv: list[str]) -> None:
    """The UsageError this command line would raise, without running it."""
    argv = _hoist_globals(argv)
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] in NOT_SIMULATED:
        return
    if argv[0].startswith("-"):
        raise UsageError(f"Error: unknown flag: {argv[0]}\nSee 'kubectl --help' for usage.", "")
    cmd, rest = _find(argv)
    parse(cmd, rest)
