"""The Kubernetes context guard: which context kubectl would use, and whether labkit may act on it.

Everything here reads kubeconfig files only; the one test that constructs the
backend proves, in a fresh interpreter with an audit hook on sockets, that a
refused context never reaches the network nor even loads the client.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labkit.backends.kubernetes import context as kubecontext
from labkit.errors import NotFound, Refused, Unavailable

DATA = Path(__file__).parent / "data" / "kube"
MANY = DATA / "kubeconfig-many.yaml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No kubeconfig of the machine leaks in: HOME is empty, KUBECONFIG and LABKIT_KUBE_CONTEXT unset."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv(kubecontext.ENV_CONTEXT, raising=False)


@pytest.mark.parametrize("context, local", [
    ("labkit", True),           # minikube docker driver on Linux: 192.168.49.2 + provider extension
    ("minikube", True),         # minikube's default profile on a kvm2 VM network
    ("kind-labkit", True),      # kind: 127.0.0.1
    ("k3d-dev", True),          # k3d: 0.0.0.0
    ("docker-desktop", True),   # kubernetes.docker.internal
    ("rancher-desktop", True),  # 127.0.0.1
    ("my-cluster", True),       # any name, server on localhost
    ("ipv6", True),             # [::1]
    ("production", False),      # a public address
    ("kind-prod", False),       # named like kind, but the server is not local: the name is not enough
    ("office", False),          # a private address, but no local tool made it
    ("cloud", False),           # a host name that is not this machine (never looked up)
])
def test_local_and_remote_contexts(monkeypatch, context, local):
    monkeypatch.setenv("KUBECONFIG", str(MANY))
    ctx = kubecontext.resolve(context)
    assert ctx.local is local, ctx.why
    assert ctx.explicit
    if local:
        assert kubecontext.guard(context).name == context
    else:
        with pytest.raises(Refused) as err:
            kubecontext.guard(context)
        assert repr(context) in err.value.message and ctx.server in err.value.message
        assert f"context={context!r}, allow_remote=True" in err.value.hint


def test_minikube_profile_is_recognised_by_its_extension(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(MANY))
    assert kubecontext.resolve("labkit").minikube_profile == "labkit"
    assert kubecontext.resolve("minikube").minikube_profile == "minikube"
    assert kubecontext.resolve("kind-labkit").minikube_profile is None


def test_current_context_is_refused_when_remote(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(MANY))
    ctx = kubecontext.resolve()
    assert ctx.name == "production" and not ctx.explicit
    with pytest.raises(Refused, match="production") as err:
        kubecontext.guard()
    assert "labkit.connect('kubernetes', context='labkit')" in err.value.hint  # a local one it found


def test_refusal_without_local_contexts_says_how_to_start_one(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(DATA / "kubeconfig-second.yaml"))
    with pytest.raises(Refused) as err:
        kubecontext.guard()
    assert "minikube start -p labkit" in err.value.hint


def test_allow_remote_needs_the_context_named(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(MANY))
    with pytest.raises(Refused) as err:
        kubecontext.guard(allow_remote=True)  # current-context is remote: not named, not allowed
    assert "context='production', allow_remote=True" in err.value.hint
    assert kubecontext.guard("production", allow_remote=True).name == "production"


def test_environment_names_the_context(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(MANY))
    monkeypatch.setenv(kubecontext.ENV_CONTEXT, "kind-labkit")
    assert kubecontext.guard().name == "kind-labkit"
    assert kubecontext.guard("k3d-dev").name == "k3d-dev"  # the argument beats the environment


def test_kubeconfig_list_first_file_wins(monkeypatch, tmp_path):
    missing = tmp_path / "missing.yaml"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join(
        [str(missing), str(DATA / "kubeconfig-first.yaml"), "", str(DATA / "kubeconfig-second.yaml")]))
    ctx = kubecontext.guard()
    assert ctx.name == "kind-labkit"
    assert ctx.server == "https://127.0.0.1:41234"  # the first file's cluster, not the second's
    assert ctx.files == (str(DATA / "kubeconfig-first.yaml"), str(DATA / "kubeconfig-second.yaml"))
    with pytest.raises(Refused):
        kubecontext.guard("production")  # only defined in the second file, still found, still remote


def test_home_kubeconfig_when_kubeconfig_unset(monkeypatch, tmp_path):
    config = tmp_path / "home" / ".kube" / "config"
    config.parent.mkdir(parents=True)
    config.write_text((DATA / "kubeconfig-first.yaml").read_text())
    assert kubecontext.guard().name == "kind-labkit"
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nothing-here"))  # set: ~/.kube/config is not read
    with pytest.raises(Unavailable, match="KUBECONFIG"):
        kubecontext.resolve()


def test_no_kubeconfig_says_how_to_start_minikube():
    with pytest.raises(Unavailable) as err:
        kubecontext.resolve()
    assert ".kube" in err.value.message
    assert "minikube start -p labkit" in err.value.hint


def test_no_current_context(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(DATA / "kubeconfig-no-current.yaml"))
    with pytest.raises(Unavailable) as err:
        kubecontext.resolve()
    assert "kind-labkit" in err.value.hint


def test_unknown_and_broken_contexts(monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(MANY))
    with pytest.raises(NotFound) as err:
        kubecontext.resolve("kind-labkt")
    assert "kind-labkit" in err.value.hint
    with pytest.raises(Unavailable, match="no server"):
        kubecontext.resolve("broken")


def test_unreadable_kubeconfig(monkeypatch, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("clusters: [unclosed\n")
    monkeypatch.setenv("KUBECONFIG", str(bad))
    with pytest.raises(Unavailable, match="cannot read"):
        kubecontext.resolve()


def test_classify_by_address_alone():
    assert kubecontext.classify("x", "https://127.0.0.2:6443")[0]
    assert kubecontext.classify("x", "https://api.localhost:6443")[0]
    assert not kubecontext.classify("x", "https://192.168.49.2:8443")[0]  # private, but no tool made it
    assert kubecontext.classify("x", "https://192.168.49.2:8443", made_by_minikube=True)[0]
    assert not kubecontext.classify("kind-x", "https://8.8.8.8:6443")[0]
    assert not kubecontext.classify("kind-x", "https://[2001:db8::1]:6443")[0]
    assert kubecontext.classify("kind-x", "https://[fd00::5]:6443")[0]
    assert not kubecontext.classify("x", "not a url")[0]


REFUSAL_SCRIPT = textwrap.dedent("""
    import os, sys
    def no_network(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
            print("NETWORK ATTEMPT", event, args, flush=True)
            os._exit(3)
    sys.addaudithook(no_network)
    from labkit.backends.kubernetes.backend import KubernetesBackend
    from labkit.errors import Refused
    try:
        KubernetesBackend()
    except Refused as exc:
        print("REFUSED", exc.message)
    else:
        print("NOT REFUSED")
    print("CLIENT LOADED" if "kubernetes" in sys.modules else "CLIENT NOT LOADED")
""")


def test_remote_context_is_refused_before_any_request(tmp_path):
    """A kubeconfig pointing at a remote server: the backend raises Refused without opening a
    socket (an audit hook would end the interpreter) and without even importing the client."""
    env = {k: v for k, v in os.environ.items() if k not in ("LABKIT_KUBE_CONTEXT",)}
    env.update(KUBECONFIG=str(MANY), HOME=str(tmp_path))
    result = subprocess.run([sys.executable, "-c", REFUSAL_SCRIPT], capture_output=True, text=True,
                            env=env, timeout=60, cwd=Path(__file__).parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "REFUSED labkit will not use Kubernetes context 'production'" in result.stdout
    assert "CLIENT NOT LOADED" in result.stdout
