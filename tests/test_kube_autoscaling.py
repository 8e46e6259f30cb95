"""metrics.k8s.io (kubectl top) and autoscaling/v2 HorizontalPodAutoscalers: the real kubectl against a
served simulator (kinds/metrics.py, kinds/horizontalpodautoscalers.py), and the HPA controller's
algorithm against the simulator itself (labkit/backends/sim/autoscaler.py, usage.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

import labkit
from labkit.backends.sim import SimBackend
from labkit.backends.sim.autoscaler import RECORD
from labkit.backends.sim.kube.registry import REGISTRY  # noqa: F401  (every kind, in discovery's order)
from labkit.backends.sim.replica_calculator import limited, policy_limit, replicas_for
from labkit.backends.sim.kube.kinds.horizontalpodautoscalers import prepare, targets
from labkit.backends.sim.kube.kinds.stored import Record
from labkit.backends.sim.kube.serve import ServedCluster
from labkit.backends.sim.usage import CPU_MS_PER_REQUEST, IDLE_MILLICORES, millicores

sys.path.insert(0, os.path.dirname(__file__))
from test_kube_api import KUBECTL  # noqa: E402


def deployment(name: str = "web", replicas: int = 1, cpu: str | None = "100m") -> dict:
    container = {"name": "web", "image": "web-server:1"}
    if cpu is not None:
        container["resources"] = {"requests": {"cpu": cpu}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}}}}


def runner(kubeconfig: str):
    def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
        done = subprocess.run([KUBECTL, *args], input=stdin, capture_output=True, text=True, timeout=90,
                              env={**os.environ, "KUBECONFIG": kubeconfig})
        return done.returncode, done.stdout + done.stderr
    return run


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(2, speed=20.0, seed=3).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def kubectl(served):
    return runner(served.kubeconfig)


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


def eventually(check, seconds: float = 20.0):
    """check() until it returns something true (the served clock runs 20x the wall clock)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


# -- metrics.k8s.io: kubectl top ------------------------------------------------------------------
def test_kubectl_top_pods_and_containers_show_the_idle_baseline_and_the_images_memory(kubectl, namespace):
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(deployment(replicas=2)))[0] == 0
    assert kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")[0] == 0
    code, out = kubectl("top", "pods", "-n", namespace)
    assert code == 0, out
    table = rows(out)
    assert table[0] == ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert len(table) == 3 and all(r[0].startswith("web-") and r[1:] == ["1m", "9Mi"] for r in table[1:])
    code, out = kubectl("top", "pod", "--containers", "-n", namespace)
    assert code == 0, out
    assert rows(out)[0] == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert all(r[1:] == ["web", "1m", "9Mi"] for r in rows(out)[1:])
    code, out = kubectl("get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods")
    listed = json.loads(out)
    assert listed["kind"] == "PodMetricsList" and listed["apiVersion"] == "metrics.k8s.io/v1beta1"
    one = listed["items"][0]
    assert one["window"] == "15s" and one["timestamp"].endswith("Z") and one["metadata"]["labels"]["app"] == "web"
    assert one["containers"][0]["usage"] == {"cpu": "1000000n", "memory": "9216Ki"}


