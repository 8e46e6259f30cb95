"""Fuzzing the console: random tokens and near-miss commands.

Whatever is typed, the console raises nothing but labkit's own errors, and a
command it rejects leaves the cluster exactly as it was (same store revision,
same simulated time), unless the tool said it did part of it (`kubectl delete
deployment web nope` deletes web, then fails on nope, as kubectl does). At least 10,000 cases run; the count is printed. kubectl
and docker are the real binaries against the served simulator (a tenth of a second a run), so
KUBECTL_CASES of them are kubectl lines and DOCKER_CASES docker lines (their service commands with
-d: a following one watches for five wall seconds): they fuzz the console's translation and the
served APIs behind the CLIs (tests/test_engine_fuzz.py fuzzes the engine's API itself); the rest
fuzz the notes' placeholders, mistyped tool names and the simulated minikube.
"""
from __future__ import annotations

import random
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit
from labkit import console
from labkit.errors import LabkitError

CASES = 10_000
KUBECTL_CASES = 300
DOCKER_CASES = 300
VALID = [
    "kubectl get pods", "kubectl get pods -o wide", "kubectl get deployments", "kubectl get rs", "kubectl get nodes",
    "kubectl describe deployment web", "kubectl scale deployment/web --replicas=2", "kubectl set image deployment/web "
    "web=web-server:2", "kubectl rollout history deployment/web", "kubectl rollout undo deployment/web",
    "kubectl rollout pause deployment/web", "kubectl create deployment api --image=web-server:1 --replicas=2",
    "kubectl delete deployment web", "kubectl cordon node-1", "kubectl uncordon node-1", "kubectl cluster-info",
    "kubectl run --replicas=1000 my-web-server", "kubectl rolling-update my-web-serve --image=web-server:2",
    "kubectl run hello --image=web-server:1", "kubectl get events", "kubectl version --client",
    "docker run -d --name box web-server:1", "docker ps -a", "docker stop box", "docker rm -f box",
    "docker service ls", "docker service ps web", "docker service scale -d web=2", "docker node ls",
    "docker service update -d --image web-server:2 --update-parallelism 2 web", "docker service rollback -d web",
    "docker swarm join --tocken <token>", "docker swarm join-token worker", "docker node update --availability drain node-2",
    "docker service create -d --replicas=3 <-e> <-p> <--network> my-web-server", "docker service rm web",
    "minikube status", "minikube node list", "minikube node stop node-3",
]
WORDS = sorted({w for line in VALID for w in line.split()} | {
    "--replicas", "-n", "-o", "--image", "=", "--", "-", "'", '"', "\\", "|", "&&", ";", "<token>", "$", "sudo",
    "deployment/", "/", "-1", "0", "99999999999999999999999", "2147483648", "1e3", "3.5", "nan", "--help", "-h",
    "--replicas=", "--update-delay=10", "kube-system", "ü", "\x00", "web=", "=5", "-it", "-dit", "-p8080:80"})
NUMBERS = ["-1", "0", "abc", "1e3", "99999999999999999999999", "3.5", "", "2147483648", "-99", "0x10", "1_0"]
counter = {"cases": 0, "rejected": 0, "accepted": 0}
_clusters: dict[str, object] = {}


def fresh(flavor: str):
    c = labkit.connect("sim", flavor=flavor, nodes=3)
    if flavor == "kubernetes":
        c.deploy("web", "web-server:1", 2)
    elif flavor == "swarm":
        c.deploy("web", "web-server:1", 2)
    else:
        c.run_container("web-server:1", name="box")
    c.wait()
    c.run(1)
    return c


def cluster(flavor: str):
    if flavor not in _clusters:
        _clusters[flavor] = fresh(flavor)
    return _clusters[flavor]


def mutate(line: str, rng: random.Random) -> str:
    tokens = line.split()
    for _ in range(rng.randint(1, 3)):
        choice = rng.randrange(7)
        i = rng.randrange(len(tokens)) if tokens else 0
        if choice == 0 and tokens:
            del tokens[i]
        elif choice == 1:
            tokens.insert(i, rng.choice(WORDS))
        elif choice == 2 and len(tokens) > 1:
            j = rng.randrange(len(tokens))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif choice == 3 and tokens and tokens[i]:
            word = tokens[i]
            k = rng.randrange(len(word))
            tokens[i] = word[:k] + rng.choice("abcdefghijklmnopqrstuvwxyz-=/'\"") + word[k + 1:]
        elif choice == 4 and tokens:
            tokens[i] = tokens[i].split("=")[0] + "=" + rng.choice(NUMBERS) if "=" in tokens[i] else rng.choice(NUMBERS)
        elif choice == 5 and tokens:
            tokens[i] = tokens[i] + tokens[i][-1:] if tokens[i] else "x"
        else:
            tokens.append(rng.choice(WORDS))
    return " ".join(tokens)


