"""The simulator's server-side Table columns and cells against the real printers' behaviour."""
from __future__ import annotations

import pytest

from labkit.backends.sim.kube.columns import (
    COLUMNS, ROWS, deployment_row, event_row, human_duration, node_row, parse_time, pod_conditions, pod_row,
    replicaset_row, selector_string, service_row, short_duration,
)

MS, MIN, HOUR, DAY, YEAR = 0.001, 60, 3600, 24 * 3600, 365 * 24 * 3600
NOW = parse_time("2026-11-30T12:00:00Z")


def ago(seconds: float) -> str:
    """An RFC 3339 stamp `seconds` before NOW."""
    from datetime import datetime, timezone
    return datetime.fromtimestamp(NOW - seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# Cases from apimachinery's duration_test.go (TestHumanDuration and TestHumanDurationBoundaries).
HUMAN = [
    (1, "1s"), (70, "70s"), (190, "3m10s"), (70 * MIN, "70m"), (47 * HOUR, "47h"), (49 * HOUR, "2d1h"),
    ((8 * 24 + 2) * HOUR, "8d"), (367 * DAY, "367d"), ((365 * 2 * 24 + 25) * HOUR, "2y1d"),
    ((365 * 8 * 24 + 2) * HOUR, "8y"),
    (-2, "<invalid>"), (-2 + 1e-9, "0s"), (0, "0s"), (1 - MS, "0s"), (2 * MIN - MS, "119s"), (2 * MIN, "2m"),
    (2 * MIN + 1, "2m1s"), (10 * MIN - MS, "9m59s"), (10 * MIN, "10m"), (10 * MIN + 1, "10m"),
    (3 * HOUR - MS, "179m"), (3 * HOUR, "3h"), (3 * HOUR + MIN, "3h1m"), (8 * HOUR - MS, "7h59m"),
    (8 * HOUR, "8h"), (8 * HOUR + 59 * MIN, "8h"), (2 * DAY - MS, "47h"), (2 * DAY, "2d"),
    (2 * DAY + HOUR, "2d1h"), (8 * DAY - MS, "7d23h"), (8 * DAY, "8d"), (8 * DAY + 23 * HOUR, "8d"),
    (2 * YEAR - MS, "729d"), (2 * YEAR, "2y"), (2 * YEAR + 23 * HOUR, "2y"), (2 * YEAR + 23 * HOUR + 59 * MIN, "2y"),
    (2 * YEAR + DAY - MS, "2y"), (2 * YEAR + DAY, "2y1d"), (3 * YEAR, "3y"), (4 * YEAR, "4y"), (5 * YEAR, "5y"),
    (6 * YEAR, "6y"), (7 * YEAR, "7y"), (8 * YEAR - MS, "7y364d"), (8 * YEAR, "8y"), (8 * YEAR + 364 * DAY, "8y"),
    (9 * YEAR, "9y"),
]

# TestShortHumanDurationBoundaries.
SHORT = [
    (-2, "<invalid>"), (-2 + 1e-9, "0s"), (0, "0s"), (1 - MS, "0s"), (1, "1s"), (2 - MS, "1s"), (MIN - MS, "59s"),
    (MIN, "1m"), (2 * MIN - MS, "1m"), (HOUR - MS, "59m"), (HOUR, "1h"), (2 * HOUR - MS, "1h"),
    (DAY - MS, "23h"), (DAY, "1d"), (2 * DAY - MS, "1d"), (YEAR - MS, "364d"), (YEAR, "1y"),
    (2 * YEAR - MS, "1y"), (2 * YEAR, "2y"),
]


@pytest.mark.parametrize("seconds, want", HUMAN)
def test_human_duration_matches_upstream(seconds, want):
    assert human_duration(seconds) == want


@pytest.mark.parametrize("seconds, want", SHORT)
def test_short_duration_matches_upstream(seconds, want):
    assert short_duration(seconds) == want


def test_parse_time_handles_zones_and_fractions():
    assert parse_time("1970-01-01T00:00:00Z") == 0
    assert parse_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_time("1970-01-01T00:00:01.5Z") == 1.5
    assert parse_time("2026-11-30T12:00:00.123456789Z") == pytest.approx(NOW + 0.123456789)
    with pytest.raises(ValueError):
        parse_time("yesterday")


def columns(resource):
    return [(c["name"], c["priority"]) for c in COLUMNS[resource]]


def test_pod_columns():
    assert columns("pods") == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
                               ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]


def test_node_columns():
    assert columns("nodes") == [("Name", 0), ("Status", 0), ("Roles", 0), ("Age", 0), ("Version", 0),
                                ("Internal-IP", 1), ("External-IP", 1), ("OS-Image", 1), ("Kernel-Version", 1),
                                ("Container-Runtime", 1)]


