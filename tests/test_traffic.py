"""Traffic on the simulator: requests to an exposed workload, and what they meet (labkit.traffic)."""
from __future__ import annotations

import pytest

import labkit as lk
from labkit.errors import AlreadyExists, InvalidInput, NotFound, Refused
from labkit.traffic import MAX_RATE


def exposed(flavor: str = "kubernetes", replicas: int = 4, **strategy):
    cluster = lk.connect(nodes=3, flavor=flavor, seed=5)
    web = cluster.deploy("shop", image="web-server:1", replicas=replicas, **strategy)
    cluster.wait()
    cluster.run(3)  # the demo images listen 2 s after they start
    cluster.expose("shop", port=8080)
    return cluster, web


def test_a_canary_at_ten_percent_answers_one_request_in_ten():
    cluster, web = exposed(replicas=20)
    web.canary("web-server:2", percent=10)
    cluster.wait()
    cluster.run(3)  # its pods listen
    record = cluster.traffic("shop", rate=50, seconds=40)
    cluster.run(40)
    answers = record.answers()
    assert len(record.requests) == 2000 and record.failed == 0 and record.done
    assert abs(answers["hello v2"] / 2000 - 0.10) <= 0.03, answers
    assert set(answers) == {"hello v1", "hello v2"}


def test_a_rolling_update_loses_no_request_only_with_readiness_and_a_pre_stop_hook():
    cluster, web = exposed(max_surge=1, max_unavailable=0, readiness=True, pre_stop=5)
    ready = cluster.traffic("shop", rate=20, seconds=60)
    web.update("web-server:2")
    cluster.run(60)
    assert ready.failed == 0 and {"hello v1", "hello v2"} <= set(ready.answers())
    assert cluster.state().replicas[0].phase == "running"

    # The probe alone: an old pod is deleted and sent SIGTERM at the same moment, and the Service's
    # proxies still send it requests for ENDPOINT_LAG (the endpoint's removal reaching them): the demo
    # server has stopped listening, so those few are refused; each went to an old pod, v1.
    from labkit.backends.sim.controllers import ENDPOINT_LAG
    cluster, web = exposed(max_surge=1, max_unavailable=0, readiness=True)
    old = {r.name for r in cluster.state().replicas}
    raced = cluster.traffic("shop", rate=20, seconds=60)
    web.update("web-server:2")
    cluster.run(60)
    refused = [r for r in raced.requests if r.outcome == "refused"]
    assert refused and {r.replica for r in refused} <= old
    assert len(refused) <= 4 * ENDPOINT_LAG * 20  # at most the whole rate for the lag, once per old pod
    answered = [r for r in raced.requests if r.outcome == "ok"]
    assert len(answered) + len(refused) == 1200

    # Without a probe a new pod is Ready as its container starts, 2 s before it listens: each of
    # the 4 new pods gets its share of requests for those 2 s, and refuses them.
    cluster, web = exposed(max_surge=1, max_unavailable=0, pre_stop=5)
    unready = cluster.traffic("shop", rate=20, seconds=60)
    web.update("web-server:2")
    cluster.run(60)
    refused = [r for r in unready.requests if r.outcome == "refused"]
    assert refused and {r.replica for r in refused} <= {x.name for x in cluster.state().replicas}
    assert 4 <= len(refused) <= 4 * 2 * 20 / 4  # at most a whole share of 2 s for each new pod

    cluster, web = exposed(type="Recreate", readiness=True)
    recreate = cluster.traffic("shop", rate=20, seconds=60)
    web.update("web-server:2")
    cluster.run(60)
    assert recreate.failed > 0 and set(recreate.answers()) == {"hello v1", "hello v2", "refused"}
    gap = [second for second, answers in recreate.per_second() if "refused" in answers]
    assert gap and max(gap) - min(gap) <= 6  # one gap, while no pod was ready