def test_kubectl_top_nodes_sums_each_nodes_pods_and_its_own_overhead(kubectl):
    code, out = kubectl("top", "nodes")
    assert code == 0, out
    table = rows(out)
    assert table[0] == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    assert [r[0] for r in table[1:]] == ["control-plane", "node-1", "node-2"]
    assert all(r[1].endswith("m") and r[2].endswith("%") and r[3].endswith("Mi") for r in table[1:])
    plane = int(table[1][1][:-1])
    assert plane > 80  # etcd, the API server, the controller manager, the scheduler: more than a worker's
    node = json.loads(kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/node-1")[1])
    assert node["kind"] == "NodeMetrics" and node["window"] == "15s" and set(node["usage"]) == {"cpu", "memory"}


def test_the_metrics_group_is_discovered_and_read_only(kubectl):
    code, out = kubectl("api-resources", "--api-group=metrics.k8s.io", "-o", "wide")
    assert code == 0, out
    table = rows(out)
    assert [r[0] for r in table[1:]] == ["nodes", "pods"]
    assert [r[-1] for r in table[1:]] == ["get,list", "get,list"] and [r[-2] for r in table[1:]] == [
        "NodeMetrics", "PodMetrics"]
    code, out = kubectl("get", "--raw", "/openapi/v3/apis/metrics.k8s.io/v1beta1")
    document = json.loads(out)  # the kinds' own schemas (the release's have none of this group)
    paths, schemas = document["paths"], document["components"]["schemas"]
    assert set(paths["/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}"]) == {"get", "parameters"}
    refs = {r.split('"')[0] for r in json.dumps(paths).split('"#/components/schemas/')[1:]}
    assert "io.k8s.metrics.pkg.apis.metrics.v1beta1.PodMetricsList" in refs and refs <= set(schemas)
    assert "usage\t<map[string]Quantity>" in kubectl("explain", "nodemetrics")[1]
    code, out = kubectl("get", "nodemetrics")  # metrics-server's own table
    assert code == 0 and rows(out)[0] == ["NAME", "CPU", "MEMORY", "WINDOW"] and rows(out)[1][-1] == "15s", out
    code, out = kubectl("delete", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes/node-1")
    assert code != 0 and "MethodNotAllowed" in out, out


# -- autoscaling/v2 HorizontalPodAutoscalers -------------------------------------------------------
def test_kubectl_autoscale_sends_protobuf_and_get_hpa_prints_it_as_kubectl_does(kubectl, namespace):
    assert kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(deployment(cpu=None)))[0] == 0
    code, out = kubectl("autoscale", "deployment", "web", "-n", namespace, "--cpu-percent=50", "--min=1", "--max=10")
    assert code == 0 and "horizontalpodautoscaler.autoscaling/web autoscaled" in out, out
    code, out = kubectl("get", "hpa", "-n", namespace)
    table = rows(out)
    assert table[0] == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert table[1][:6] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "1", "10"]
    assert table[1][6] in ("0", "1")  # 0 until the controller's first look (every 15 s of cluster time)
    hpa = json.loads(kubectl("get", "horizontalpodautoscalers.autoscaling", "web", "-n", namespace, "-o", "json")[1])
    assert hpa["apiVersion"] == "autoscaling/v2" and hpa["metadata"]["generation"] == 1
    assert hpa["spec"] == {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                           "minReplicas": 1, "maxReplicas": 10,
                           "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                               "type": "Utilization", "averageUtilization": 50}}}]}

    def unable():  # its pods ask for no CPU: the controller says so, as the real one does
        found = json.loads(kubectl("get", "hpa", "web", "-n", namespace, "-o", "json")[1]).get("status") or {}
        return next((c for c in found.get("conditions") or [] if c["type"] == "ScalingActive"), None)
    condition = eventually(unable)
    assert condition is not None and (condition["status"], condition["reason"]) == ("False", "FailedGetResourceMetric")
    assert "failed to get cpu utilization: missing request for cpu in container web of Pod web-" in \
        condition["message"] or "did not receive metrics" in condition["message"]
    assert eventually(lambda: "missing request for cpu" in kubectl("describe", "hpa", "web", "-n", namespace)[1])
    events = kubectl("get", "events", "-n", namespace,
                     "--field-selector", "involvedObject.kind=HorizontalPodAutoscaler")
    assert "FailedGetResourceMetric" in events[1] and "horizontalpodautoscaler/web" in events[1], events


def test_an_hpa_written_as_yaml_is_defaulted_and_its_behavior_filled(kubectl, namespace):
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "api"},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                    "maxReplicas": 5, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60}}}}
    code, out = kubectl("create", "-n", namespace, "-f", "-", stdin=json.dumps(hpa))
    assert code == 0, out
    spec = json.loads(kubectl("get", "hpa", "api", "-n", namespace, "-o", "json")[1])["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 80}
    assert spec["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                                             "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert spec["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}
    assert "cpu: <unknown>/80%" in kubectl("get", "hpa", "api", "-n", namespace)[1]

    def failed_get_scale():  # its target does not exist
        found = json.loads(kubectl("get", "hpa", "api", "-n", namespace, "-o", "json")[1]).get("status") or {}
        return next((c for c in found.get("conditions") or [] if c["type"] == "AbleToScale"), None)
    condition = eventually(failed_get_scale)
    assert condition is not None and (condition["status"], condition["reason"]) == ("False", "FailedGetScale")
    assert condition["message"].endswith('deployments.apps "api" not found')


@pytest.mark.parametrize("spec, message", [
    ({"minReplicas": 0, "maxReplicas": 3}, "spec.minReplicas: Invalid value: 0: must be greater than or equal to 1"),
    ({"minReplicas": 4, "maxReplicas": 3},
     "spec.maxReplicas: Invalid value: 3: must be greater than or equal to `minReplicas`"),
    ({"maxReplicas": 0}, "spec.maxReplicas: Invalid value: 0: must be greater than 0"),
    ({"maxReplicas": 3, "scaleTargetRef": {"kind": "Deployment"}}, "spec.scaleTargetRef.name: Required value"),
    ({"maxReplicas": 3, "metrics": [{"type": "Resource"}]},
     "spec.metrics[0].resource: Required value: must populate information for the given metric source"),
    ({"maxReplicas": 3, "metrics": [{"type": "Cpu"}]}, 'spec.metrics[0].type: Unsupported value: "Cpu"'),
    ({"maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 0}}}]},
     "spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0"),
    ({"maxReplicas": 3, "behavior": {"scaleUp": {"stabilizationWindowSeconds": 4000}}},
     "spec.behavior.scaleUp.stabilizationWindowSeconds: Invalid value: 4000: must be less than or equal to 3600"),
])
def test_an_invalid_hpa_is_refused_with_upstreams_words(kubectl, spec, message):
    body = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "bad"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, **spec}}
    code, out = kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(body))
    assert code != 0 and 'HorizontalPodAutoscaler "bad" is invalid' in out and message in out, out


# -- an HPA scaling a deployment under labkit's traffic, cluster time stepped by the test ---------
def test_an_hpa_scales_a_deployment_up_under_traffic_and_down_after_the_stabilization_window():
    cluster = labkit.connect("sim", nodes=2, seed=3)
    with ServedCluster(backend=cluster.backend, speed=0.0) as served:
        kubectl = runner(served.kubeconfig)
        assert kubectl("apply", "-f", "-", stdin=json.dumps(deployment()))[0] == 0
        cluster.run(10)
        code, out = kubectl("autoscale", "deployment", "web", "--cpu=50%", "--min=1", "--max=10")
        assert code == 0, out
        cluster.expose("web", port=8080)
        traffic = cluster.traffic("web", rate=100, seconds=120)
        cluster.run(60)
        code, out = kubectl("top", "pods")
        assert code == 0 and all(int(r[1][:-1]) > 20 for r in rows(out)[1:]), out  # the requests cost CPU
        cluster.run(60)
        assert traffic.done and traffic.failed < 0.05 * traffic.total  # refused only while new pods load
        up = cluster.state().workload("web").desired
        assert up >= 3, kubectl("describe", "hpa", "web")[1]
        described = kubectl("describe", "hpa", "web")[1]
        assert f"New size: {up}; reason: cpu resource utilization (percentage of request) above target" in described \
            or "reason: cpu resource utilization (percentage of request) above target" in described
        table = rows(kubectl("get", "hpa", "web")[1])
        assert table[1][:3] == ["web", "Deployment/web", "cpu:"] and table[1][3].endswith("/50%")
        cluster.run(240)  # no traffic since t=130: the recommendations of the last 300 s still hold it up
        assert cluster.state().workload("web").desired == up
        assert "ScaleDownStabilized" in kubectl("describe", "hpa", "web")[1]
        cluster.run(120)  # past the window
        assert cluster.state().workload("web").desired == 1
        described = kubectl("describe", "hpa", "web")[1]
        assert "New size: 1; reason: All metrics below target" in described
        assert "cpu: 1%/50%" in kubectl("get", "hpa", "web")[1]
        assert not cluster.backend.clock.failures


# -- the algorithm, against the simulator directly -------------------------------------------------
def test_the_usage_model_costs_a_stated_cpu_per_request():
    sim = SimBackend(nodes=1, seed=1)
    assert millicores("250m") == 250 and millicores("0.5") == 500 and millicores("2") == 2000
    assert millicores("1500000n") == 1.5 and millicores("lots") is None
    for i in range(150):  # 10 requests a second for 15 s
        sim.usage.answered("p", i / 10)
    assert sim.usage.rate("p", now=14.95) == pytest.approx(10.0)
    assert sim.usage.rate("p", now=40.0) == 0.0


def test_replicas_for_keeps_the_count_within_the_tolerance_and_counts_unready_pods_as_idle():
    pods = {f"p{i}": 100.0 for i in range(2)}
    requests = {f"p{i}": 100.0 for i in range(4)}
    assert replicas_for(2, {"a": 54.0, "b": 55.0}, {"a": 100, "b": 100}, 50, set(), set(), True)[:2] == (2, 54)
    assert replicas_for(2, {"a": 60.0, "b": 60.0}, {"a": 100, "b": 100}, 50, set(), set(), True)[:2] == (3, 60)
    assert replicas_for(4, {"a": 10.0, "b": 10.0, "c": 10.0, "d": 10.0}, requests | {"a": 100, "b": 100, "c": 100,
                        "d": 100}, 50, set(), set(), True)[0] == 1
    # two ready pods at 100%, two just started: on a scale up they count as using nothing
    unready = {"p2", "p3"}
    usage = {**pods, "p2": 90.0, "p3": 90.0}
    assert replicas_for(4, usage, requests, 50, unready, set(), True)[0] == 4
    # two pods without metrics, on a scale down: counted as using their whole request
    assert replicas_for(4, {"p0": 10.0, "p1": 10.0}, requests, 50, set(), {"p2", "p3"}, True)[0] == 4


def test_limited_follows_convert_desired_replicas_with_rules():
    assert limited(1, 9, 1, 10) == (4, "ScaleUpLimit", "the desired replica count is increasing faster than the "
                                    "maximum scale rate")
    assert limited(5, 12, 1, 10)[:2] == (10, "ScaleUpLimit") or limited(5, 12, 1, 10)[:2] == (10, "TooManyReplicas")
    assert limited(6, 12, 1, 10)[:2] == (10, "TooManyReplicas")
    assert limited(3, 0, 2, 10)[:2] == (2, "TooFewReplicas")
    assert limited(3, 5, 1, 10)[:2] == (5, "DesiredWithinRange")


def test_policy_limit_counts_from_the_start_of_each_policys_period():
    up = {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                                              {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert policy_limit(up, 3, [], [], 100.0, up=True) == 7  # 3 + 4 beats 3 x 2
    assert policy_limit(up, 10, [], [], 100.0, up=True) == 20
    assert policy_limit(up, 10, [(95.0, 5)], [], 100.0, up=True) == 10  # 5 of the 10 came within the period
    down = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60},
                                                {"type": "Pods", "value": 1, "periodSeconds": 60}]}
    assert policy_limit(down, 5, [], [], 100.0, up=False) == 2  # int(5 x 0.5): the most change wins
    assert policy_limit({**down, "selectPolicy": "Min"}, 5, [], [], 100.0, up=False) == 4
    assert policy_limit({**down, "selectPolicy": "Disabled"}, 5, [], [], 100.0, up=False) is None


