"""Lessons 04 and 04b, split from one lesson: 04.rollback (new), and 04b's exercises starting on a cluster
of their own (04b.canary no longer needs 04's state). Real kubectl against the served simulator."""
from __future__ import annotations

import labkit as lk
from labkit import console, lessons


def cluster():
    k8s = lk.connect("sim", flavor="kubernetes", nodes=4)
    console.use(k8s)
    return k8s


def test_04_rollback_passes_with_kubectl_rollout_undo():
    lab = lessons.lab("04")
    k8s = cluster()
    assert not lab.check("rollback", k8s)  # no shop yet
    reset = lab.reset("rollback", k8s)
    assert "made shop: 8 replicas of web-server:1, updated to web-server:2" in str(reset)
    result = lab.check("rollback", k8s)
    assert not result and "runs image web-server:2, not web-server:1" in str(result), str(result)
    console.run("kubectl rollout undo deployment/shop", k8s)
    k8s.wait()
    assert "web-server:1" in console.run("kubectl get deployment shop -o jsonpath={..image}", k8s)
    assert lab.check("rollback", k8s).passed, str(lab.check("rollback", k8s))


def test_04_rollback_refuses_a_new_deployment_and_reset_starts_it_again():
    lab = lessons.lab("04")
    k8s = cluster()
    lab.reset("rollback", k8s)
    console.run("kubectl delete deployment shop", k8s)
    k8s.wait()
    console.run("kubectl create deployment shop --image=web-server:1 --replicas=8", k8s)
    k8s.wait()
    result = lab.check("rollback", k8s)
    assert not result and result.stuck and "made again, not rolled back" in str(result), str(result)
    assert "made shop again" in str(lab.reset("rollback"))
    console.run("kubectl rollout undo deployment/shop", k8s)
    k8s.wait()
    assert lab.check("rollback", k8s).passed


def test_04_rollback_refuses_one_that_left_fewer_than_8_available():
    lab = lessons.lab("04")
    k8s = cluster()
    lab.reset("rollback", k8s)
    console.run("kubectl patch deployment shop -p "
                "'{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":0,\"maxUnavailable\":4}}}}'", k8s)
    console.run("kubectl rollout undo deployment/shop", k8s)
    k8s.wait()
    result = lab.check("rollback", k8s)
    assert not result and result.stuck and "of 8 replicas were available" in str(result), str(result)
    assert "made shop again" in str(lab.reset("rollback"))  # its strategy changed: the start's is made anew
    console.run("kubectl rollout undo deployment/shop", k8s)
    k8s.wait()
    assert lab.check("rollback", k8s).passed


def test_04b_canary_starts_on_a_cluster_of_its_own():
    lab = lessons.lab("04b")
    assert set(lab.exercises) == {"canary", "no-lost-requests"}
    k8s = cluster()
    assert "no workload named 'shop'" in str(lab.check("canary", k8s))
    assert "made shop" in str(lab.reset("canary", k8s))
    shop = k8s.workload("shop")
    assert [image for _, image in shop.history()][-2:] == ["web-server:1", "web-server:2"]
    shop.canary("web-server:broken", percent=25)
    k8s.run(60)
    assert "still exists" in str(lab.check("canary", k8s))
    shop.abort()
    k8s.wait()
    assert lab.check("canary", k8s).passed
    assert "nothing to undo" in str(lab.reset("canary", k8s))  # shop as the exercise starts: left alone