def test_a_node_that_fails_times_requests_out_until_the_cluster_notices():
    cluster, _ = exposed(replicas=6)
    record = cluster.traffic("shop", rate=10, seconds=120)
    cluster.fail_node("node-2")
    cluster.run(120)
    timeouts = [r.time - record.start for r in record.requests if r.outcome == "timeout"]
    assert timeouts and all(r.replica.startswith("shop-") for r in record.requests if r.outcome == "timeout")
    notready = next(e.time for e in cluster.events() if e.reason == "NodeNotReady" and e.object == "node/node-2")
    assert max(timeouts) <= notready - record.start + 1  # the endpoints go once the node is NotReady
    assert all(r.outcome == "ok" for r in record.requests if r.time > notready + 1)


def swarm_update_under_traffic(cluster, web):
    record = cluster.traffic("shop", rate=50, seconds=40)
    cluster.run(3)
    web.update("web-server:2")
    cluster.run(40)
    return record


def test_a_swarm_update_loses_no_request_with_start_first_and_a_healthcheck_only():
    """The simulator's half of the acceptance scenario that tests/test_traffic_real.py runs on the
    real playground: 6 replicas, 50 requests a second, the same two verdicts."""
    cluster, web = exposed("swarm", replicas=6, order="start-first", readiness=True)
    safe = swarm_update_under_traffic(cluster, web)
    assert safe.failed == 0 and set(safe.answers()) == {"hello v1", "hello v2"}
    cluster, web = exposed("swarm", replicas=6)  # Swarm's defaults: stop-first, no healthcheck
    unsafe = swarm_update_under_traffic(cluster, web)
    assert unsafe.failed > 0 and set(unsafe.answers()) == {"hello v1", "hello v2", "refused"}


def test_swarm_publishes_through_the_routing_mesh():
    cluster, web = exposed("swarm", replicas=4)
    record = cluster.traffic("shop", rate=20, seconds=10)
    cluster.run(10)
    assert record.failed == 0 and set(record.answers()) == {"hello v1"}
    other = cluster.deploy("other", image="web-server:1")
    with pytest.raises(AlreadyExists, match="port '8080' is already in use by service 'shop' as an ingress port"):
        cluster.expose("other", port=8080)
    cluster.expose("other", port=8081)
    web.delete()
    assert cluster.backend.service("shop") is None
    cluster.expose("other", port=8080)  # free again once shop is gone
    assert other.status().desired == 1


def test_no_endpoints_refuses_every_request_and_says_so():
    cluster, web = exposed(replicas=2)
    web.scale(0)
    cluster.wait()
    record = cluster.traffic("shop", rate=5, seconds=10)
    cluster.run(2)
    assert record.failed == len(record.requests) > 0 and "no endpoints" in repr(record)
    cluster.run(10)
    assert record.done and len(record.requests) == 50  # it stops by itself


def test_bad_input():
    cluster, _ = exposed(replicas=1)
    for rate in (0, -5, MAX_RATE + 1, True, "fast", None):
        with pytest.raises(InvalidInput, match="rate must be"):
            cluster.traffic("shop", rate=rate)
    for seconds in (0, -1, 10 ** 6, "long"):
        with pytest.raises(InvalidInput, match="seconds must be"):
            cluster.traffic("shop", seconds=seconds)
    with pytest.raises(InvalidInput, match="one record holds at most 200,000"):
        cluster.traffic("shop", rate=MAX_RATE, seconds=3600)
    with pytest.raises(NotFound, match="no workload named 'shpo'") as typo:
        cluster.traffic("shpo")
    assert "shop" in typo.value.hint
    cluster.deploy("hidden", image="web-server:1")
    with pytest.raises(NotFound, match="nothing exposes 'hidden'") as unexposed:
        cluster.traffic("hidden")
    assert "cluster.expose('hidden', port=8080)" in unexposed.value.hint
    for port in (0, 70000, "80", True):
        with pytest.raises(InvalidInput, match="port must be"):
            cluster.expose("hidden", port=port)
    with pytest.raises(AlreadyExists, match='services "shop" already exists'):
        cluster.expose("shop", port=9090)
    host = lk.connect(flavor="docker")
    host.deploy("one", image="web-server:1", ports=["8080:80"])
    with pytest.raises(Refused, match="a port is published when the container starts"):
        host.expose("one", port=8080)
    with pytest.raises(Refused, match="not simulated yet") as plain:
        host.traffic("one")
    assert "flavor='swarm'" in plain.value.hint
    swarm = lk.connect(flavor="swarm")
    for ports in (["abc:80"], ["8080:http"], ["99999:80"]):
        with pytest.raises(InvalidInput, match="invalid port"):
            swarm.deploy("bad", image="web-server:1", ports=ports)
    assert not swarm.state().workloads  # nothing half made
    swarm.deploy("local", image="web-server:1", ports=["127.0.0.1:9000:80"])
    assert swarm.backend.service("local").port == 9000
    swarm.deploy("hidden", image="web-server:1")
    with pytest.raises(NotFound) as unpublished:
        swarm.traffic("hidden")
    assert "docker service update --publish-add 8080:80 hidden" in unpublished.value.hint
    assert not cluster._traffic  # nothing half made: no record was started by a refused call


