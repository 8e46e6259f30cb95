"""Traps a student fell into (issue #24, item 1): each test plays the student's natural attempt (the
hint's own command, `kubectl delete pod`, a wrong first guess, an exercise done before the one it
builds on) and expects the check to accept the right one, or to say what to do first.

The notebook tests run the lesson as a student does: the students' edition (made from solutions/,
as `make student` makes it) in a kernel, every cell up to the exercise, with the earlier exercises
a student would have done solved, then the attempt in the exercise's own cell."""
from __future__ import annotations

import random
import re
from pathlib import Path

import nbformat
import pytest

import labkit as lk
from labkit import console, lessons
from labkit.backends.sim.flavors.swarm import NO_LEADER
from labkit.console.parse import ConsoleError
from labkit.errors import Unavailable
from labkit.lessons import editions

ROOT = Path(__file__).resolve().parent.parent
SOLVED = {path.name.split("-")[0]: path for path in (ROOT / "solutions").glob("0*.ipynb")}


@pytest.fixture(autouse=True)
def fresh_console():
    console.forget()
    yield
    console.forget()


# -- playing a lesson in a kernel --------------------------------------------------------------------
def exercise_cell(cell, exercise: str) -> bool:
    return cell.cell_type == "code" and f"# Exercise {exercise}: your turn." in cell.source


def play(exercise: str, *steps: str, solved: tuple[str, ...] = ()) -> list[str]:
    """Run the students' edition of the lesson of `exercise` ("02.service") up to that exercise, with
    the exercises in `solved` done as their solutions do, then the exercise's cell with `steps[0]`
    where the student writes, and each further step as a cell of its own. Returns what each step
    printed or showed (errors as the notebook shows them)."""
    import nbclient

    solved_notebook = nbformat.read(SOLVED[exercise.split(".")[0]], as_version=4)
    student = nbformat.from_dict(editions.student_notebook(solved_notebook))
    cells = []
    for mine, theirs in zip(solved_notebook.cells, student.cells):
        if exercise_cell(mine, exercise):
            first = theirs.source.replace(editions.STUB, steps[0])
            cells.append(nbformat.v4.new_code_cell(first))
            break
        done = any(exercise_cell(mine, name) for name in solved)
        cells.append(mine if done else theirs)
    else:
        raise AssertionError(f"no cell of exercise {exercise}")
    cells += [nbformat.v4.new_code_cell(step) for step in steps[1:]]
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=solved_notebook.metadata)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True).execute()
    return [shown(cell) for cell in notebook.cells[-len(steps):]]


def shown(cell) -> str:
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
        else:
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.fixture
def simulator(monkeypatch):
    monkeypatch.setenv("LABKIT_BACKEND", "sim")


# -- 02.service: the console, the tokens and the addresses of several swarms ---------------------------
def test_02_service_the_hints_join_in_the_exercises_cell_joins_swarm(simulator):
    """The hint's own join, typed in the exercise's cell, lands in `swarm`: the lesson's machine, which
    `docker swarm init` made a swarm and the console still talks to."""
    check, = play("02.service", "%docker swarm join --token $token $manager\n"
                                "%docker service create --replicas=8 --name api web-server:1\n"
                                'lab.check("service", swarm)')
    assert check.rstrip().endswith("✔ 02.service: passed. The fourth machine took its share at once: that is "
                                   "'manage across hosts'."), check


def test_02_service_lab_join_as_the_hint_names_it(simulator):
    check, = play("02.service", "lab.join(swarm)\n"
                                "swarm.deploy('api', image='web-server:1', replicas=8)\n"
                                "swarm.wait()\n"
                                'lab.check("service", swarm)')
    assert "✔ 02.service: passed." in check, check


def test_swarms_of_one_notebook_have_tokens_and_addresses_of_their_own():
    def identity(**options):
        backend = lk.connect(flavor="swarm", nodes=1, **options).backend
        return backend.join_token("worker"), backend.join_token("manager"), backend.join_address()

    named = [identity(name=name) for name in ("first", "ha", "ha5", "mesh")]
    assert len({part for parts in named for part in parts}) == 12  # nothing shared
    assert identity(name="ha") == named[1]  # the same on every run: stored outputs stay the same
    assert identity(name="ha", seed=1) != named[1]
    assert identity()[2] == "10.10.0.2:2377"  # a swarm without a name: the notes' network
    assert all(re.fullmatch(r"10\.10\.\d{1,3}\.2:2377", parts[2]) for parts in named)


