"""apps/v1 StatefulSets and DaemonSets through the real kubectl against a served simulator: the kinds
(kube/kinds/statefulsets.py, daemonsets.py, controllerrevisions.py) and the controllers that make them
act (sim/statefulsets.py, sim/daemonsets.py, sim/revisions.py), on a 3-node and a 1-node cluster."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from labkit.backends.sim.kube.serve import ServedCluster
from tests.conftest import kubectl_json

KUBECTL = os.path.join(os.path.dirname(sys.executable), "kubectl")


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(3, speed=20.0, seed=5).start()
    yield cluster
    cluster.stop()


read = kubectl_json  # kubectl get ... -o json, parsed


def until(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def template(app: str, image: str = "nginx:1.25", **pod) -> dict:
    container = {"name": "main", "image": image}
    if image.startswith("busybox"):
        container["command"] = ["sleep", "infinity"]
    return {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container], **pod}}


def statefulset(name: str, namespace: str, replicas: int = 3, probe_delay: int | None = None, **spec) -> str:
    pod = template(name)
    if probe_delay is not None:  # ready only this long (virtual seconds) after it starts
        pod["spec"]["containers"][0]["readinessProbe"] = {"tcpSocket": {"port": 80},
                                                          "initialDelaySeconds": probe_delay, "periodSeconds": 5}
    return json.dumps({"apiVersion": "apps/v1", "kind": "StatefulSet",
                       "metadata": {"name": name, "namespace": namespace},
                       "spec": {"serviceName": name, "replicas": replicas,
                                "selector": {"matchLabels": {"app": name}}, "template": pod, **spec}})


def daemonset(name: str, namespace: str, **pod) -> str:
    return json.dumps({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": namespace},
                       "spec": {"selector": {"matchLabels": {"app": name}},
                                "template": template(name, "busybox:1.36", **pod)}})


def pods(kubectl, namespace: str, app: str) -> dict[str, dict]:
    return {p["metadata"]["name"]: p for p in read(kubectl, "pods", "-n", namespace, "-l", f"app={app}")["items"]}


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def events(kubectl, namespace: str, kind: str) -> list[tuple[str, str]]:
    """(reason, message) of the namespace's events about `kind`, in the order they happened."""
    found = read(kubectl, "events", "-n", namespace, "--field-selector", f"involvedObject.kind={kind}")["items"]
    return [(e["reason"], e["message"]) for e in found]


