"""Containers that do what their images do, through the real kubectl against a served simulator:
programs that print and exit (programs.py), the kubelet's restarts and waiting reasons (node.py),
`kubectl logs` and its options, tags a registry lacks, environment from ConfigMaps and Secrets,
and exec/attach answered plainly (kinds/pods.py)."""
from __future__ import annotations

import json
import time

import pytest

from labkit.backends.sim.kube.serve import ServedCluster


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(1, speed=20.0, seed=3).start()
    yield cluster
    cluster.stop()


def pod(kubectl, namespace: str, name: str) -> dict:
    code, out = kubectl("get", "pod", name, "-n", namespace, "-o", "json")
    assert code == 0, out
    return json.loads(out)


def until(kubectl, namespace: str, name: str, check, timeout: float = 30.0) -> dict:
    """The pod once `check(pod)` holds (the served clock runs 20x: 30 s here are 10 cluster minutes)."""
    deadline = time.monotonic() + timeout
    while True:
        found = pod(kubectl, namespace, name)
        if check(found):
            return found
        assert time.monotonic() < deadline, json.dumps(found["status"], indent=1)
        time.sleep(0.2)


def container(p: dict) -> dict:
    return (p["status"].get("containerStatuses") or [{}])[0]


def apply(kubectl, namespace: str, *docs: dict) -> None:
    code, out = kubectl("apply", "-n", namespace, "-f", "-", stdin="\n---\n".join(json.dumps(d) for d in docs))
    assert code == 0, out


def bare(name: str, image: str, *, command=None, args=None, restart="Always", **more) -> dict:
    c = {"name": "main", "image": image, **({"command": command} if command else {}),
         **({"args": args} if args else {}), **more}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart, "containers": [c]}}


def test_a_command_runs_prints_and_completes(kubectl, namespace):
    code, out = kubectl("run", "hi", "-n", namespace, "--image=busybox:1.36", "--restart=Never", "--",
                        "sh", "-c", "echo hello from $HOSTNAME; sleep 2; echo bye")
    assert code == 0, out
    p = until(kubectl, namespace, "hi", lambda p: p["status"]["phase"] == "Succeeded")
    terminated = container(p)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert kubectl("logs", "hi", "-n", namespace) == (0, "hello from hi\nbye\n")
    assert kubectl("get", "pod", "hi", "-n", namespace)[1].split("\n")[1].split()[2] == "Completed"
    code, out = kubectl("logs", "hi", "-n", namespace, "--timestamps", "--tail=1")
    stamp, line = out.strip().split(" ", 1)
    assert code == 0 and line == "bye" and stamp.endswith("Z") and stamp[:4].isdigit()


def test_a_failing_command_with_restart_never_fails_the_pod(kubectl, namespace):
    apply(kubectl, namespace, bare("oops", "alpine:3.20", command=["sh", "-c", "echo trying; exit 3"],
                                   restart="Never"))
    p = until(kubectl, namespace, "oops", lambda p: p["status"]["phase"] == "Failed")
    assert container(p)["state"]["terminated"]["exitCode"] == 3
    assert container(p)["state"]["terminated"]["reason"] == "Error"
    assert kubectl("logs", "oops", "-n", namespace)[1] == "trying\n"


def test_busybox_without_a_command_completes_then_crash_loops(kubectl, namespace):
    assert kubectl("run", "bb", "-n", namespace, "--image=busybox")[0] == 0
    p = until(kubectl, namespace, "bb", lambda p: (container(p).get("state") or {}).get("waiting", {})
              .get("reason") == "CrashLoopBackOff")
    status = container(p)
    assert p["status"]["phase"] == "Running" and status["restartCount"] >= 1
    assert status["lastState"]["terminated"]["reason"] == "Completed"
    assert status["lastState"]["terminated"]["exitCode"] == 0
    assert status["state"]["waiting"]["message"].startswith("back-off ")
    assert f"restarting failed container=bb pod=bb_{namespace}(" in status["state"]["waiting"]["message"]
    row = kubectl("get", "pod", "bb", "-n", namespace)[1].split("\n")[1].split()
    assert row[2] == "CrashLoopBackOff"


def test_crash_loop_back_off_doubles(kubectl, namespace):
    apply(kubectl, namespace, bare("crash", "busybox", command=["sh", "-c", "echo run at $(date +%s); exit 2"]))
    p = until(kubectl, namespace, "crash", lambda p: container(p).get("restartCount", 0) >= 4, timeout=60)
    messages = [line for line in kubectl("get", "events", "-n", namespace, "-o", "json")[1].splitlines()
                if "Back-off restarting" in line]
    assert messages
    assert container(p)["lastState"]["terminated"]["exitCode"] == 2
    code, out = kubectl("logs", "crash", "-n", namespace, "--previous")
    assert code == 0 and out.startswith("run at ")