def test_swarm_init_keeps_the_machines_name():
    machine = console.use(lk.connect(flavor="swarm", nodes=1, init=False, name="first"))
    out = console.run("docker swarm init")
    swarm = console.current("docker")
    assert swarm is machine and swarm.backend.cluster_name == "first"  # the same machine, now a swarm's manager
    assert [(n.name, n.role) for n in swarm.state().nodes] == [("node-1", "manager")]
    assert f"--token {swarm.backend.join_token('worker')} {swarm.backend.join_address()}" in out
    swarm.backend.reset()
    assert swarm.backend.cluster_name == "first"  # a reset swarm is the same swarm


def leaderless(name: str = "ha"):
    """Lesson 02b's `ha` after it lost two of its three managers."""
    ha = lk.connect(flavor="swarm", nodes=5, managers=3, name=name)
    ha.fail_node("node-1")
    ha.fail_node("node-2")
    ha.run(20)
    return ha


def test_a_join_typed_for_one_swarm_does_not_land_in_another():
    lab = lessons.lab("02")
    swarm, ha = lk.connect(flavor="swarm", nodes=3, name="first"), leaderless()
    console.use(ha)  # where lesson 02b leaves the console
    for token in (lab.join_token(swarm), lab.join_token(ha)):  # swarm's address: no manager of ha's answers there
        with pytest.raises(ConsoleError) as elsewhere:
            console.run(f"docker swarm join --token {token} {lab.manager_address(swarm)}")
        assert elsewhere.value.message.endswith(
            "exited with code 1: Error response from daemon: Timeout was reached before node joined. The attempt to "
            'join the swarm will continue in the background. Use the "docker info" command to see the current swarm '
            "status of your node."), elsewhere.value.message
        assert f"swarm 'ha', whose manager listens at {lab.manager_address(ha)}" in elsewhere.value.hint
        assert "labkit.console.use(" in elsewhere.value.hint
    with pytest.raises(ConsoleError) as refused:  # swarm's token, ha's address
        console.run(f"docker swarm join --token {lab.join_token(swarm)} {lab.manager_address(ha)}")
    assert refused.value.message.endswith("exited with code 1: Error response from daemon: rpc error: code = "
                                          "InvalidArgument desc = A valid join token is necessary to join this "
                                          "cluster"), refused.value.message
    assert "swarm 'ha'" in refused.value.hint and "labkit.console.use(" in refused.value.hint
    assert (len(swarm.nodes), len(ha.nodes)) == (3, 5)


def test_joining_a_swarm_without_a_leader_fails_as_docker_says():
    lab = lessons.lab("02")
    ha = console.use(leaderless())
    with pytest.raises(ConsoleError) as refused:
        console.run(f"docker swarm join --token {lab.join_token(ha)} {lab.manager_address(ha)}")
    assert refused.value.message.endswith(f"exited with code 1: Error response from daemon: {NO_LEADER}"), \
        refused.value.message
    assert "node-1, node-2" in refused.value.hint and "recover_node('node-1')" in refused.value.hint
    with pytest.raises(Unavailable, match="The swarm does not have a leader"):
        lab.join(ha)
    assert len(ha.nodes) == 5
    ha.recover_node("node-1")
    ha.run(10)
    assert "This node joined a swarm as a worker." in console.run(
        f"docker swarm join --token {lab.join_token(ha)} {lab.manager_address(ha)}")
    assert len(ha.nodes) == 6


def test_a_new_swarm_is_built_whatever_its_first_nodes_are():
    """Its first machines are the swarm itself, not joins to a swarm without a leader yet."""
    assert len(lk.connect(flavor="swarm", nodes=7, managers=7).nodes) == 7


# -- every hint names what exists -------------------------------------------------------------------
def assigned_in(source: str) -> set[str]:
    """The names a notebook's code or a hint binds: `x = ...`, `for x in`, `def x`, imports."""
    names = set(re.findall(r"(?:^|;)\s*([A-Za-z_]\w*)\s*=(?!=)", source, re.MULTILINE))
    names |= set(re.findall(r"\bfor\s+([A-Za-z_]\w*)\s+in\b", source))
    names |= set(re.findall(r"^\s*def\s+([A-Za-z_]\w*)", source, re.MULTILINE))
    for imported in re.findall(r"^\s*(?:from\s+\S+\s+)?import\s+(.+)$", source, re.MULTILINE):
        names |= {part.split()[-1] for part in imported.split(",") if part.strip()}
    return names