def test_targets_print_each_metric_as_kubectl_does():
    spec = {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                     "averageUtilization": 50}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue",
                                                                                        "averageValue": "100Mi"}}},
                        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                                         "averageValue": "10"}}}]}
    status = {"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 12, "averageValue": "12m"}}}]}
    assert targets(spec, status) == "cpu: 12%/50%, memory: <unknown>/100Mi + 1 more..."
    assert targets({"metrics": spec["metrics"][:1]}, {}) == "cpu: <unknown>/50%"


def sim_with_hpa(hpa_spec: dict, cpu: int = 100) -> SimBackend:
    sim = SimBackend(nodes=2, seed=1)
    from labkit.backends.base import DeploySpec
    sim.deploy(DeploySpec(name="web", image="web-server:1", replicas=1, cpu=cpu))
    sim.advance(30)
    body = prepare({"spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                             "maxReplicas": 10, **hpa_spec}}, None)
    sim.api.write(RECORD, Record("web", body, sim.now()))
    return sim


def load(sim: SimBackend, per_pod: float, seconds: float) -> None:
    """Each running pod of web answers `per_pod` requests a second for the next `seconds`."""
    for pod in sim.api.items("pods").values():
        if pod.phase == "running" and not pod.deleting:
            for i in range(int(per_pod * seconds)):
                sim.usage.answered(pod.name, sim.now() + i / per_pod)


def replicas(sim: SimBackend) -> int:
    return sim.api.items("deployments")["web"].replicas


def status(sim: SimBackend) -> dict:
    return sim.api.items(RECORD)["web"].body["status"]


def test_the_controller_keeps_the_count_within_the_tolerance_and_scales_beyond_it():
    target = {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                                     "averageUtilization": 50}}}]}
    sim = sim_with_hpa(target)
    per_request = CPU_MS_PER_REQUEST
    load(sim, (54 - IDLE_MILLICORES) / per_request, 30)  # 54m of a 100m request: 54%, within 10% of 50%
    sim.advance(30)
    assert replicas(sim) == 1
    assert status(sim)["currentMetrics"][0]["resource"]["current"]["averageUtilization"] in (54, 55)
    load(sim, (80 - IDLE_MILLICORES) / per_request, 60)  # 80%: 1.6 x the target
    sim.advance(15)
    assert replicas(sim) == 2
    assert any(e[1] == "SuccessfulRescale" and e[3] == "New size: 2; reason: cpu resource utilization (percentage of "
               "request) above target" for e in sim.api.events)