def test_the_kubernetes_backend_exposes_but_a_served_simulator_takes_no_requests(tmp_path, monkeypatch):
    """The Service is made through the official client; requests need a real cluster's nodes
    (tests/test_traffic_real.py, with LABKIT_KUBE_CONTEXT): a clear refusal, not a traceback."""
    from labkit import console
    from labkit.backends.sim.kube.serve import CONTEXT, ServedCluster
    served = ServedCluster(1, speed=0.0, kubeconfig=str(tmp_path / "kubeconfig")).start()
    monkeypatch.setenv("KUBECONFIG", served.kubeconfig)
    try:
        cluster = lk.connect("kubernetes", context=CONTEXT)
        cluster.deploy("shop", image="web-server:1")
        assert cluster.backend.service("shop") is None
        cluster.expose("shop", port=8080)
        assert cluster.backend.service("shop").port == 8080
        console.use(cluster)
        assert "NodePort" in console.run("kubectl get service shop")
        with pytest.raises(AlreadyExists, match="labkit already has a service named 'shop'"):
            cluster.expose("shop", port=9090)
        with pytest.raises(Refused, match="a served simulator has no addresses") as refused:
            cluster.traffic("shop")
        assert "labkit.connect('sim')" in refused.value.hint and not cluster._traffic
        cluster.reset()
        cluster.close()
    finally:
        console.forget()
        served.stop()


def test_the_picture_shows_each_version_and_the_failures():
    cluster, web = exposed(type="Recreate")
    record = cluster.traffic("shop", rate=20, seconds=30)
    web.update("web-server:2")
    cluster.run(30)
    fig = record.plot()
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["hello v1", "hello v2", "refused"]
    assert f"failed requests: {record.failed}" in ax.get_title(loc="left") and record.failed > 0
    drawn = sum(bar.get_height() for bar in ax.patches)
    assert drawn == len(record.requests) == 600
    assert fig._repr_png_()[:4] == b"\x89PNG"


def test_a_service_made_with_kubectl_expose_carries_the_traffic():
    from labkit import console
    cluster = console.use(lk.connect(nodes=3, seed=5))
    console.run("kubectl create deployment hello --image=web-server:1 --replicas=3")
    console.run("kubectl rollout status deployment/hello")
    with pytest.raises(NotFound, match="nothing exposes 'hello'"):
        cluster.traffic("hello")
    console.run("kubectl expose deployment hello --port=8080 --target-port=80")
    cluster.run(2)  # ready as they started, without a probe; listening 2 s later
    sent = cluster.traffic("hello", rate=10, seconds=10)
    cluster.run(10)
    assert (len(sent.requests), sent.failed, sent.service.port, sent.service.selector) == (
        100, 0, 8080, (("app", "hello"),))
    console.forget()