def test_a_tag_the_registry_lacks_backs_off_in_its_words(kubectl, namespace):
    assert kubectl("run", "bad", "-n", namespace, "--image=nginx:1.99")[0] == 0
    p = until(kubectl, namespace, "bad", lambda p: container(p).get("state", {}).get("waiting", {})
              .get("reason") == "ErrImagePull")
    assert container(p)["state"]["waiting"]["message"] == (
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:1.99": '
        'failed to resolve reference "docker.io/library/nginx:1.99": docker.io/library/nginx:1.99: not found')
    p = until(kubectl, namespace, "bad", lambda p: container(p)["state"]["waiting"]["reason"] == "ImagePullBackOff")
    assert container(p)["state"]["waiting"]["message"] == 'Back-off pulling image "nginx:1.99"'
    assert p["status"]["phase"] == "Pending"
    code, out = kubectl("logs", "bad", "-n", namespace)
    assert code == 1 and 'is waiting to start: trying and failing to pull image' in out
    code, out = kubectl("describe", "pod", "bad", "-n", namespace)
    assert 'Failed to pull image "nginx:1.99": rpc error: code = NotFound' in out


def test_an_unknown_repository_names_what_the_registry_holds(kubectl, namespace):
    assert kubectl("run", "typo", "-n", namespace, "--image=ngnix")[0] == 0
    p = until(kubectl, namespace, "typo", lambda p: container(p).get("state", {}).get("waiting", {})
              .get("reason") == "ErrImagePull")
    message = container(p)["state"]["waiting"]["message"]
    assert "pull access denied, repository does not exist or may require authorization" in message
    assert "nginx, httpd" in message and "labkit/catalog.py" in message


def test_nginx_logs_its_start_and_serves(kubectl, namespace):
    assert kubectl("run", "web", "-n", namespace, "--image=nginx:1.27")[0] == 0
    p = until(kubectl, namespace, "web", lambda p: container(p).get("ready"))
    assert container(p)["image"] == "docker.io/library/nginx:1.27"
    code, out = kubectl("logs", "web", "-n", namespace)
    assert code == 0 and "/docker-entrypoint.sh: Configuration complete; ready for start up" in out
    assert "[notice] 1#1: nginx/1.27.5" in out
    code, out = kubectl("logs", "web", "-n", namespace, "--previous")
    assert code == 1 and 'previous terminated container "web" in pod "web" not found' in out
    code, out = kubectl("logs", "web", "-n", namespace, "-c", "other")
    assert code == 1 and "container other is not valid for pod web" in out


def test_postgres_needs_its_password(kubectl, namespace):
    assert kubectl("run", "db", "-n", namespace, "--image=postgres:17")[0] == 0
    p = until(kubectl, namespace, "db", lambda p: container(p).get("restartCount", 0) >= 1)
    code, out = kubectl("logs", "db", "-n", namespace)
    assert out.startswith("Error: Database is uninitialized and superuser password is not specified.")
    assert container(p)["lastState"]["terminated"]["exitCode"] == 1
    assert kubectl("run", "db2", "-n", namespace, "--image=postgres:17", "--env=POSTGRES_PASSWORD=example")[0] == 0
    until(kubectl, namespace, "db2", lambda p: container(p).get("ready"))
    assert "database system is ready to accept connections" in kubectl("logs", "db2", "-n", namespace)[1]


def test_a_loop_logs_as_time_passes(kubectl, namespace):
    apply(kubectl, namespace, bare("ticker", "busybox", command=["sh", "-c"],
                                   args=["while true; do echo tick $(date +%s); sleep 5; done"]))
    until(kubectl, namespace, "ticker", lambda p: container(p).get("ready"))
    time.sleep(1.5)  # 30 cluster seconds
    code, out = kubectl("logs", "ticker", "-n", namespace)
    lines = out.splitlines()
    assert code == 0 and len(lines) >= 5 and all(line.startswith("tick ") for line in lines)
    seconds = [int(line.split()[1]) for line in lines]
    assert all(b - a == 5 for a, b in zip(seconds, seconds[1:]))
    assert kubectl("logs", "ticker", "-n", namespace, "--tail=2")[1].count("\n") == 2