@pytest.mark.parametrize("number", sorted(SOLVED))
def test_every_hint_calls_only_what_the_lesson_has(number):
    """`join(swarm)` was undefined (the helper is `lab.join`); `cluster.add_node()` in a lesson whose
    cluster is `k8s`; `shop.canary` with `shop` bound to another cluster's workload."""
    lab = lessons.lab(number)
    notebook = nbformat.read(SOLVED[number], as_version=4)
    known = assigned_in("\n".join(c.source for c in notebook.cells if c.cell_type == "code")) | {"lk", "lab"}
    for exercise in lab.exercises.values():
        hint = exercise.hint
        mine = known | assigned_in(hint)
        for obj, attribute in re.findall(r"(?<![\w.'\"/:$-])([A-Za-z_]\w*)\.([A-Za-z_]\w*)\(", hint):
            assert obj in mine, f"{number}.{exercise.name}'s hint calls {obj}.{attribute}(): the lesson has no {obj}"
            if obj == "lab":
                assert hasattr(lab, attribute), f"{number}.{exercise.name}'s hint calls lab.{attribute}()"
        bare = re.findall(r"(?:^|[\s(;])([a-z_]\w*)\(", hint)
        for name in bare:
            assert name in mine | {"sum", "range", "len", "print"}, f"{number}.{exercise.name}'s hint calls {name}()"


def test_04b_canary_names_refer_to_the_exercises_cluster(simulator):
    """`shop` was bound to a workload of `site` when the canary exercise began: the hint's `shop.canary()`
    tried the canary on the wrong cluster. The hint's own commands, in lesson 04b as a student opens it
    (04.zero-downtime is another notebook's: the exercise's lab.reset makes the shop it leaves)."""
    before, check = play("04b.canary",
                         "print('shop' not in globals() or shop.cluster is k8s)",
                         "shop = k8s.workload('shop')\n"
                         "shop.canary('web-server:broken', percent=25)\n"
                         "k8s.run(60)\n"
                         "print(k8s.ps('shop-canary'))\n"
                         "shop.abort()\n"
                         "k8s.wait()\n"
                         'lab.check("canary", k8s)')
    assert before.strip() == "↺ 04b.canary: back at its start (made shop: 8 replicas of web-server:1, updated to " \
                             "web-server:2)\nTrue"  # the cell's lab.reset, then the student's line
    assert "✔ 04b.canary: passed." in check, check


def test_04_zero_downtime_a_wrong_attempt_then_the_cell_run_again(simulator):
    """Issue #24 item 7: after a wrong attempt, running the exercise's cell again used to go nowhere
    (`create`: AlreadyExists; `set image`: nothing to change; the same report). The cell starts with
    lab.reset, and the check names it: the second run of the same cell, done right, passes."""
    create = ("%kubectl create deployment shop --image=web-server:1 --replicas=8\n"
              "%kubectl rollout status deployment/shop\n")
    update = "%kubectl set image deployment/shop web-server=web-server:2\n%kubectl rollout status deployment/shop"
    strategy = ("%kubectl patch deployment shop -p "
                "'{\"spec\":{\"strategy\":{\"rollingUpdate\":{\"maxSurge\":2,\"maxUnavailable\":0}}}}'\n")
    solved = nbformat.read(SOLVED["04"], as_version=4)
    cell = next(c.source for c in solved.cells if exercise_cell(c, "04.zero-downtime"))
    again = editions.student_source(cell).replace(editions.STUB, create + strategy + update)
    first, check, second, passed = play("04.zero-downtime", create + update, 'lab.check("zero-downtime", k8s)',
                                        again, 'lab.check("zero-downtime", k8s)')
    assert "AlreadyExists" not in first + second, second
    assert 'start over: lab.reset("04.zero-downtime")' in check, check
    assert "↺ 04.zero-downtime: back at its start (deleted shop)" in second, second
    assert "✔ 04.zero-downtime: passed." in passed, passed


# -- 00.heal: any way of losing a replica -------------------------------------------------------------
def test_00_heal_accepts_kubectl_delete_pod(simulator):
    check, = play("00.heal", "hello = cluster.workload('hello-minikube')\n"
                             "hello.scale(4)\n"
                             "cluster.wait()\n"
                             "pod = hello.replicas()[0].name\n"
                             "%kubectl delete pod $pod\n"
                             "cluster.wait()\n"
                             'lab.check("heal", cluster)', solved=("00.hello",))
    assert "✔ 00.heal: passed." in check, check


def hello_at_four():
    cluster = console.use(lk.connect(nodes=3))
    hello = cluster.deploy("hello-minikube", image="hello-minikube", replicas=4)
    cluster.wait()
    return cluster, hello


