"""Lesson 09 · Configuration, batch work and autoscaling: ConfigMaps, Jobs and a HorizontalPodAutoscaler.

Everything here goes through the real kubectl (the student's `%kubectl`) and labkit's facade
(`cluster.expose`, `cluster.traffic`), and every check reads what the cluster shows: a pod's
environment from what its program printed (`kubectl logs`), a Job's spec and status, an HPA's
spec, its conditions and the rescales it made. As on a real cluster:

  config     a container's environment is made once, when it starts (kubelet_pods.go
             makeEnvironmentVariables): a ConfigMap changed afterwards reaches new containers only,
             so the pods must be replaced (`kubectl rollout restart`);
  job        a Job runs pods until `completions` of them succeed, at most `parallelism` at a time;
             its pod template and completions cannot change once it is made (pkg/apis/batch/validation);
  autoscale  the HPA scales on CPU *utilization*, usage over request: a pod without a CPU request
             gives it nothing to divide by, and it says "missing request for cpu"
             (pkg/controller/podautoscaler/replica_calculator.go).

What the simulator does not model, and the lesson therefore does not show: the kubelet refreshing a
mounted ConfigMap file in a running pod (a real one does within about a minute; here a mounted
file keeps what it held when the container started).
"""
from __future__ import annotations

import json
import os
import tempfile

from ..exercises import (Exercise, Lesson, Stuck, delete_workload, events_about, last_traffic, praise, reset_at,
                         timeline_of, workload_problems)

TITLE = "Configuration, batch work and autoscaling"