def test_deployment_columns():
    assert columns("deployments") == [("Name", 0), ("Ready", 0), ("Up-to-date", 0), ("Available", 0), ("Age", 0),
                                      ("Containers", 1), ("Images", 1), ("Selector", 1)]


def test_event_columns_put_wide_ones_after_message():
    assert [c["name"] for c in COLUMNS["events"] if c["priority"] == 0] == \
        ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert COLUMNS["events"][-1] == {**COLUMNS["events"][-1], "name": "Name", "format": "name", "priority": 1}


def test_every_column_has_the_table_json_shape():
    assert set(COLUMNS) == set(ROWS)
    for resource, defs in COLUMNS.items():
        for col in defs:
            assert set(col) == {"name", "type", "format", "description", "priority"}, resource
            assert col["format"] == ("name" if col["name"] == "Name" else "")
            assert col["type"] in ("string", "integer", "boolean", "date") and col["description"]  # upstream's types


def pod(statuses, phase="Running", **meta):
    return {"metadata": {"name": "web-1", "creationTimestamp": ago(5 * MIN), **meta},
            "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx"}]},
            "status": {"phase": phase, "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
                       "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": statuses}}


RUNNING = {"name": "web", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ago(290)}}}


def test_running_ready_pod():
    row = pod_row(pod([RUNNING]), NOW)
    assert row == ["web-1", "1/1", "Running", "0", "5m", "10.244.1.5", "node-1", "<none>", "<none>"]
    assert len(row) == len(COLUMNS["pods"])


def test_crash_looping_pod_shows_reason_and_last_restart():
    crashing = {"name": "web", "ready": False, "restartCount": 5,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(65)}}}
    assert pod_row(pod([crashing]), NOW)[1:4] == ["0/1", "CrashLoopBackOff", "5 (65s ago)"]


def test_terminated_without_reason_shows_exit_code_or_signal():
    dead = {"name": "web", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 137}}}
    assert pod_row(pod([dead]), NOW)[2] == "ExitCode:137"
    dead["state"]["terminated"]["signal"] = 9
    assert pod_row(pod([dead]), NOW)[2] == "Signal:9"


def test_terminating_pod_and_node_lost():
    assert pod_row(pod([RUNNING], deletionTimestamp=ago(3)), NOW)[2] == "Terminating"
    lost = pod([RUNNING], deletionTimestamp=ago(3))
    lost["status"]["reason"] = "NodeLost"
    assert pod_row(lost, NOW)[2] == "Unknown"
    done = {"name": "web", "ready": False, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}
    finished = pod([done], phase="Succeeded", deletionTimestamp=ago(3))
    assert pod_row(finished, NOW)[2] == "Completed"
    assert pod_conditions(finished)[0]["reason"] == "Succeeded"