def test_00_heal_reads_what_happened_not_a_pods_name():
    cluster, hello = hello_at_four()
    gone = hello.replicas()[0].name
    console.run(f"kubectl delete pod {gone}")
    cluster.wait()
    assert gone not in {r.name for r in hello.replicas()} and len(hello.replicas()) == 4
    assert lessons.check("00.heal", cluster)

    cluster, hello = hello_at_four()
    hello.scale(5)  # a scale-down deletes a pod too, but nothing was lost
    cluster.wait()
    hello.scale(4)
    cluster.wait()
    assert "was killed yet" in str(lessons.check("00.heal", cluster))

    swarm = lk.connect(flavor="swarm", nodes=3)  # Swarm replaces a killed task with a new one
    hello = swarm.deploy("hello-minikube", image="hello-minikube", replicas=4)
    swarm.wait()
    swarm.kill_replica(hello.replicas()[0].name)
    swarm.wait()
    assert lessons.check("00.heal", swarm)


# -- 05.mystery: a wrong guess is said, and the next one counts -----------------------------------------
def student_whose_mystery_is(component: str) -> str:
    suspects = lessons.lab("05").SUSPECTS
    return next(name for name in (f"student-{n}" for n in range(100))
                if random.Random(f"05.mystery:{name}").choice(suspects) == component)


def test_05_mystery_a_wrong_guess_then_the_right_one(simulator, monkeypatch):
    stopped, wrong = "scheduler", "etcd"
    monkeypatch.setenv("LABKIT_STUDENT", student_whose_mystery_is(stopped))
    first, second = play("05.mystery",
                         f"k8s.start_component({wrong!r})\n"
                         'lab.check("mystery", k8s)',
                         f"k8s.start_component({stopped!r})\n"
                         "web.scale(10)\n"
                         "k8s.wait()\n"
                         'lab.check("mystery", k8s)')
    assert f"the first component you started was {wrong}, and it was running: a guess, and a wrong one" in first
    assert "the next component you start counts" in first
    assert stopped not in first  # not told (and no hint shown: lab.hint names every suspect)
    assert "✔ 05.mystery: passed." in second, second


def mystery_of(component: str):
    lab = lessons.lab("05")
    k8s = lk.connect(nodes=3)
    web = k8s.deploy("web", image="web-server:1", replicas=4)
    k8s.wait()
    lab.mystery_outage(k8s, seed=student_whose_mystery_is(component))
    return lab, k8s, web


def test_05_mystery_each_wrong_guess_is_said_once():
    lab, k8s, web = mystery_of("controller-manager")
    k8s.start_component("scheduler")
    assert "the first component you started was scheduler" in str(lab.check("mystery", k8s))
    assert "nothing has been started since your wrong guess" in str(lab.check("mystery", k8s))
    k8s.start_component("etcd")
    assert "the next component you started was etcd" in str(lab.check("mystery", k8s))
    k8s.start_component("controller-manager")
    web.scale(10)
    k8s.wait()
    assert lab.check("mystery", k8s)


def test_05_mystery_a_wrong_guess_before_the_right_one_is_still_said():
    lab, k8s, web = mystery_of("etcd")
    k8s.start_component("scheduler")
    k8s.start_component("kubelet", node="node-1")
    k8s.start_component("etcd")
    web.scale(10)
    k8s.wait()
    result = str(lab.check("mystery", k8s))
    assert "the first component you started was scheduler (then kubelet, running too)" in result
    assert lab.check("mystery", k8s)  # told: the right start that followed counts


# -- an exercise that builds on an earlier one says so -------------------------------------------------
def test_03_drain_before_capacity_says_do_capacity_first(simulator):
    check, done = play("03.drain",
                       "k8s.drain(size.drain)\n"
                       "k8s.wait()\n"
                       'lab.check("drain", k8s)',
                       "%kubectl scale deployment my-web-server --replicas={size.target}\n"
                       "while lab.pending_pods(k8s):\n"
                       "    k8s.add_node()\n"
                       "    k8s.run(10)\n"
                       "k8s.wait()\n"
                       'print(lab.check("capacity", k8s))\n'
                       'lab.check("drain", k8s)')
    assert "do 03.capacity first: this exercise drains a node while all 2500 replicas of my-web-server run, " \
           "and it asks for 2000" in check, check
    assert "✔ 03.capacity: passed." in done and "✔ 03.drain: passed." in done, done