def test_above_200_replicas_the_endpoints_are_looked_at_every_second():
    """A big cluster records no instant by instant (it would cost more than the simulation): its
    traffic still follows the update, a second at a time."""
    cluster, web = exposed(replicas=300, readiness=True, pre_stop=5)
    sent = cluster.traffic("shop", rate=20, seconds=60)
    web.update("web-server:2")
    cluster.run(60)
    answers = sent.answers()
    assert cluster._big and len(sent.requests) == 1200 and sent.failed == 0
    assert answers["hello v1"] > 20 and answers["hello v2"] > 600  # both versions, as the update went on


def test_an_exact_count_of_requests_and_services_kubectl_makes_without_endpoints():
    from labkit import console
    cluster, _ = exposed(replicas=2)
    sent = cluster.traffic("shop", rate=49, seconds=60)
    cluster.run(70)
    assert len(sent.requests) == 2940 and sent.done
    console.use(cluster)
    cluster.deploy("ext", image="web-server:1")
    console.run("kubectl create service externalname ext --external-name example.org")
    with pytest.raises(NotFound, match="nothing exposes 'ext'"):
        cluster.traffic("ext")  # an ExternalName service names a host elsewhere: no port, no endpoints here
    console.run("kubectl delete service shop")
    console.run("kubectl create service clusterip shop --tcp=8080:80")  # selects app=shop: the same pods
    assert cluster.traffic("shop", rate=5, seconds=2).service.selector == (("app", "shop"),)
    console.forget()


def test_a_service_without_a_selector_has_no_endpoints_here():
    """Its endpoints are whatever somebody writes into them (an outside database, say): none here."""
    from labkit.traffic import Service, endpoints
    cluster, _ = exposed(replicas=2)
    state = cluster.state()
    assert len(endpoints(state, Service("shop", 8080, (("app", "shop"),)))) == 2
    assert endpoints(state, Service("shop", 8080, ())) == []
    assert len(endpoints(state, Service("shop", 8080))) == 2  # Swarm's: the service's own tasks


def test_start_delay_and_readiness_take_only_what_the_images_and_engines_read():
    cluster = lk.connect(nodes=1)
    for bad in ("inf", "1e400", "1m", "1_0", "-1", "301", " 2"):
        with pytest.raises(InvalidInput, match="START_DELAY must be a number of seconds"):
            cluster.deploy("web", image="web-server:1", env={"START_DELAY": bad})
    for bad in ("yes", 0, 0.1, 1000, float("nan")):
        with pytest.raises(InvalidInput, match="readiness must be True, False or the seconds"):
            cluster.deploy("web", image="web-server:1", readiness=bad)
    assert not cluster.state().workloads  # nothing half made
    cluster.deploy("web", image="web-server:1", env={"START_DELAY": "0.5"}, readiness=True)
    cluster.wait()
    assert all(r.ready and r.listening for r in cluster.state().replicas)



def test_the_mesh_answers_on_every_nodes_port_and_a_dead_nodes_port_answers_nothing():
    cluster = lk.connect(flavor="swarm", nodes=3, seed=4)
    cluster.drain("node-1")  # no task on node-1
    cluster.deploy("shop", image="web-server:1", replicas=4, ports=["8080:80"], readiness=True)
    cluster.wait()
    assert all(r.node != "node-1" for r in cluster.state().replicas)
    through_one = cluster.traffic("shop", rate=10, seconds=10, via="node-1")
    cluster.run(10)
    assert through_one.failed == 0 and len(through_one.requests) == 100  # forwarded to the other nodes' tasks
    cluster.fail_node("node-3")
    through_three = cluster.traffic("shop", rate=10, seconds=10, via="node-3")
    cluster.run(10)
    assert {r.outcome for r in through_three.requests} == {"timeout"}  # its port is on a machine that is off
    with pytest.raises(NotFound, match="no node named 'node-9'"):
        cluster.traffic("shop", via="node-9")
    with pytest.raises(Refused, match="via= is the routing mesh's"):
        exposed()[0].traffic("shop", via="node-1")