def test_pending_and_gated_pods():
    pending = {"metadata": {"name": "p", "creationTimestamp": ago(2)}, "spec": {"containers": [{"name": "a"}]},
               "status": {"phase": "Pending"}}
    assert pod_row(pending, NOW) == ["p", "0/1", "Pending", "0", "2s", "<none>", "<none>", "<none>", "<none>"]
    pending["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]
    assert pod_row(pending, NOW)[2] == "SchedulingGated"
    pending["metadata"].pop("creationTimestamp")
    assert pod_row(pending, NOW)[4] == "<unknown>"


def test_readiness_gates_and_a_completed_container_beside_a_running_one():
    p = pod([RUNNING, {"name": "job", "ready": False, "restartCount": 0,
                       "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])
    p["spec"]["containers"].append({"name": "job", "image": "busybox"})
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]
    p["status"]["conditions"].append({"type": "example.com/lb", "status": "True"})
    row = pod_row(p, NOW)
    assert row[1:3] == ["1/2", "Running"] and row[-1] == "1/2"
    p["status"]["conditions"][0]["status"] = "False"
    assert pod_row(p, NOW)[2] == "NotReady"


def node(ready="True", unschedulable=False, labels=None):
    return {"metadata": {"name": "node-2", "creationTimestamp": ago(3 * DAY + 4 * HOUR), "labels": labels or {}},
            "spec": {"unschedulable": True} if unschedulable else {},
            "status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                      {"type": "Ready", "status": ready}],
                       "addresses": [{"type": "InternalIP", "address": "192.168.49.3"},
                                     {"type": "Hostname", "address": "node-2"}],
                       "nodeInfo": {"kubeletVersion": "v1.37.0", "osImage": "Ubuntu 24.04 LTS",
                                    "kernelVersion": "6.8.0", "containerRuntimeVersion": "containerd://2.1.0"}}}


def test_ready_control_plane_node():
    row = node_row(node(labels={"node-role.kubernetes.io/control-plane": ""}), NOW)
    assert row == ["node-2", "Ready", "control-plane", "3d4h", "v1.37.0", "192.168.49.3", "<none>",
                   "Ubuntu 24.04 LTS", "6.8.0", "containerd://2.1.0"]


def test_cordoned_not_ready_node():
    assert node_row(node("False", unschedulable=True), NOW)[1:3] == ["NotReady,SchedulingDisabled", "<none>"]
    assert node_row(node("Unknown"), NOW)[1] == "NotReady"
    bare = node()
    bare["status"]["conditions"] = []
    assert node_row(bare, NOW)[1] == "Unknown"


def test_deployment_mid_rollout():
    dep = {"metadata": {"name": "web", "creationTimestamp": ago(40 * MIN)},
           "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
           "status": {"replicas": 4, "updatedReplicas": 1, "readyReplicas": 2, "availableReplicas": 2}}
    assert deployment_row(dep, NOW) == ["web", "2/3", 1, 2, "40m", "nginx", "nginx:1.27", "app=web"]
    rs = {"metadata": {"name": "web-5d4f8c9b7", "creationTimestamp": ago(30)},
          "spec": {"replicas": 1, "selector": dep["spec"]["selector"], "template": dep["spec"]["template"]},
          "status": {"replicas": 1}}
    assert replicaset_row(rs, NOW) == ["web-5d4f8c9b7", 1, 1, 0, "30s", "nginx", "nginx:1.27", "app=web"]


def test_selector_string_sorts_requirements():
    selector = {"matchLabels": {"tier": "front", "app": "web"},
                "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                                     {"key": "legacy", "operator": "DoesNotExist"}]}
    assert selector_string(selector) == "app=web,env in (dev,prod),!legacy,tier=front"
    assert selector_string(None) == "" and selector_string({}) == ""


def test_service_rows():
    svc = {"metadata": {"name": "web", "creationTimestamp": ago(90)},
           "spec": {"type": "NodePort", "clusterIP": "10.96.0.20", "clusterIPs": ["10.96.0.20"],
                    "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}], "selector": {"app": "web"}}}
    assert service_row(svc, NOW) == ["web", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP", "90s", "app=web"]
    svc["spec"].update(type="LoadBalancer")
    assert service_row(svc, NOW)[3] == "<pending>"


def test_event_row():
    event = {"metadata": {"name": "web-1.18a"}, "type": "Warning", "reason": "BackOff",
             "involvedObject": {"kind": "Pod", "name": "web-1", "fieldPath": "spec.containers{web}"},
             "message": "Back-off restarting failed container\n", "source": {"component": "kubelet", "host": "node-1"},
             "firstTimestamp": ago(10 * MIN), "lastTimestamp": ago(20), "count": 7}
    assert event_row(event, NOW) == ["20s", "Warning", "BackOff", "pod/web-1", "spec.containers{web}",
                                     "kubelet, node-1", "Back-off restarting failed container", "10m", 7, "web-1.18a"]


def test_every_row_fills_every_column():
    empty = {"metadata": {"name": "x", "creationTimestamp": ago(1)}}
    for resource, row in ROWS.items():
        assert len(row(empty, NOW)) == len(COLUMNS[resource]), resource


def test_small_kinds():
    slice_ = {"metadata": {"name": "web-abc12", "creationTimestamp": ago(5)}, "addressType": "IPv4",
              "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
              "endpoints": [{"addresses": [f"10.244.1.{i}"]} for i in range(5)]}
    assert ROWS["endpointslices"](slice_, NOW) == \
        ["web-abc12", "IPv4", "80", "10.244.1.0,10.244.1.1,10.244.1.2 + 2 more...", "5s"]
    lease = {"metadata": {"name": "node-1", "creationTimestamp": ago(HOUR)}, "spec": {"holderIdentity": "node-1"}}
    assert ROWS["leases"](lease, NOW) == ["node-1", "node-1", "60m"]
    etcd = {"metadata": {"name": "etcd-0"}, "conditions": [{"type": "Healthy", "status": "True", "message": "ok"}]}
    assert ROWS["componentstatuses"](etcd, NOW) == ["etcd-0", "Healthy", "ok", ""]
    ns = {"metadata": {"name": "default", "creationTimestamp": ago(9 * DAY)}, "status": {"phase": "Active"}}
    assert ROWS["namespaces"](ns, NOW) == ["default", "Active", "9d"]