def test_environment_from_config_maps_and_secrets(kubectl, namespace):
    assert kubectl("create", "configmap", "app", "-n", namespace, "--from-literal=color=blue",
                   "--from-literal=size=10")[0] == 0
    assert kubectl("create", "secret", "generic", "creds", "-n", namespace, "--from-literal=password=s3cret")[0] == 0
    spec = bare("envy", "busybox:1.36", restart="Never",
                command=["sh", "-c", "echo $COLOR $PASSWORD $CFG_size; echo $(MSG); cat /etc/app/color; "
                                     "printenv GREETING"],
                env=[{"name": "COLOR", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "color"}}},
                     {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                     {"name": "MSG", "value": "hello $(COLOR)"}, {"name": "GREETING", "value": "hi"}],
                envFrom=[{"prefix": "CFG_", "configMapRef": {"name": "app"}}],
                volumeMounts=[{"name": "cfg", "mountPath": "/etc/app"}])
    spec["spec"]["volumes"] = [{"name": "cfg", "configMap": {"name": "app"}}]
    apply(kubectl, namespace, spec)
    until(kubectl, namespace, "envy", lambda p: p["status"]["phase"] == "Succeeded")
    assert kubectl("logs", "envy", "-n", namespace)[1] == "blue s3cret 10\nhello blue\nblue\nhi\n"


def test_a_missing_config_map_holds_the_container_until_it_appears(kubectl, namespace):
    apply(kubectl, namespace, bare("waits", "busybox", command=["sh", "-c", "echo got $X; sleep infinity"],
                                   env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "later",
                                                                                        "key": "x"}}}]))
    p = until(kubectl, namespace, "waits", lambda p: container(p).get("state", {}).get("waiting", {})
              .get("reason") == "CreateContainerConfigError")
    assert container(p)["state"]["waiting"]["message"] == 'configmap "later" not found'
    code, out = kubectl("logs", "waits", "-n", namespace)
    assert code == 1 and "is waiting to start: CreateContainerConfigError" in out
    assert kubectl("create", "configmap", "later", "-n", namespace, "--from-literal=y=1")[0] == 0
    p = until(kubectl, namespace, "waits", lambda p: "couldn't find key" in
              json.dumps(container(p).get("state")))
    assert container(p)["state"]["waiting"]["message"] == f"couldn't find key x in ConfigMap {namespace}/later"
    assert kubectl("delete", "configmap", "later", "-n", namespace)[0] == 0
    assert kubectl("create", "configmap", "later", "-n", namespace, "--from-literal=x=42")[0] == 0
    until(kubectl, namespace, "waits", lambda p: container(p).get("ready"))
    assert kubectl("logs", "waits", "-n", namespace)[1] == "got 42\n"


def test_exec_and_attach_say_what_the_simulator_does_not_do(kubectl, namespace):
    assert kubectl("run", "web", "-n", namespace, "--image=nginx")[0] == 0
    until(kubectl, namespace, "web", lambda p: container(p).get("ready"))
    for args in (("exec", "web", "-n", namespace, "--", "ls"), ("attach", "web", "-n", namespace)):
        code, out = kubectl(*args)
        assert code == 1 and "could not find the requested resource" not in out
        assert "labkit's simulat" in out and "does not" in out and "minikube" in out  # exec: ls is not modelled


def test_the_course_images_log_as_before(kubectl, namespace):
    assert kubectl("create", "deployment", "web", "-n", namespace, "--image=web-server:1")[0] == 0
    code, out = kubectl("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s")
    assert code == 0, out
    assert kubectl("logs", "deployment/web", "-n", namespace) == (0, "")


def test_repeated_events_are_counted_as_the_kubelet_records_them(kubectl, namespace):
    """A crash-looping container's BackOff is one Event whose count grows (describe: "(x4 over 2m)")."""
    assert kubectl("run", "loop", "-n", namespace, "--image=busybox")[0] == 0
    deadline = time.time() + 60
    while time.time() < deadline:
        events = json.loads(kubectl("get", "events", "-n", namespace, "--field-selector", "reason=BackOff",
                                    "-o", "json")[1])["items"]
        if events and events[0]["count"] >= 3:
            break
        time.sleep(1)
    assert len(events) == 1 and events[0]["count"] >= 3
    assert events[0]["firstTimestamp"] < events[0]["lastTimestamp"]
    backoff = [line for line in kubectl("describe", "pod", "loop", "-n", namespace)[1].splitlines() if " BackOff " in line]
    assert len(backoff) == 1 and "(x" in backoff[0] and " over " in backoff[0]