def test_pre_stop_is_kubernetes_preStop_hook_and_a_written_one_counts_too():
    for value in (-1, 31, "5", True, None):
        with pytest.raises(InvalidInput, match="pre_stop must be"):
            lk.connect(flavor="kubernetes").deploy("web", image="web-server:1", pre_stop=value)
    swarm = lk.connect(flavor="swarm")
    with pytest.raises(InvalidInput, match="pre_stop is Kubernetes' preStop hook; swarm has none"):
        swarm.deploy("web", image="web-server:1", pre_stop=5)
    assert not swarm.state().workloads  # nothing half made

    # what the served API shows of it, and a hook written with kubectl (exec sleep) keeps a pod serving too
    from labkit.backends.sim.node import pre_stop_seconds
    cluster, web = exposed(readiness=True, pre_stop=5)
    pod = next(iter(cluster.backend.api.items("pods").values()))
    assert pre_stop_seconds(pod) == 5.0
    written = pod.template.copy(spec={"containers": [{"name": "shop", "image": "web-server:1", "lifecycle": {
        "preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 7"]}}}}], "terminationGracePeriodSeconds": 6})
    pod.template = written
    assert pre_stop_seconds(pod) == 6.0, "the hook's time counts against the grace period"
    from labkit import console
    shown = console.run("kubectl get deploy shop -o jsonpath={.spec.template.spec.containers[0].lifecycle}", cluster)
    assert shown.strip() == '{"preStop":{"sleep":{"seconds":5}}}'
    console.forget()


def test_a_service_picks_pods_by_their_template_labels_not_the_deployments_own():
    """A Service selects pods: a label only the pod template carries counts, one only the deployment's
    metadata carries does not (a simulated workload's labels are its pods')."""
    import os
    import subprocess

    from labkit import console
    from labkit.console.tools.kubectl import kubeconfig, served
    from tests.conftest import KUBECTL
    cluster = console.use(lk.connect(nodes=3, seed=5))
    manifest = """apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, labels: {app: shop, team: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop, tier: frontend}}
    spec: {containers: [{name: web, image: web-server:1}]}
"""
    env = {**os.environ, "KUBECONFIG": kubeconfig(served(cluster.backend))}
    done = subprocess.run([KUBECTL, "apply", "-f", "-"], input=manifest, text=True, env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    cluster.wait()
    cluster.run(3)
    console.run("kubectl create service clusterip shop --tcp=8080:80")
    console.run("kubectl set selector service shop team=web")  # only the deployment's own metadata says so
    none = cluster.traffic("shop", rate=10, seconds=2)
    cluster.run(2)
    assert len(none.requests) == 20 and none.failed == 20 and not none.has_endpoints
    console.run("kubectl set selector service shop tier=frontend")  # the pods carry it
    sent = cluster.traffic("shop", rate=10, seconds=5)
    cluster.run(5)
    assert len(sent.requests) == 50 and sent.failed == 0
    console.forget()


def test_nginx_logs_a_line_for_each_request_it_answers():
    """kubectl logs of an nginx pod shows its start lines and then its access log: one line per request
    of labkit's traffic it answered, in nginx's combined format (615 bytes: its welcome page)."""
    from labkit import console
    cluster = console.use(lk.connect(nodes=2, seed=1))
    cluster.deploy("web", image="nginx:1.27", replicas=2)
    cluster.wait()
    cluster.run(2)
    cluster.expose("web", port=8080)
    sent = cluster.traffic("web", rate=4, seconds=5)
    cluster.run(5)
    lines = []
    for replica in cluster.state().replicas:
        log = console.run(f"kubectl logs {replica.name}").splitlines()
        assert any("start worker processes" in line for line in log), log[:5]
        lines += [line for line in log if '"GET / HTTP/1.1" 200 615' in line]
    assert len(lines) == len(sent.requests) == 20 and sent.failed == 0
    assert lines[0].startswith("10.244.") and lines[0].endswith('"-" "labkit-traffic" "-"')
    console.forget()