def test_the_controller_scales_down_only_after_the_stabilization_window():
    sim = sim_with_hpa({})  # 80% CPU by default
    load(sim, 150, 30)  # 301% of the request
    sim.advance(30)
    assert replicas(sim) == 4  # ceil(301 / 80) = 4, and at most max(2 x 1, 4) at once
    limited_ = {c["type"]: c for c in status(sim)["conditions"]}["ScalingLimited"]
    assert limited_["reason"] in ("ScaleUpLimit", "DesiredWithinRange")
    high = sim.now()
    sim.advance(250)  # idle, but the last 300 s recommended 4
    assert replicas(sim) == 4
    conditions = {c["type"]: c for c in status(sim)["conditions"]}
    assert conditions["AbleToScale"]["reason"] == "ScaleDownStabilized"
    sim.advance(high + 330 - sim.now())
    assert replicas(sim) == 1
    assert status(sim)["desiredReplicas"] == 1


def test_a_behavior_without_a_scale_down_window_scales_down_at_once_and_its_policies_limit_a_scale_up():
    sim = sim_with_hpa({"behavior": {"scaleDown": {"stabilizationWindowSeconds": 0},
                                     "scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}})
    load(sim, 150, 20)
    sim.advance(16)
    assert replicas(sim) == 2  # one pod a minute at most
    sim.advance(60)
    assert replicas(sim) <= 3
    sim.advance(60)  # the load ended: no window holds it up
    assert replicas(sim) == 1


def test_a_pod_without_a_cpu_request_makes_the_metric_invalid_as_upstream_says():
    sim = sim_with_hpa({}, cpu=0)
    sim.advance(30)
    conditions = {c["type"]: c for c in status(sim)["conditions"]}
    assert (conditions["ScalingActive"]["status"], conditions["ScalingActive"]["reason"]) == \
        ("False", "FailedGetResourceMetric")
    assert "failed to get cpu utilization: missing request for cpu in container web of Pod web-" in \
        conditions["ScalingActive"]["message"]
    assert status(sim)["currentMetrics"] == [{"type": ""}]
    assert replicas(sim) == 1


def test_the_controller_rests_while_the_controller_manager_is_stopped():
    sim = sim_with_hpa({})
    sim.stop_component("controller-manager")
    load(sim, 150, 60)
    sim.advance(45)
    assert replicas(sim) == 1 and "status" not in sim.api.items(RECORD)["web"].body
    sim.start_component("controller-manager")
    sim.advance(16)
    assert replicas(sim) > 1