def test_04b_canary_reset_makes_shop_on_a_fresh_cluster_and_the_check_then_reads_it():
    """04b.canary no longer needs 04.zero-downtime done on the same cluster: on a fresh one its check
    says there is no shop, its reset makes the shop 04.zero-downtime leaves (two revisions, as kubectl
    shows them), the natural wrong attempt (a canary of another size) is stuck until a reset takes it
    away, and the right one passes."""
    lab = lessons.lab("04b")
    k8s = console.use(lk.connect(nodes=4))
    assert "no workload named 'shop'" in str(lab.check("canary", k8s))
    assert str(lab.reset("canary", k8s)) == ("↺ 04b.canary: back at its start (made shop: 8 replicas of "
                                             "web-server:1, updated to web-server:2)")
    history = console.run("kubectl rollout history deployment/shop")
    assert re.findall(r"^(\d+)\s", history, re.MULTILINE) == ["1", "2"], history
    assert console.run("kubectl get deployment shop -o jsonpath={..image}") == "web-server:2"
    failing = lab.check("canary", k8s)
    assert not failing and "shop never had a canary" in str(failing)
    shop = k8s.workload("shop")
    shop.canary("web-server:broken", percent=50)  # the wrong size: 4 of 8
    k8s.run(30)
    result = lab.check("canary", k8s)
    assert result.stuck and "shop-canary runs web-server:broken on 4 replica(s)" in str(result), str(result)
    assert 'lab.reset("04b.canary")' in str(result)
    assert str(lab.reset("canary")) == ("↺ 04b.canary: back at its start (deleted shop-canary, shop back to 8 "
                                        "replicas)")  # a canary of 4 took 4 of shop's 8
    assert console.run("kubectl get deployments -o name").split() == ["deployment.apps/shop"]
    assert console.run("kubectl get deployment shop -o jsonpath={.status.readyReplicas}") == "8"
    shop.canary("web-server:broken", percent=25)
    k8s.run(60)
    shop.abort()
    k8s.wait()
    assert lab.check("canary", k8s).passed, str(lab.check("canary", k8s))


# -- 08: the natural first tries of a troubleshooter ---------------------------------------------------
def test_08_crashloop_delete_the_pod_then_fix_the_deployment(simulator):
    """`kubectl delete pod` is what many try first: the ReplicaSet makes the same pod again, and it
    crashes the same way; the fix is the deployment's template, and the check then passes."""
    deleted, fixed = play("08.crashloop",
                          "crashing = k8s.workload('api').replicas()[0].name\n"
                          "%kubectl delete pod $crashing\n"
                          "%kubectl get pods -l app=api\n"
                          'lab.check("crashloop", k8s)',
                          "%kubectl set env deployment/api DB_HOST=db\n"
                          "%kubectl rollout status deployment/api\n"
                          'lab.check("crashloop", k8s)')
    assert "still crash and restart" in deleted and "CrashLoopBackOff" in deleted, deleted
    assert "✔ 08.crashloop: passed." in fixed, fixed


def test_08_node_uncordon_first_then_start_the_machine(simulator):
    """A NotReady node is not a cordoned one: `kubectl uncordon` changes nothing, the check says the
    node is still NotReady without naming it, and starting the machine passes (the earlier
    exercises left undone do not count against this one)."""
    uncordoned, started = play("08.node",
                               "%kubectl uncordon node-2\n"
                               'lab.check("node", k8s)',
                               "%minikube node start node-2\n"
                               "%kubectl wait --for=condition=Ready node/node-2\n"
                               'lab.check("node", k8s)')
    assert "a worker is still NotReady" in uncordoned and "✘ 08.node" in uncordoned, uncordoned
    assert "node-2 is" not in uncordoned.split("✘")[1]
    assert "✔ 08.node: passed." in started, started


# -- 09: the ConfigMap changed, and the pods left as they were ----------------------------------------
def test_09_config_edit_the_configmap_then_restart_the_pods(simulator):
    """Changing the ConfigMap is what most try first, and it looks done (`kubectl get configmap` says
    hello); the pods still print hi, as on a real cluster, and the check says so without naming the
    fix; a rollout restart makes new pods, which read it, and the check passes."""
    edited, restarted = play("09.config",
                             """%kubectl patch configmap web-config -p '{"data":{"GREETING":"hello"}}'\n"""
                             "k8s.run(60)\n"
                             "%kubectl logs deploy/web --tail=1\n"
                             'lab.check("config", k8s)',
                             "%kubectl rollout restart deployment/web\n"
                             "%kubectl rollout status deployment/web\n"
                             'lab.check("config", k8s)')
    assert "web says: hi" in edited and "still print 'web says: hi'" in edited, edited
    assert "✘ 09.config" in edited and "rollout restart" not in edited.split("✘")[1], edited
    assert "✔ 09.config: passed." in restarted, restarted