def watched(text: str) -> list[dict]:
    """The events of a `kubectl get -w -o json --output-watch-events` stream."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        found, at = decoder.raw_decode(text, at)
        out.append(found)
    return out


# -- StatefulSets ----------------------------------------------------------------------------------
def test_ordered_ready_makes_one_pod_at_a_time_each_once_the_one_before_is_ready(kubectl, namespace, served):
    watch = subprocess.Popen([KUBECTL, "get", "pods", "-n", namespace, "-w", "-o", "json", "--output-watch-events"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             env={**os.environ, "KUBECONFIG": served.kubeconfig})
    try:
        time.sleep(0.5)
        code, out = kubectl("apply", "-f", "-", stdin=statefulset("web", namespace, probe_delay=10))
        assert (code, out.strip()) == (0, "statefulset.apps/web created")
        code, out = kubectl("rollout", "status", "statefulset/web", "-n", namespace, "--timeout=60s")
        assert code == 0
        assert out.strip().splitlines()[-1] == "partitioned roll out complete: 3 new pods have been updated..."
        time.sleep(0.5)
    finally:
        watch.terminate()
        stream = watch.communicate(timeout=10)[0]
    seen: dict[str, bool] = {}
    added = []
    for event in watched(stream):
        pod = event["object"]
        name = pod["metadata"]["name"]
        if event["type"] == "ADDED":
            ordinal = int(name.rsplit("-", 1)[1])
            assert all(seen.get(f"web-{i}") for i in range(ordinal)), f"{name} made before the ones below were ready"
            added.append(name)
        seen[name] = ready(pod) and pod["status"].get("phase") == "Running"
    assert added == ["web-0", "web-1", "web-2"]

    made = read(kubectl, "statefulset", "web", "-n", namespace)
    uid, status = made["metadata"]["uid"], made["status"]
    spec = made["spec"]
    assert (spec["podManagementPolicy"], spec["updateStrategy"], spec["revisionHistoryLimit"]) == \
        ("OrderedReady", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}, 10)
    revision = status["currentRevision"]
    assert revision.startswith("web-") and status == {
        "observedGeneration": 1, "replicas": 3, "readyReplicas": 3, "currentReplicas": 3, "updatedReplicas": 3,
        "availableReplicas": 3, "currentRevision": revision, "updateRevision": revision, "collisionCount": 0}
    found = pods(kubectl, namespace, "web")
    web1 = found["web-1"]
    assert web1["metadata"]["labels"] == {"app": "web", "controller-revision-hash": revision,
                                          "statefulset.kubernetes.io/pod-name": "web-1",
                                          "apps.kubernetes.io/pod-index": "1"}
    assert web1["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                                                    "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    assert (web1["spec"]["hostname"], web1["spec"]["subdomain"]) == ("web-1", "web")
    lines = kubectl("get", "sts", "-n", namespace)[1].splitlines()
    assert lines[0].split() == ["NAME", "READY", "AGE"] and lines[1].split()[:2] == ["web", "3/3"]
    wide = kubectl("get", "statefulsets", "-n", namespace, "-o", "wide")[1].splitlines()
    assert wide[0].split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert wide[1].split()[-2:] == ["main", "nginx:1.25"]
    described = kubectl("describe", "sts", "web", "-n", namespace)[1]
    assert "Pods Status:    3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert "statefulset-controller  create Pod web-2 in StatefulSet web successful" in described


def test_a_deleted_pod_comes_back_with_its_name_and_scale_down_takes_the_highest_first(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=statefulset("db", namespace, volumeClaimTemplates=[
        {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "1Gi"}}}}]))[0] == 0
    assert kubectl("rollout", "status", "sts/db", "-n", namespace, "--timeout=60s")[0] == 0
    before = pods(kubectl, namespace, "db")
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data-db-2"}} in before["db-2"]["spec"]["volumes"]
    claim = read(kubectl, "sts", "db", "-n", namespace)["spec"]["volumeClaimTemplates"][0]
    assert claim["metadata"]["name"] == "data" and claim["spec"]["volumeMode"] == "Filesystem"
    assert kubectl("delete", "pod", "db-1", "-n", namespace, "--wait=false")[0] == 0
    again = until(lambda: (p := pods(kubectl, namespace, "db").get("db-1")) and ready(p) and
                  p["metadata"]["uid"] != before["db-1"]["metadata"]["uid"] and p)
    assert again, "db-1 is made again under its name"
    code, out = kubectl("scale", "statefulset", "db", "-n", namespace, "--replicas=1")
    assert (code, out.strip()) == (0, "statefulset.apps/db scaled")
    assert until(lambda: set(pods(kubectl, namespace, "db")) == {"db-0"}, 60)
    deletes = [m for r, m in events(kubectl, namespace, "StatefulSet") if r == "SuccessfulDelete"]
    assert deletes[-2:] == ["delete Pod db-2 in StatefulSet db successful",
                            "delete Pod db-1 in StatefulSet db successful"]
    scale = read(kubectl, "sts", "db", "-n", namespace, "--subresource=scale")
    assert (scale["kind"], scale["spec"], scale["status"]) == ("Scale", {"replicas": 1},
                                                                {"replicas": 1, "selector": "app=db"})
    assert kubectl("delete", "sts", "db", "-n", namespace)[0] == 0
    assert until(lambda: not pods(kubectl, namespace, "db")), "its pods go with it"
    assert until(lambda: not read(kubectl, "controllerrevisions", "-n", namespace)["items"]), "and its history"


def test_parallel_makes_every_pod_at_once(kubectl, namespace):
    never = 3600  # no pod is ready within the test
    assert kubectl("apply", "-f", "-", stdin=statefulset("par", namespace, probe_delay=never,
                                                         podManagementPolicy="Parallel"))[0] == 0
    assert kubectl("apply", "-f", "-", stdin=statefulset("ord", namespace, probe_delay=never))[0] == 0
    assert until(lambda: len(pods(kubectl, namespace, "par")) == 3)
    time.sleep(1)
    assert set(pods(kubectl, namespace, "ord")) == {"ord-0"}, "OrderedReady waits for ord-0 to be ready"
    code, out = kubectl("rollout", "status", "sts/par", "-n", namespace, "--timeout=1s")
    assert code == 1 and "Waiting for 3 pods to be ready..." in out


def test_a_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=statefulset("part", namespace, updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"partition": 1}}))[0] == 0
    assert kubectl("rollout", "status", "sts/part", "-n", namespace, "--timeout=60s")[0] == 0
    first = read(kubectl, "sts", "part", "-n", namespace)["status"]["currentRevision"]
    assert kubectl("set", "image", "sts/part", "-n", namespace, "main=nginx:1.26")[0] == 0
    code, out = kubectl("rollout", "status", "sts/part", "-n", namespace, "--timeout=60s")
    assert code == 0
    assert out.strip().splitlines()[-1] == "partitioned roll out complete: 2 new pods have been updated..."
    status = read(kubectl, "sts", "part", "-n", namespace)["status"]
    assert status["currentRevision"] == first != status["updateRevision"]
    assert (status["observedGeneration"], status["updatedReplicas"], status["currentReplicas"]) == (2, 2, 1)
    found = pods(kubectl, namespace, "part")
    images = {name: p["spec"]["containers"][0]["image"] for name, p in found.items()}
    assert images == {"part-0": "nginx:1.25", "part-1": "nginx:1.26", "part-2": "nginx:1.26"}
    assert found["part-2"]["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
    deletes = [m for r, m in events(kubectl, namespace, "StatefulSet") if r == "SuccessfulDelete"]
    assert deletes == ["delete Pod part-2 in StatefulSet part successful",
                       "delete Pod part-1 in StatefulSet part successful"]
    assert kubectl("patch", "sts", "part", "-n", namespace, "-p",
                   '{"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}')[0] == 0
    assert until(lambda: read(kubectl, "sts", "part", "-n", namespace)["status"].get("currentReplicas") == 3, 60)
    status = read(kubectl, "sts", "part", "-n", namespace)["status"]
    assert status["currentRevision"] == status["updateRevision"] and status["updatedReplicas"] == 3


def test_max_unavailable_replaces_that_many_pods_at_once_from_the_highest_ordinal(kubectl, namespace, served):
    assert kubectl("apply", "-f", "-", stdin=statefulset("mu", namespace, replicas=4, updateStrategy={
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2}}))[0] == 0
    assert kubectl("rollout", "status", "sts/mu", "-n", namespace, "--timeout=60s")[0] == 0
    assert kubectl("set", "image", "sts/mu", "-n", namespace, "main=nginx:1.26")[0] == 0
    assert kubectl("rollout", "status", "sts/mu", "-n", namespace, "--timeout=60s")[0] == 0
    with served.api.lock:  # the controller's own log, with each step's virtual time
        steps = [(t, message.split()[0], message.split()[2]) for t, reason, obj, message, *_ in served.sim.api.events
                 if obj == f"statefulset/{namespace}/mu"]
    made_first = {name: t for t, verb, name in reversed(steps) if verb == "create"}
    deleted = [(t, name) for t, verb, name in steps if verb == "delete"]
    assert [name for _, name in deleted] == ["mu-3", "mu-2", "mu-1", "mu-0"], "from the highest ordinal down"
    (t3, _), (t2, _), (t1, _), (t0, _) = deleted
    assert t3 == t2 < t1 == t0, "two at a time"
    remade = {name: t for t, verb, name in steps if verb == "create" and t > made_first[name]}
    assert t2 < remade["mu-2"] < remade["mu-3"] < t1, "the next two once those are back"
    assert {p["spec"]["containers"][0]["image"] for p in pods(kubectl, namespace, "mu").values()} == {"nginx:1.26"}


def test_on_delete_changes_a_pod_only_once_it_is_deleted(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=statefulset("od", namespace, replicas=2,
                                                         updateStrategy={"type": "OnDelete"}))[0] == 0
    assert until(lambda: read(kubectl, "sts", "od", "-n", namespace)["status"].get("readyReplicas") == 2)
    code, out = kubectl("rollout", "status", "sts/od", "-n", namespace)
    assert code == 1 and "rollout status is only available for RollingUpdate strategy type" in out
    assert kubectl("set", "image", "sts/od", "-n", namespace, "main=nginx:1.26")[0] == 0
    time.sleep(1.5)
    images = lambda: {n: p["spec"]["containers"][0]["image"] for n, p in pods(kubectl, namespace, "od").items()}
    assert images() == {"od-0": "nginx:1.25", "od-1": "nginx:1.25"}
    assert kubectl("delete", "pod", "od-0", "-n", namespace, "--wait=false")[0] == 0
    assert until(lambda: images() == {"od-0": "nginx:1.26", "od-1": "nginx:1.25"})


def test_rollout_history_and_undo_read_and_use_controller_revisions(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=statefulset("hist", namespace, replicas=2))[0] == 0
    assert kubectl("rollout", "status", "sts/hist", "-n", namespace, "--timeout=60s")[0] == 0
    assert kubectl("set", "image", "sts/hist", "-n", namespace, "main=nginx:1.26")[0] == 0
    assert kubectl("rollout", "status", "sts/hist", "-n", namespace, "--timeout=60s")[0] == 0
    code, out = kubectl("rollout", "history", "sts/hist", "-n", namespace)
    assert code == 0 and [line.split() for line in out.strip().splitlines()] == \
        [["statefulset.apps/hist"], ["REVISION", "CHANGE-CAUSE"], ["1", "<none>"], ["2", "<none>"]]
    lines = kubectl("get", "controllerrevisions", "-n", namespace)[1].splitlines()
    assert lines[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
    assert sorted(line.split()[1:3] for line in lines[1:]) == [["statefulset.apps/hist", "1"],
                                                               ["statefulset.apps/hist", "2"]]
    code, out = kubectl("rollout", "undo", "sts/hist", "-n", namespace)
    assert code == 0 and "statefulset.apps/hist rolled back" in out
    assert kubectl("rollout", "status", "sts/hist", "-n", namespace, "--timeout=60s")[0] == 0
    images = {p["spec"]["containers"][0]["image"] for p in pods(kubectl, namespace, "hist").values()}
    assert images == {"nginx:1.25"}
    out = kubectl("rollout", "history", "sts/hist", "-n", namespace)[1]
    assert [line.split()[0] for line in out.strip().splitlines()[2:]] == ["2", "3"], "revision 1 is now 3"


def test_a_statefulset_checks_what_it_is_given(kubectl, namespace):
    never = json.loads(statefulset("bad", namespace))
    never["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(never))
    assert code == 1 and 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: ' \
        '"Always"' in out
    mismatch = json.loads(statefulset("bad", namespace))
    mismatch["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(mismatch))
    assert code == 1 and "`selector` does not match template `labels`" in out
    code, out = kubectl("apply", "-f", "-", stdin=statefulset("bad", namespace, podManagementPolicy="Random"))
    assert code == 1 and 'spec.podManagementPolicy: Unsupported value: "Random"' in out
    assert kubectl("apply", "-f", "-", stdin=statefulset("ok", namespace, replicas=0))[0] == 0
    code, out = kubectl("patch", "sts", "ok", "-n", namespace, "-p", '{"spec": {"serviceName": "other"}}')
    assert code == 1 and "spec: Forbidden: updates to statefulset spec for fields other than 'replicas'" in out
    code, out = kubectl("scale", "sts", "ok", "-n", namespace, "--replicas=-1")
    assert code == 1


# -- DaemonSets ------------------------------------------------------------------------------------
def test_a_daemonset_runs_one_pod_on_each_schedulable_node(kubectl, namespace):
    code, out = kubectl("apply", "-f", "-", stdin=daemonset("agent", namespace))
    assert (code, out.strip()) == (0, "daemonset.apps/agent created")
    code, out = kubectl("rollout", "status", "daemonset/agent", "-n", namespace, "--timeout=60s")
    assert code == 0 and out.strip().splitlines()[-1] == 'daemon set "agent" successfully rolled out', \
        (out, kubectl("get", "pods", "-A", "-o", "wide")[1], kubectl("get", "events", "-n", namespace)[1])
    made = read(kubectl, "ds", "agent", "-n", namespace)
    assert made["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                              "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert made["status"] == {"currentNumberScheduled": 3, "numberMisscheduled": 0, "desiredNumberScheduled": 3,
                              "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 3,
                              "numberAvailable": 3}
    found = list(pods(kubectl, namespace, "agent").values())
    assert sorted(p["spec"]["nodeName"] for p in found) == ["node-1", "node-2", "node-3"], "none on the control plane"
    pod = found[0]
    node = pod["spec"]["nodeName"]
    assert pod["metadata"]["generateName"] == "agent-" and pod["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"
    assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
    assert pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
    tolerated = {(t["key"], t["effect"]) for t in pod["spec"]["tolerations"]}
    assert {("node.kubernetes.io/unschedulable", "NoSchedule"), ("node.kubernetes.io/not-ready", "NoExecute")} <= \
        tolerated
    lines = kubectl("get", "ds", "-n", namespace)[1].splitlines()
    assert lines[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE", "SELECTOR",
                                "AGE"]
    assert lines[1].split()[:7] == ["agent", "3", "3", "3", "3", "3", "<none>"]
    everywhere = json.loads(daemonset("everywhere", namespace, tolerations=[
        {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]))
    assert kubectl("apply", "-f", "-", stdin=json.dumps(everywhere))[0] == 0
    assert until(lambda: sorted(p["spec"]["nodeName"] for p in pods(kubectl, namespace, "everywhere").values()) ==
                 ["control-plane", "node-1", "node-2", "node-3"]), "a toleration of its taint: the control plane too"
    assert kubectl("delete", "ds", "agent", "everywhere", "-n", namespace)[0] == 0
    assert until(lambda: not read(kubectl, "pods", "-n", namespace)["items"])


def test_a_rolling_update_replaces_one_node_s_pod_at_a_time(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=daemonset("roll", namespace))[0] == 0
    assert kubectl("rollout", "status", "ds/roll", "-n", namespace, "--timeout=60s")[0] == 0
    assert kubectl("set", "image", "ds/roll", "-n", namespace, "main=busybox:1.37")[0] == 0
    code, out = kubectl("rollout", "status", "ds/roll", "-n", namespace, "--timeout=60s")
    assert code == 0 and 'daemon set "roll" successfully rolled out' in out
    reasons = [r for r, _ in events(kubectl, namespace, "DaemonSet")][3:]
    assert reasons == ["SuccessfulDelete", "SuccessfulCreate"] * 3, "maxUnavailable 1: one node at a time"
    status = read(kubectl, "ds", "roll", "-n", namespace)["status"]
    assert (status["observedGeneration"], status["updatedNumberScheduled"], status["numberAvailable"]) == (2, 3, 3)
    assert {p["spec"]["containers"][0]["image"] for p in pods(kubectl, namespace, "roll").values()} == {"busybox:1.37"}
    out = kubectl("rollout", "history", "ds/roll", "-n", namespace)[1]
    assert [line.split()[0] for line in out.strip().splitlines()[2:]] == ["1", "2"]
    assert kubectl("rollout", "undo", "ds/roll", "-n", namespace)[0] == 0
    assert until(lambda: {p["spec"]["containers"][0]["image"] for p in pods(kubectl, namespace, "roll").values()} ==
                 {"busybox:1.36"}, 60)


def test_max_surge_starts_the_new_daemon_pod_before_the_old_one_goes(kubectl, namespace):
    surge = json.loads(daemonset("surge", namespace))
    surge["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert kubectl("apply", "-f", "-", stdin=json.dumps(surge))[0] == 0
    assert kubectl("rollout", "status", "ds/surge", "-n", namespace, "--timeout=60s")[0] == 0
    assert kubectl("rollout", "restart", "ds/surge", "-n", namespace)[0] == 0
    assert kubectl("rollout", "status", "ds/surge", "-n", namespace, "--timeout=60s")[0] == 0
    reasons = [r for r, _ in events(kubectl, namespace, "DaemonSet")][3:]
    assert reasons == ["SuccessfulCreate", "SuccessfulDelete"] * 3, "one node at a time, the new pod first"
    found = list(pods(kubectl, namespace, "surge").values())
    assert len(found) == 3 and all("kubectl.kubernetes.io/restartedAt" in p["metadata"]["annotations"] for p in found)


def test_node_selector_labels_and_cordons_decide_where_daemon_pods_run(kubectl, namespace):
    assert kubectl("label", "node", "node-3", "disk=ssd")[0] == 0
    assert kubectl("cordon", "node-2")[0] == 0
    try:
        assert kubectl("apply", "-f", "-", stdin=daemonset("ssd", namespace, nodeSelector={"disk": "ssd"}))[0] == 0
        assert kubectl("apply", "-f", "-", stdin=daemonset("all", namespace))[0] == 0
        where = lambda app: sorted(p["spec"]["nodeName"] for p in pods(kubectl, namespace, app).values()
                                   if not p["metadata"].get("deletionTimestamp"))
        assert until(lambda: where("ssd") == ["node-3"])
        assert until(lambda: where("all") == ["node-1", "node-2", "node-3"]), "a cordoned node runs daemon pods"
        assert kubectl("get", "ds", "ssd", "-n", namespace)[1].splitlines()[1].split()[6] == "disk=ssd"
        assert kubectl("label", "node", "node-1", "disk=ssd")[0] == 0
        assert until(lambda: where("ssd") == ["node-1", "node-3"]), "a node labelled so gets one"
        assert kubectl("label", "node", "node-3", "disk-")[0] == 0
        assert until(lambda: where("ssd") == ["node-1"]), "a node no longer labelled so loses it"
    finally:
        kubectl("uncordon", "node-2")
        kubectl("label", "node", "node-1", "disk-")
        kubectl("label", "node", "node-3", "disk-")


def test_a_daemonset_checks_what_it_is_given_and_kube_proxy_stays_the_cluster_s(kubectl, namespace):
    never = json.loads(daemonset("bad", namespace, restartPolicy="Never"))
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(never))
    assert code == 1 and 'spec.template.spec.restartPolicy: Unsupported value: "Never"' in out
    zero = json.loads(daemonset("bad", namespace))
    zero["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}}
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(zero))
    assert code == 1 and "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when " \
        "maxSurge is 0" in out
    assert kubectl("apply", "-f", "-", stdin=daemonset("ok", namespace))[0] == 0
    code, out = kubectl("patch", "ds", "ok", "-n", namespace, "-p",
                        '{"spec": {"selector": {"matchLabels": {"app": "ok", "x": "y"}}}}')
    assert code == 1 and "spec.selector: Invalid value" in out and "field is immutable" in out
    code, out = kubectl("label", "ds", "kube-proxy", "-n", "kube-system", "x=y")
    assert code == 1 and "kept by the cluster's own controllers" in out
    assert "kube-proxy" in kubectl("get", "ds", "-A")[1]


def test_a_statefulset_and_a_daemonset_of_one_name_and_template_keep_their_own_history(kubectl, namespace):
    assert kubectl("apply", "-f", "-", stdin=statefulset("twin", namespace, replicas=1))[0] == 0
    twin = json.loads(daemonset("twin", namespace))
    twin["spec"]["template"] = json.loads(statefulset("twin", namespace))["spec"]["template"]
    assert kubectl("apply", "-f", "-", stdin=json.dumps(twin))[0] == 0
    assert kubectl("rollout", "status", "sts/twin", "-n", namespace, "--timeout=60s")[0] == 0
    assert kubectl("rollout", "status", "ds/twin", "-n", namespace, "--timeout=60s")[0] == 0
    found = read(kubectl, "controllerrevisions", "-n", namespace)["items"]
    owners = sorted(r["metadata"]["ownerReferences"][0]["kind"] for r in found)
    assert owners == ["DaemonSet", "StatefulSet"] and len({r["metadata"]["name"] for r in found}) == 2
    for kind in ("sts", "ds"):
        out = kubectl("rollout", "history", f"{kind}/twin", "-n", namespace)[1]
        assert [line.split()[0] for line in out.strip().splitlines()[2:]] == ["1"], out


# -- a 1-node cluster ------------------------------------------------------------------------------
def test_on_one_node_and_a_node_that_joins():
    with ServedCluster(1, speed=20.0, seed=2) as one:
        def kubectl(*args: str, stdin: str | None = None) -> tuple[int, str]:
            done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=90,
                                  env={**os.environ, "KUBECONFIG": one.kubeconfig})
            return done.returncode, done.stdout + done.stderr

        assert kubectl("apply", "-f", "-", stdin=statefulset("web", "default", replicas=2))[0] == 0
        assert kubectl("apply", "-f", "-", stdin=daemonset("agent", "default"))[0] == 0
        assert kubectl("rollout", "status", "sts/web", "--timeout=60s")[0] == 0
        assert kubectl("rollout", "status", "ds/agent", "--timeout=60s")[0] == 0
        where = lambda app: sorted(p["spec"]["nodeName"] for p in pods(kubectl, "default", app).values())
        assert where("web") == ["node-1", "node-1"] and where("agent") == ["node-1"]
        with one.api.lock:
            one.sim.add_node()
        assert until(lambda: where("agent") == ["node-1", "node-2"]), "a node that joins gets a daemon pod"
        assert until(lambda: read(kubectl, "ds", "agent")["status"].get("numberAvailable") == 2)
        assert read(kubectl, "ds", "agent")["status"]["desiredNumberScheduled"] == 2