# The manifests the lesson shows (lab.manifest(name) prints one and writes it to a file to apply).
MANIFESTS = {
    "greeter": """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: greeter
  labels: {app: greeter}
spec:
  replicas: 2
  selector:
    matchLabels: {app: greeter}
  template:
    metadata:
      labels: {app: greeter}
    spec:
      containers:
      - name: greeter
        image: busybox:1.36
        command: ["sh", "-c", "while true; do echo \\"$GREETING from $HOSTNAME\\"; sleep 10; done"]
        envFrom:                          # every key of the ConfigMap becomes a variable
        - configMapRef: {name: greeting}
        volumeMounts:                     # and every key a file under /etc/greeting
        - {name: settings, mountPath: /etc/greeting}
      volumes:
      - name: settings
        configMap: {name: greeting}
""",
    "thumbnails": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: thumbnails
spec:
  completions: 6        # six pods must succeed
  parallelism: 2        # at most two run at a time
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: resize
        image: busybox:1.36
        command: ["sh", "-c", "echo resizing on $HOSTNAME; sleep 10; echo resized"]
""",
    "flaky": """\
apiVersion: batch/v1
kind: Job
metadata:
  name: flaky
spec:
  backoffLimit: 2       # two retries, then the Job fails
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: export
        image: busybox:1.36
        command: ["sh", "-c", "echo cannot reach the database; exit 1"]
""",
}

# 09.config starts from `web`, greeting with what its ConfigMap `web-config` says (hi).
WEB_CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config"},
              "data": {"GREETING": "hi"}}
WEB = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{
                    "name": "web", "image": "busybox:1.36", "envFrom": [{"configMapRef": {"name": "web-config"}}],
                    "command": ["sh", "-c", 'while true; do echo "web says: $GREETING"; sleep 10; done']}]}}}}
# 09.autoscale starts from `shop`: two nginx pods behind a Service, no CPU request yet.
SHOP = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "labels": {"app": "shop"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop"}},
                 "template": {"metadata": {"labels": {"app": "shop"}}, "spec": {"containers": [{
                     "name": "nginx", "image": "nginx:1.27", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}}
JOB = "cleanup"  # 09.job's Job
COMPLETIONS, PARALLELISM = 5, 2
LOW, HIGH, TARGET = 2, 8, 50  # 09.autoscale's HPA: min, max, CPU utilization (%)


def kubectl(cluster, line: str) -> str:
    """Run one kubectl line against `cluster` (the real kubectl, as the student's %kubectl)."""
    from ..console import run
    return run(f"kubectl {line}", cluster)


def _get(cluster, what: str) -> dict | None:
    """`kubectl get WHAT -o json`, or None when there is none."""
    kind, _, name = what.partition("/")
    found = kubectl(cluster, f"get {kind} {name} -o json --ignore-not-found").strip()
    return json.loads(found) if found else None


def save(name: str, text: str) -> str:
    """Write `text` (a manifest: YAML, or JSON, which is YAML too) to a file of its own, out of the
    notebook's folder; its path, for `%kubectl apply -f $path` (the console has no stdin)."""
    path = os.path.join(tempfile.gettempdir(), f"labkit-09-{name}.yaml")
    with open(path, "w", encoding="utf-8") as out:
        out.write(text)
    return path


def manifest(name: str) -> str:
    """Write the manifest `name` the lesson shows (one of MANIFESTS) to a file; its path."""
    if name not in MANIFESTS:
        raise ValueError(f"no manifest {name!r}: one of {', '.join(MANIFESTS)}")
    return save(name, MANIFESTS[name])


def _apply(cluster, name: str, body: dict) -> None:
    kubectl(cluster, f"apply -f {save(name, json.dumps(body))}")


# -- 09.config ----------------------------------------------------------------------------------
def reset_config(cluster) -> str:
    """`web` and its ConfigMap made again: web's pods say hi."""
    delete_workload(cluster, "web")
    if _get(cluster, "configmap/web-config") is not None:
        kubectl(cluster, "delete configmap web-config")
    _apply(cluster, "web-config", WEB_CONFIG)
    _apply(cluster, "web", WEB)
    cluster.wait()
    return "web made again; its ConfigMap web-config says GREETING=hi"


def _greeting_source(cluster, template: dict) -> tuple[str, dict | None, str] | str:
    """Where the container's GREETING comes from: (ConfigMap, that ConfigMap or None, key), or what is
    wrong with it. As the kubelet makes the environment: envFrom in order, then env in order; a later
    one wins."""
    container = ((template.get("spec") or {}).get("containers") or [{}])[0]
    for var in reversed(container.get("env") or []):
        if var.get("name") == "GREETING":
            ref = (var.get("valueFrom") or {}).get("configMapKeyRef")
            if not ref:
                return "web's pod template writes GREETING itself (env), so it comes from no ConfigMap"
            return ref.get("name", ""), _get(cluster, f"configmap/{ref.get('name', '')}"), ref.get("key", "")
    for source in reversed(container.get("envFrom") or []):
        ref, prefix = source.get("configMapRef"), source.get("prefix") or ""
        if not ref or not "GREETING".startswith(prefix):
            continue
        config, key = _get(cluster, f"configmap/{ref.get('name', '')}"), "GREETING"[len(prefix):]
        if config is None or key in (config.get("data") or {}):
            return ref.get("name", ""), config, key
    return "nothing in web's pod template sets GREETING from a ConfigMap"


def _said(cluster, pod: str) -> str:
    """The last line the pod's container printed."""
    lines = kubectl(cluster, f"logs {pod} --tail=1").strip().splitlines()
    return lines[-1] if lines else ""


@praise("A container's environment is made once, when it starts: changing the ConfigMap changed nothing in "
        "the pods that ran, and new pods (a rollout restart) read it anew.")
def check_config(cluster) -> list[str]:
    deployment = _get(cluster, "deployment/web")
    if deployment is None:
        return [Stuck("there is no deployment web any more: the exercise is about web's pods")]
    state = cluster.state()
    problems = workload_problems(state, "web", 2)
    source = _greeting_source(cluster, deployment["spec"]["template"])
    if isinstance(source, str):
        return problems + [source]
    name, config, key = source
    if config is None:
        return problems + [f"web's pods read GREETING from the ConfigMap {name}, and there is none"]
    value = (config.get("data") or {}).get(key)
    if value != "hello":
        problems.append(f"the ConfigMap {name} says GREETING={value}, not hello")
    pods = json.loads(kubectl(cluster, "get pods -l app=web -o json"))["items"]
    running = [p["metadata"]["name"] for p in pods
               if (p.get("status") or {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
    said = {pod: _said(cluster, pod) for pod in running}
    stale = sorted({line for line in said.values() if line != "web says: hello"})
    if stale:
        count = sum(1 for line in said.values() if line != "web says: hello")
        problems.append(f"{count} of web's running pods still print {' / '.join(repr(s) for s in stale)}"
                        + (": their containers started before the ConfigMap said hello" if value == "hello" else ""))
    return problems


# -- 09.job -------------------------------------------------------------------------------------
def reset_job(cluster) -> str:
    """No Job `cleanup` (nor its pods)."""
    if _get(cluster, f"job/{JOB}") is None:
        return f"there was no Job {JOB} yet: nothing to undo"
    kubectl(cluster, f"delete job {JOB} --cascade=foreground --wait=true")
    return f"deleted the Job {JOB} and its pods"


@praise("A Job counts successes, not pods: completions how many must succeed, parallelism how many may run at "
        "once; a failed pod is made again until backoffLimit.")
def check_job(cluster) -> list[str]:
    job = _get(cluster, f"job/{JOB}")
    if job is None:
        return [f"there is no Job named {JOB} yet"]
    spec, status = job.get("spec") or {}, job.get("status") or {}
    problems: list[str] = []
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    if completions != COMPLETIONS:
        problems.append(Stuck(f"the Job {JOB} asks for {completions} completion(s), not {COMPLETIONS}: a Job's "
                              "completions cannot change once it is made, so it has to be made again"))
    if parallelism != PARALLELISM:
        problems.append(f"the Job {JOB} runs {parallelism} pod(s) at a time, not {PARALLELISM}")
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    if conditions.get("Failed") == "True":
        problems.append(f"the Job {JOB} failed ({status.get('failed', 0)} pod(s) failed): "
                        f"kubectl logs -l job-name={JOB} shows what they printed")
    elif conditions.get("Complete") != "True":
        problems.append(f"the Job {JOB} is not complete yet: {status.get('succeeded', 0)} of {completions} "
                        "succeeded (kubectl wait --for=condition=complete waits for it)")
    pods = json.loads(kubectl(cluster, f"get pods -l job-name={JOB} -o json"))["items"]
    succeeded = [p["metadata"]["name"] for p in pods if (p.get("status") or {}).get("phase") == "Succeeded"]
    silent = [pod for pod in succeeded if "done" not in kubectl(cluster, f"logs {pod}").split()]
    if silent:
        problems.append(f"{len(silent)} of {JOB}'s pods that succeeded did not print done")
    return problems


# -- 09.autoscale -------------------------------------------------------------------------------
def _hpas_of(cluster, name: str) -> list[dict]:
    """The HPAs that scale deployment `name`."""
    found = json.loads(kubectl(cluster, "get hpa -o json")).get("items", [])
    return [h for h in found if ((h.get("spec") or {}).get("scaleTargetRef") or {}).get("name") == name
            and h["spec"]["scaleTargetRef"].get("kind") == "Deployment"]


def reset_autoscale(cluster) -> str:
    """`shop` made again (2 pods, no CPU request) behind its Service, and no HPA."""
    for hpa in _hpas_of(cluster, "shop"):
        kubectl(cluster, f"delete hpa {hpa['metadata']['name']}")
    delete_workload(cluster, "shop")
    if _get(cluster, "service/shop") is not None:
        kubectl(cluster, "delete service shop")
    _apply(cluster, "shop", SHOP)
    cluster.wait()
    cluster.expose("shop", port=8080)
    return "shop made again with 2 pods and its Service, and no autoscaler"


def _cpu_target(hpa: dict) -> int | None:
    for metric in (hpa.get("spec") or {}).get("metrics") or []:
        source = metric.get("resource") or {}
        if metric.get("type") == "Resource" and source.get("name") == "cpu":
            return (source.get("target") or {}).get("averageUtilization")
    return None


@praise("The autoscaler divided the pods' CPU usage by their request, wanted more pods while it was above "
        "50%, and stayed between its bounds: no request, nothing to divide by.")
def check_autoscale(cluster) -> list[str]:
    if cluster.state().workload("shop") is None:
        return [Stuck("there is no deployment shop any more: the autoscaler is to scale it")]
    hpas = _hpas_of(cluster, "shop")
    if not hpas:
        return ["no HorizontalPodAutoscaler scales the deployment shop yet (kubectl get hpa lists none)"]
    hpa = hpas[0]
    spec, name = hpa["spec"], hpa["metadata"]["name"]
    problems = []
    if (spec.get("minReplicas"), spec.get("maxReplicas")) != (LOW, HIGH):
        problems.append(f"the HPA {name} keeps shop between {spec.get('minReplicas')} and {spec.get('maxReplicas')} "
                        f"replicas, not {LOW} and {HIGH}")
    if _cpu_target(hpa) != TARGET:
        problems.append(f"the HPA {name} aims at {_cpu_target(hpa)}% CPU utilization, not {TARGET}%")
    conditions = {c["type"]: c for c in (hpa.get("status") or {}).get("conditions") or []}
    active = conditions.get("ScalingActive") or {}
    if active.get("status") == "False":
        problems.append(f"the HPA {name} cannot work out shop's CPU utilization; it says: {active.get('message')}")
    since = reset_at(cluster, "09.autoscale")
    traffic = last_traffic(cluster, "shop", since)
    if traffic is None:
        return problems + ["no traffic was sent to shop since the exercise's start: the autoscaler has nothing to "
                           "react to"]
    rescaled = events_about(cluster, reason="SuccessfulRescale", object=f"horizontalpodautoscaler/{name}",
                            since=traffic.start)
    most = max([w.desired for _, w in timeline_of(cluster, "shop", traffic.start)]
               + [cluster.state().workload("shop").desired])
    if not rescaled or most <= LOW:
        problems.append(f"while the traffic ran, the autoscaler did not scale shop up (at most {most} replicas)"
                        + ("" if traffic.done else f"; the traffic is still running until t={traffic.end:g}: "
                           "let cluster time pass"))
    return problems


EXERCISES = [
    Exercise("config", "make `web` greet with GREETING=hello from a ConfigMap, and see it in its pods' logs",
             (
                 "web's pods read GREETING from a ConfigMap when their containers start: kubectl describe "
                 "deployment web names it; kubectl logs deploy/web shows what they say",
                 "%kubectl patch configmap web-config -p ... changes the ConfigMap; then the pods must be made "
                 "anew: kubectl rollout restart deployment/web",
                 "%kubectl patch configmap web-config -p '{\"data\":{\"GREETING\":\"hello\"}}'; "
                 "%kubectl rollout restart deployment/web; %kubectl rollout status deployment/web; "
                 "%kubectl logs deploy/web --tail=1"),
             check_config, wrong="changing the ConfigMap without restarting the pods: their environment is "
                                 "unchanged; or `kubectl set env GREETING=hello`: not from a ConfigMap",
             reset=reset_config),
    Exercise("job", f"run a Job `{JOB}` whose pods each print `done`: {COMPLETIONS} must succeed, "
                    f"{PARALLELISM} at a time, and it completes",
             (
                 "kubectl create job makes a Job of one pod; completions and parallelism are in a Job's spec, "
                 "so write a manifest as the thumbnails one",
                 f"a manifest like the thumbnails one with name {JOB}, completions: {COMPLETIONS}, "
                 f"parallelism: {PARALLELISM} and a command that echoes done; lab.save(name, text) writes it to a "
                 "file and returns its path for %kubectl apply -f $path",
                 f"path = lab.save('{JOB}', text) with text the thumbnails manifest, its name {JOB}, completions: "
                 f"{COMPLETIONS}, parallelism: {PARALLELISM}, command [\"sh\", \"-c\", \"echo done\"]; %kubectl apply "
                 f"-f $path; %kubectl wait --for=condition=complete job/{JOB} --timeout=120s; "
                 f"%kubectl logs -l job-name={JOB}"),
             check_job, wrong="`kubectl create job cleanup ... -- echo done`: one completion, and completions "
                              "cannot be changed afterwards", reset=reset_job),
    Exercise("autoscale", f"an HPA keeps `shop` between {LOW} and {HIGH} replicas at {TARGET}% CPU, and under "
                          "the traffic the exercise gives it scales shop up",
             (
                 "the autoscaler works on CPU utilization, usage divided by the pods' CPU request: "
                 "kubectl describe hpa shop says what it can and cannot compute",
                 "%kubectl set resources deployment shop --requests=cpu=... first, then %kubectl autoscale "
                 "deployment shop --cpu=50% --min=... --max=...; then the traffic and k8s.run(...)",
                 "%kubectl set resources deployment shop --requests=cpu=100m; %kubectl rollout status "
                 "deployment/shop; %kubectl autoscale deployment shop --cpu=50% --min=2 --max=8; "
                 "rush = k8s.traffic('shop', rate=150, seconds=180); k8s.run(180); %kubectl get hpa shop"),
             check_autoscale, wrong="an autoscaler on pods without a CPU request: it cannot compute a "
                                    "utilization and never scales; or `kubectl scale` by hand",
             reset=reset_autoscale),
]

Lesson("09", title=TITLE, exercises=EXERCISES, helpers=__name__)
