"""batch/v1 Jobs (and CronJobs) through the real kubectl against a served simulator: the kinds
(kube/kinds/jobs.py, cronjobs.py) and the controllers that make them act (sim/jobs.py)."""
from __future__ import annotations

import json
import re
import time

import pytest

from labkit.backends.sim.jobs import job_of
from labkit.backends.sim.kube.serve import ServedCluster
from tests.conftest import kubectl_json


@pytest.fixture(scope="module")
def served():
    cluster = ServedCluster(2, speed=20.0, seed=3).start()
    yield cluster
    cluster.stop()


read = kubectl_json  # kubectl get ... -o json, parsed


def job(name: str, namespace: str, image: str = "busybox", script: str = "echo hi", **spec) -> str:
    return json.dumps({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": namespace},
                       "spec": {**spec, "template": {"spec": {"restartPolicy": "Never", "containers": [
                           {"name": "main", "image": image, "command": ["sh", "-c", script]}]}}}})


def until(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_create_job_makes_its_pod_labelled_and_owned_as_a_real_cluster_does(kubectl, namespace):
    code, out = kubectl("create", "job", "hello", "-n", namespace, "--image=busybox", "--", "echo", "hi")
    assert (code, out.strip()) == (0, "job.batch/hello created")  # sent as protobuf
    made = read(kubectl, "job", "hello", "-n", namespace)
    uid, spec = made["metadata"]["uid"], made["spec"]
    assert made["metadata"]["generation"] == 1
    assert {k: spec[k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend")} == \
        {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False}
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = {"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "hello",
              "controller-uid": uid, "job-name": "hello"}
    assert spec["template"]["metadata"]["labels"] == labels == made["metadata"]["labels"]
    assert spec["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    pods = until(lambda: read(kubectl, "pods", "-n", namespace, "-l", "job-name=hello")["items"])
    assert len(pods) == 1
    pod = pods[0]
    assert pod["metadata"]["name"].startswith("hello-") and len(pod["metadata"]["name"]) == len("hello-") + 5
    assert pod["metadata"]["labels"] == labels and pod["metadata"]["generateName"] == "hello-"
    assert pod["metadata"]["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "Job", "name": "hello",
                                                   "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    assert pod["spec"]["restartPolicy"] == "Never" and pod["spec"]["containers"][0]["command"] == ["echo", "hi"]
    lines = kubectl("get", "jobs", "-n", namespace)[1].splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert lines[1].split()[0] == "hello" and lines[1].split()[1] in ("Running", "Complete")
    wide = kubectl("get", "jobs", "-n", namespace, "-o", "wide")[1].splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["hello", "busybox", f"batch.kubernetes.io/controller-uid={uid}"]
    described = kubectl("describe", "job", "hello", "-n", namespace)[1]
    assert "Backoff Limit:    6" in described and "Completion Mode:  NonIndexed" in described
    assert f"job-controller  Created pod: {pod['metadata']['name']}" in described
    assert "SuccessfulCreate" in described
    code, out = kubectl("delete", "job", "hello", "-n", namespace)
    assert code == 0 and out.startswith('job.batch "hello" deleted')
    assert until(lambda: not read(kubectl, "pods", "-n", namespace)["items"]), "its pods go with it"


def test_a_job_checks_what_it_is_given(kubectl, namespace):
    always = json.loads(job("forever", namespace))
    always["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    code, out = kubectl("apply", "-f", "-", stdin=json.dumps(always))
    assert code == 1 and 'The Job "forever" is invalid: spec.template.spec.restartPolicy: Required value: ' \
        'valid values: "OnFailure", "Never"' in out
    code, out = kubectl("create", "-f", "-", stdin=job("minus", namespace, parallelism=-1))
    assert code == 1 and "spec.parallelism: Invalid value: -1: must be greater than or equal to 0" in out
    assert kubectl("create", "-f", "-", stdin=job("ok", namespace, suspend=True))[0] == 0
    code, out = kubectl("set", "image", "job/ok", "-n", namespace, "main=busybox:1.36")
    assert code == 1 and "spec.template: Invalid value" in out and "field is immutable" in out
    code, out = kubectl("patch", "job", "ok", "-n", namespace, "-p", '{"spec": {"completions": 3}}')
    assert code == 1 and "spec.completions: Invalid value: 3: field is immutable" in out
    assert kubectl("label", "job", "ok", "-n", namespace, "team=a")[0] == 0, "metadata may change"


def test_a_failing_pod_is_retried_with_back_off_until_the_backoff_limit(kubectl, namespace, served):
    assert kubectl("create", "-f", "-", stdin=job("bad", namespace, script="echo oops; exit 3",
                                                   backoffLimit=2))[0] == 0
    code, out = kubectl("wait", "--for=condition=failed", "job/bad", "-n", namespace, "--timeout=60s")
    assert (code, out.strip()) == (0, "job.batch/bad condition met"), out
    status = read(kubectl, "job", "bad", "-n", namespace)["status"]
    assert status["failed"] == 3 and "active" not in status and status["uncountedTerminatedPods"] == {}
    assert [(c["type"], c["reason"]) for c in status["conditions"]] == \
        [("FailureTarget", "BackoffLimitExceeded"), ("Failed", "BackoffLimitExceeded")]
    assert "completionTime" not in status
    pods = read(kubectl, "pods", "-n", namespace)["items"]
    assert len(pods) == 3 and {p["status"]["phase"] for p in pods} == {"Failed"}
    started = sorted(p["metadata"]["creationTimestamp"] for p in pods)
    assert len(set(started)) == 3, "each one after the last failed"
    line = kubectl("get", "jobs", "-n", namespace)[1].splitlines()[1].split()
    assert line[:3] == ["bad", "Failed", "0/1"]
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.kind=Job")[1]
    assert events.count("SuccessfulCreate") == 3
    assert "BackoffLimitExceeded" in events and "Job has reached the specified backoff limit" in events
    logs = kubectl("logs", "job/bad", "-n", namespace)[1]
    assert logs.startswith("oops\n") and "Found 3 pods, using pod/bad-" in logs  # kubectl's note, on stderr
    assert kubectl("delete", "job", "bad", "-n", namespace)[0] == 0
    assert until(lambda: not read(kubectl, "pods", "-n", namespace)["items"])


def test_parallelism_and_suspend(kubectl, namespace):
    assert kubectl("create", "-f", "-", stdin=job("many", namespace, script="sleep infinity",
                                                   completions=5, parallelism=2))[0] == 0
    assert until(lambda: read(kubectl, "job", "many", "-n", namespace).get("status", {}).get("ready") == 2)
    assert len(read(kubectl, "pods", "-n", namespace)["items"]) == 2
    line = kubectl("get", "jobs", "-n", namespace)[1].splitlines()[1].split()
    assert line[:3] == ["many", "Running", "0/5"]
    assert kubectl("patch", "job", "many", "-n", namespace, "-p", '{"spec": {"suspend": true}}')[0] == 0
    assert until(lambda: not read(kubectl, "pods", "-n", namespace)["items"])
    status = read(kubectl, "job", "many", "-n", namespace)["status"]
    assert "startTime" not in status and "active" not in status
    assert [(c["type"], c["status"], c["reason"]) for c in status["conditions"]] == \
        [("Suspended", "True", "JobSuspended")]
    assert kubectl("get", "jobs", "-n", namespace)[1].splitlines()[1].split()[1] == "Suspended"
    assert kubectl("patch", "job", "many", "-n", namespace, "-p", '{"spec": {"suspend": false}}')[0] == 0
    assert until(lambda: len(read(kubectl, "pods", "-n", namespace)["items"]) == 2)
    status = read(kubectl, "job", "many", "-n", namespace)["status"]
    assert status["startTime"] and [(c["status"], c["reason"]) for c in status["conditions"]] == \
        [("False", "JobResumed")]


def test_a_job_completes_when_its_pods_succeed(kubectl, namespace, served):
    """The controller's side of success, whatever the pods run: their phase is set here."""
    assert kubectl("create", "-f", "-", stdin=job("two", namespace, script="sleep infinity",
                                                   completions=2))[0] == 0
    sim = served.sim

    def running() -> list:
        return [p for p in sim.api.items("pods").values() if job_of(p) == f"{namespace}/two" and p.container_up]
    for _ in range(2):
        pods = until(running)
        assert len(pods) == 1, "parallelism 1"
        with served.api.lock:
            pod = pods[0]
            pod.container_up, pod.ready, pod.phase, pod.generation = False, False, "succeeded", pod.generation + 1
            sim.api.write("pods", pod)
    code, out = kubectl("wait", "--for=condition=complete", "job/two", "-n", namespace, "--timeout=60s")
    assert (code, out.strip()) == (0, "job.batch/two condition met"), out
    status = read(kubectl, "job", "two", "-n", namespace)["status"]
    assert status["succeeded"] == 2 and status["completionTime"] and "failed" not in status
    assert [(c["type"], c["reason"], c["message"]) for c in status["conditions"]] == \
        [("SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"),
         ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")]
    line = kubectl("get", "jobs", "-n", namespace)[1].splitlines()[1].split()
    assert line[:3] == ["two", "Complete", "2/2"]
    assert "Normal   Completed         " in kubectl("describe", "job", "two", "-n", namespace)[1] or \
        "Job completed" in kubectl("describe", "job", "two", "-n", namespace)[1]


def test_a_busybox_job_runs_to_completion_and_its_logs_say_so(kubectl, namespace):
    assert kubectl("create", "job", "hello", "-n", namespace, "--image=busybox", "--", "echo", "hi")[0] == 0
    code, out = kubectl("wait", "--for=condition=complete", "job/hello", "-n", namespace, "--timeout=60s")
    assert (code, out.strip()) == (0, "job.batch/hello condition met"), out
    assert kubectl("get", "jobs", "-n", namespace)[1].splitlines()[1].split()[:3] == ["hello", "Complete", "1/1"]
    assert kubectl("logs", "job/hello", "-n", namespace)[1] == "hi\n"
    pods = read(kubectl, "pods", "-n", namespace)["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]


# -- CronJobs --------------------------------------------------------------------------------------
def cronjob(name: str, namespace: str, script: str = "echo hi", **spec) -> str:
    return json.dumps({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": namespace},
                       "spec": {"schedule": "*/1 * * * *", **spec, "jobTemplate": {"spec": {"template": {"spec": {
                           "restartPolicy": "OnFailure",
                           "containers": [{"name": "main", "image": "busybox", "command": ["sh", "-c", script]}]}}}}}})


def jobs_of(kubectl, namespace: str) -> list[dict]:
    return read(kubectl, "jobs", "-n", namespace)["items"]


def test_create_cronjob_makes_a_job_each_minute_and_keeps_its_history(kubectl, namespace):
    code, out = kubectl("create", "cronjob", "tick", "-n", namespace, "--image=busybox", "--schedule=*/1 * * * *",
                        "--", "echo", "hi")
    assert (code, out.strip()) == (0, "cronjob.batch/tick created")  # sent as protobuf
    made = read(kubectl, "cj", "tick", "-n", namespace)
    assert {k: made["spec"][k] for k in ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit",
                                         "failedJobsHistoryLimit")} == \
        {"concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}
    lines = kubectl("get", "cronjobs", "-n", namespace)[1].splitlines()
    assert lines[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST", "SCHEDULE", "AGE"]
    row = lines[1].split()
    assert row[:9] == ["tick", "*/1", "*", "*", "*", "*", "<none>", "False", "0"]
    # LAST SCHEDULE: none yet, unless a minute began between the create and the get (a cluster minute is 3 s here)
    assert row[9] == "<none>" or re.fullmatch(r"[0-9]s", row[9]), row
    first = until(lambda: [j for j in jobs_of(kubectl, namespace) if (j.get("status") or {}).get("succeeded")])
    assert first, "a Job made and run within a minute or so"
    job_ = first[0]
    name = job_["metadata"]["name"]
    assert name.startswith("tick-") and name[len("tick-"):].isdigit()
    minutes = int(name[len("tick-"):])
    assert abs(minutes * 60 - time.time()) < 3600 * 24, "minutes since the Unix epoch"
    owner = job_["metadata"]["ownerReferences"]
    assert [(o["kind"], o["name"], o["uid"], o["controller"]) for o in owner] == \
        [("CronJob", "tick", made["metadata"]["uid"], True)]
    assert "batch.kubernetes.io/cronjob-scheduled-timestamp" in job_["metadata"]["annotations"]
    assert job_["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"] == job_["metadata"]["uid"]
    assert kubectl("logs", f"job/{name}", "-n", namespace)[1] == "hi\n"
    assert kubectl("patch", "cj", "tick", "-n", namespace, "-p", '{"spec": {"successfulJobsHistoryLimit": 1}}')[0] == 0
    later = until(lambda: [j for j in jobs_of(kubectl, namespace) if j["metadata"]["name"] != name
                           and (j.get("status") or {}).get("succeeded")], timeout=60)
    assert later, "the next minute's Job"
    def kept() -> bool:  # (each cluster minute is 3 s here: a third Job may be running by now)
        jobs = jobs_of(kubectl, namespace)
        complete = [j for j in jobs if (j.get("status") or {}).get("succeeded")]
        return name not in [j["metadata"]["name"] for j in jobs] and len(complete) == 1
    assert until(kept), "successfulJobsHistoryLimit 1: the older one deleted"
    status = read(kubectl, "cj", "tick", "-n", namespace)["status"]
    assert status["lastScheduleTime"] and status["lastSuccessfulTime"]
    # a later minute's Job may be active by now (a cluster minute is 3 s here), never the finished one
    assert all(ref["name"] > name for ref in status.get("active") or [])
    assert kubectl("get", "cronjobs", "-n", namespace)[1].splitlines()[1].split()[9] != "<none>"
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.kind=CronJob")[1]
    assert f"Created job {name}" in events and f"Saw completed job: {name}, condition: Complete" in events
    assert f"Deleted job {name}" in events
    assert kubectl("delete", "cronjob", "tick", "-n", namespace)[0] == 0
    assert until(lambda: not jobs_of(kubectl, namespace) and not read(kubectl, "pods", "-n", namespace)["items"])


def test_a_cronjob_checks_what_it_is_given(kubectl, namespace):
    code, out = kubectl("create", "cronjob", "bad", "-n", namespace, "--image=busybox", "--schedule=61 * * * *")
    assert code == 1 and 'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61' in out
    code, out = kubectl("create", "cronjob", "bad", "-n", namespace, "--image=busybox", "--schedule=often")
    assert code == 1 and "expected exactly 5 fields, found 1: [often]" in out
    code, out = kubectl("create", "-f", "-", stdin=cronjob("x" * 53, namespace))
    assert code == 1 and "must be no more than 52 characters" in out
    code, out = kubectl("create", "-f", "-", stdin=cronjob("zone", namespace, timeZone="Mars/Olympus"))
    assert code == 1 and 'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus' in out
    code, out = kubectl("create", "-f", "-", stdin=cronjob("policy", namespace, concurrencyPolicy="Sometimes"))
    assert code == 1 and 'spec.concurrencyPolicy: Unsupported value: "Sometimes"' in out
    always = json.loads(cronjob("always", namespace))
    always["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    code, out = kubectl("create", "-f", "-", stdin=json.dumps(always))
    assert code == 1 and "spec.jobTemplate.spec.template.spec.restartPolicy: Required value" in out
    assert kubectl("create", "-f", "-", stdin=cronjob("ok", namespace, timeZone="Europe/Paris",
                                                       schedule="@hourly"))[0] == 0
    assert kubectl("get", "cj", "-n", namespace)[1].splitlines()[1].split()[:3] == ["ok", "@hourly", "Europe/Paris"]


def test_concurrency_policies_and_suspend(kubectl, namespace):
    for name, policy in (("forbid", "Forbid"), ("replace", "Replace")):
        assert kubectl("create", "-f", "-", stdin=cronjob(name, namespace, script="sleep infinity",
                                                           concurrencyPolicy=policy))[0] == 0
    assert kubectl("create", "-f", "-", stdin=cronjob("paused", namespace, suspend=True))[0] == 0

    def made(prefix: str) -> list[str]:
        return sorted(j["metadata"]["name"] for j in jobs_of(kubectl, namespace)
                      if j["metadata"]["name"].startswith(prefix + "-"))
    first = until(lambda: made("replace"))
    assert until(lambda: made("replace") and made("replace") != first, timeout=60), "replaced a minute later"
    assert len(made("replace")) == 1
    assert len(made("forbid")) == 1, "the first one still runs: no second"
    assert made("paused") == []
    status = read(kubectl, "cj", "forbid", "-n", namespace)["status"]
    assert [a["name"] for a in status["active"]] == made("forbid")
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=forbid")[1]
    assert "JobAlreadyActive" in events and "concurrency policy is Forbid" in events
    events = kubectl("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=replace")[1]
    assert f"Deleted job {first[0]}" in events


def test_an_indexed_job_runs_each_index_once(kubectl, namespace):
    assert kubectl("create", "-f", "-", stdin=job("idx", namespace, script="sleep 5", completions=3, parallelism=2,
                                                   completionMode="Indexed"))[0] == 0
    code, out = kubectl("wait", "--for=condition=complete", "job/idx", "-n", namespace, "--timeout=60s")
    assert (code, out.strip()) == (0, "job.batch/idx condition met"), out
    status = read(kubectl, "job", "idx", "-n", namespace)["status"]
    assert (status["succeeded"], status["completedIndexes"]) == (3, "0-2")
    pods = sorted(read(kubectl, "pods", "-n", namespace)["items"], key=lambda p: p["metadata"]["name"])
    index = "batch.kubernetes.io/job-completion-index"
    assert [(p["metadata"]["name"][:len("idx-0-")], p["metadata"]["labels"][index], p["metadata"]["annotations"][index],
             p["spec"]["hostname"]) for p in pods] == [("idx-0-", "0", "0", "idx-0"), ("idx-1-", "1", "1", "idx-1"),
                                                       ("idx-2-", "2", "2", "idx-2")]
    assert kubectl("get", "jobs", "-n", namespace)[1].splitlines()[1].split()[:3] == ["idx", "Complete", "3/3"]


def test_a_deadline_fails_a_job_and_a_ttl_deletes_a_finished_one(kubectl, namespace):
    assert kubectl("create", "-f", "-", stdin=job("slow", namespace, script="sleep infinity",
                                                   activeDeadlineSeconds=20))[0] == 0
    assert kubectl("create", "-f", "-", stdin=job("brief", namespace, ttlSecondsAfterFinished=30))[0] == 0
    code, out = kubectl("wait", "--for=condition=failed", "job/slow", "-n", namespace, "--timeout=60s")
    assert (code, out.strip()) == (0, "job.batch/slow condition met"), out
    status = read(kubectl, "job", "slow", "-n", namespace)["status"]
    assert [(c["type"], c["reason"], c["message"]) for c in status["conditions"]][-1] == \
        ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
    assert status["failed"] == 1, "its pod, deleted before it ended, counts as failed"
    assert until(lambda: kubectl("get", "job", "brief", "-n", namespace)[0] == 1), "gone 30 s after it finished"
    assert [p["metadata"]["name"] for p in read(kubectl, "pods", "-n", namespace)["items"]] == [], \
        "and its pod with it (the slow one's was deleted as it failed)"


def test_the_batch_controllers_run_with_the_controller_manager():
    """A simulator alone (no served API): the controllers wait while the controller manager is stopped;
    a Swarm has none."""
    from labkit.backends.sim.backend import SimBackend
    from labkit.backends.sim.kube.kinds import jobs as kind
    from labkit.backends.sim.kube.kinds.stored import Record

    sim = SimBackend(nodes=1, seed=1)
    assert [type(c).__name__ for c in sim.batch] == ["JobController", "CronJobController"]
    assert SimBackend(nodes=1, flavor="swarm").batch == ()
    sim.stop_component("controller-manager")
    body = kind.prepare(kind.with_selector(json.loads(job("j", "default", script="sleep 30")), "j", "uid-1"), None)
    sim.api.write(kind.RECORD, Record("j", body, sim.now()))
    sim.advance(10)
    assert not sim.api.items("pods")
    sim.start_component("controller-manager")
    sim.advance(5)
    assert [job_of(p) for p in sim.api.items("pods").values()] == ["j"]
    sim.advance(60)
    status = sim.api.items(kind.RECORD)["j"].body["status"]
    assert status["succeeded"] == 1 and status["conditions"][-1]["type"] == "Complete"
    assert status["completionTime"] - status["startTime"] >= 30