def check(line: str, flavor: str) -> None:
    c = cluster(flavor)
    before = (c.state().version, c.now(), len(c.state().nodes))
    counter["cases"] += 1
    try:
        console.run(line, cluster=c)
    except console.OutcomeError:  # it ran; its outcome was an error (e.g. an update that paused)
        counter["accepted"] += 1
        _clusters[flavor] = fresh(flavor)
        return
    except LabkitError as error:
        counter["rejected"] += 1
        after = (c.state().version, c.now(), len(c.state().nodes))
        said = getattr(error, "output", "") or ""
        done = set(said.splitlines()) & set(line.split()[2:])  # docker rm/stop/kill print each name they did
        if after != before and (done or re.search(r" (deleted|created|scaled|configured|cordoned|paused|rolled back)",
                                                  said)):  # the tool did part of it, and said so (as it does)
            _clusters[flavor] = fresh(flavor)
            return
        assert after == before, f"{line!r} was rejected but changed the cluster"
        return
    counter["accepted"] += 1
    state = c.state()
    if state.version != before[0] or len(state.replicas) > 40 or c.now() > 3000:
        _clusters[flavor] = fresh(flavor)  # keep every case fast and independent


FLAVOR = {"kubectl": "kubernetes", "minikube": "kubernetes", "docker": "swarm"}


KUBECTL = [line for line in VALID if line.startswith("kubectl")]
DOCKER = [line for line in VALID if line.startswith("docker")]
OTHERS = [line for line in VALID if not line.startswith(("kubectl", "docker"))]
TOKENS = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=8)
FLAVORS = st.sampled_from(["kubernetes", "swarm", "docker"])


def fuzz(cases: int):
    return settings(max_examples=cases, deadline=None, database=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))


@fuzz((CASES - KUBECTL_CASES - DOCKER_CASES) // 2)
@given(st.sampled_from(OTHERS), st.integers(0, 2 ** 32), FLAVORS)
def _near_misses(line: str, seed: int, flavor: str) -> None:
    check(mutate(line, random.Random(seed)), flavor)


@fuzz((CASES - KUBECTL_CASES - DOCKER_CASES) // 2)
@given(st.sampled_from(["minikube", "kubeclt", "dokcer", "", "docker --bogus"]), TOKENS, FLAVORS)
def _random_tokens(tool: str, tokens: list[str], flavor: str) -> None:
    check(" ".join([tool] + tokens), flavor)


@fuzz(DOCKER_CASES // 2)
@given(st.sampled_from(DOCKER), st.integers(0, 2 ** 32), FLAVORS)
def _docker_near_misses(line: str, seed: int, flavor: str) -> None:
    check(mutate(line, random.Random(seed)), flavor)


@fuzz(DOCKER_CASES // 2)
@given(TOKENS, FLAVORS)
def _docker_random_tokens(tokens: list[str], flavor: str) -> None:
    check(" ".join(["docker"] + tokens), flavor)


@fuzz(KUBECTL_CASES // 2)
@given(st.sampled_from(KUBECTL), st.integers(0, 2 ** 32))
def _kubectl_near_misses(line: str, seed: int) -> None:
    check(mutate(line, random.Random(seed)), "kubernetes")


@fuzz(KUBECTL_CASES // 2)
@given(TOKENS)
def _kubectl_random_tokens(tokens: list[str]) -> None:
    check(" ".join(["kubectl"] + tokens), "kubernetes")


def test_fuzz_the_console_with_10000_cases():
    console.forget()
    counter.update(cases=0, rejected=0, accepted=0)
    _near_misses()
    _random_tokens()
    _docker_near_misses()
    _docker_random_tokens()
    _kubectl_near_misses()
    _kubectl_random_tokens()
    console.forget()
    print(f"\nconsole fuzz: {counter['cases']} cases, {counter['rejected']} rejected (state unchanged), "
          f"{counter['accepted']} accepted")
    assert counter["cases"] >= CASES
    assert counter["rejected"] > CASES // 4 and counter["accepted"] > 100
