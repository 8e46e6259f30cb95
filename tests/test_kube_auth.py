"""`kubectl auth can-i`, `can-i --list` and `auth whoami` answer as on minikube (kinds/accessreviews.py):
the user is in system:masters. kubectl sends these reviews as protobuf."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from labkit.backends.sim.kube.serve import ServedCluster

sys.path.insert(0, os.path.dirname(__file__))
from test_kube_api import KUBECTL  # noqa: E402


@pytest.fixture(scope="module")
def kubectl():
    cluster = ServedCluster(1, speed=20.0, seed=2).start()

    def run(*args: str) -> tuple[int, str]:
        done = subprocess.run([KUBECTL, *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "KUBECONFIG": cluster.kubeconfig})
        return done.returncode, done.stdout + done.stderr
    yield run
    cluster.stop()


@pytest.mark.parametrize("args", [("create", "deployments"), ("delete", "nodes", "--all-namespaces"),
                                  ("get", "pods", "-n", "kube-system"), ("get", "/healthz")])
def test_the_student_may_do_anything(kubectl, args):
    assert kubectl("auth", "can-i", *args) == (0, "yes\n")


def test_can_i_list_shows_cluster_admin_and_the_discovery_rules(kubectl):
    code, out = kubectl("auth", "can-i", "--list")
    rows = [line.split() for line in out.splitlines()]
    assert code == 0 and rows[0] == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    assert ["*.*", "[]", "[]", "[*]"] in rows and ["[*]", "[]", "[*]"] in rows
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    assert ["[/version]", "[]", "[get]"] in rows


def test_whoami_is_minikubes_user(kubectl):
    code, out = kubectl("auth", "whoami")
    assert code == 0 and [line.split(None, 1) for line in out.splitlines()] == [
        ["ATTRIBUTE", "VALUE"], ["Username", "minikube-user"], ["Groups", "[system:masters system:authenticated]"]]


def test_a_review_is_not_stored(kubectl):
    code, out = kubectl("get", "selfsubjectaccessreviews")
    assert (code, out.strip()) == (1, "Error from server (MethodNotAllowed): the server does not allow this method "
                                      "on the requested resource")
