"""What a simulated container's program prints and when it exits (labkit/backends/sim/programs.py),
and the offline registry of public images it reads (labkit/catalog.py)."""
from __future__ import annotations

import math
import shlex
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit import catalog
from labkit.backends.sim import programs
from labkit.backends.sim.programs import Context, container_argv, run

FAST = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def ctx(argv, image: str | None = "busybox", env=None, files=None, hostname="pod-1") -> Context:
    found = catalog.find(image) if image else None
    return Context(tuple(argv), dict(env or {}), hostname, dict(files or {}), found.image if found else None,
                   found.version if found else "", "10.244.1.7")


def sh(script: str, **kw) -> programs.Outcome:
    return run(ctx(["sh", "-c", script], **kw.pop("image_ctx", {})), **kw)


def texts(outcome: programs.Outcome) -> list[str]:
    return [text for _, text in outcome.lines]


# -- the registry -------------------------------------------------------------------------------
@pytest.mark.parametrize("ref, reference, version", [
    ("nginx", "docker.io/library/nginx:latest", "1.29.3"),
    ("nginx:1.27.3", "docker.io/library/nginx:1.27.3", "1.27.3"),
    ("nginx:stable-alpine", "docker.io/library/nginx:stable-alpine", "1.28.0"),
    ("nginx:1.14.2", "docker.io/library/nginx:1.14.2", "1.14.2"),
    ("library/redis:7.4", "docker.io/library/redis:7.4", "7.4.6"),
    ("docker.io/library/busybox:1.36", "docker.io/library/busybox:1.36", "1.36.1"),
    ("traefik/whoami", "docker.io/traefik/whoami:latest", "v1.11.0"),
    ("kicbase/echo-server:1.0", "docker.io/kicbase/echo-server:1.0", "1.0"),
    ("registry.k8s.io/e2e-test-images/agnhost:2.39", "registry.k8s.io/e2e-test-images/agnhost:2.39", "2.39"),
    ("gcr.io/google-samples/hello-app:2.0", "gcr.io/google-samples/hello-app:2.0", "2.0.0"),
])
def test_the_registry_resolves_real_tags(ref, reference, version):
    found = catalog.find(ref)
    assert (found.reference, found.version, found.error) == (reference, version, "")


def test_the_registry_holds_the_images_beginners_meet():
    names = {image.name for image in catalog.IMAGES}
    assert {"nginx", "httpd", "redis", "busybox", "alpine", "postgres", "mysql", "python", "node", "ubuntu",
            "debian", "hello-world", "traefik/whoami", "kicbase/echo-server",
            "registry.k8s.io/e2e-test-images/agnhost", "gcr.io/google-samples/hello-app"} <= names
    nginx = catalog.find("nginx:1.27").image
    assert {"1.25", "1.26", "1.27", "1.27.3", "1.29", "alpine", "latest", "stable"} <= set(nginx.tags)
    assert (nginx.port, nginx.http) == (80, True) and "Welcome to nginx!" in nginx.page
    assert "It works!" in catalog.find("httpd:2.4").image.page


def test_a_missing_tag_fails_in_containerds_words():
    assert catalog.find("nginx:1.99").error == (
        'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/nginx:1.99": '
        'failed to resolve reference "docker.io/library/nginx:1.99": docker.io/library/nginx:1.99: not found')
    error = catalog.find("nginxx").error
    assert error.startswith('rpc error: code = Unknown desc = failed to pull and unpack image '
                            '"docker.io/library/nginxx:latest": ')
    assert "pull access denied, repository does not exist or may require authorization" in error
    assert "nginx, httpd" in error and "labkit/catalog.py" in error


def test_the_course_images_stay_as_they_were():
    assert catalog.lookup("web-server:1").page == "hello v1"
    assert catalog.lookup("my-web-server").page == "hello v1"
    assert catalog.public("web-server:1") is None and catalog.pull_error("web-server:broken") == ""
    assert catalog.lookup("web-server:3") is None and "web-server:1" in catalog.pull_error("web-server:3")
    assert catalog.lookup("nginx:1.99") is None and catalog.lookup("nginx:1.27") is not None


# -- what containers run ------------------------------------------------------------------------
def test_command_replaces_the_entrypoint_and_args_the_command():
    nginx = catalog.find("nginx").image
    assert container_argv(nginx, None, None) == ["/docker-entrypoint.sh", "nginx", "-g", "daemon off;"]
    assert container_argv(nginx, ["sh", "-c"], ["echo hi"]) == ["sh", "-c", "echo hi"]
    assert container_argv(nginx, None, ["nginx-debug"]) == ["/docker-entrypoint.sh", "nginx-debug"]
    assert container_argv(catalog.find("busybox").image, ["sleep"], None) == ["sleep"]


def test_echo_and_exit():
    done = sh("echo hi; echo there")
    assert (texts(done), done.exit) == (["hi", "there"], (0, 0.0))
    assert sh("echo bye; exit 3").exit == (3, 0.0)
    assert sh("exit 300").exit == (44, 0.0)
    assert sh("false").exit == (1, 0.0) and sh("true").exit == (0, 0.0)


def test_sleep_spaces_lines_in_time():
    done = sh("echo one; sleep 5; echo two; sleep 1m; echo three")
    assert list(done.lines) == [(0.0, "one"), (5.0, "two"), (65.0, "three")] and done.exit == (0, 65.0)
    assert texts(sh("echo one; sleep 5; echo two", until=3)) == ["one"]
    assert sh("echo one; sleep 5; echo two", until=3).exit is None


def test_and_or_and_if():
    assert texts(sh("false && echo no || echo yes; true && echo also")) == ["yes", "also"]
    assert texts(sh("if [ 3 -gt 2 ]; then echo big; else echo small; fi")) == ["big"]
    assert texts(sh("if [ -z \"$NOPE\" ]; then echo empty; fi")) == ["empty"]


def test_variables_from_the_environment():
    env = {"GREETING": "hello world", "NAME": "kube"}
    done = sh('echo $GREETING; echo "${NAME}!"; echo ${MISSING:-fallback}; printenv NAME', image_ctx={"env": env})
    assert texts(done) == ["hello world", "kube!", "fallback", "kube"]
    done = sh("printenv NOPE; echo $?", image_ctx={"env": env})
    assert texts(done) == ["1"]
    assert texts(sh("env", image_ctx={"env": env})) == ["GREETING=hello world", "NAME=kube"]


def test_date_hostname_and_files():
    wall = lambda t: datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)  # noqa: E731
    done = run(ctx(["sh", "-c", "date; hostname; cat /etc/config/color; cat /nope"],
                   files={"/etc/config/color": "blue\n"}), wall=wall)
    assert texts(done) == ["Sun Dec  6 18:00:00 UTC 2026", "pod-1", "blue",
                           "cat: can't open '/nope': No such file or directory"]
    assert done.exit == (1, 0.0)
    assert texts(run(ctx(["cat", "/nope"], image="debian"))) == ["cat: /nope: No such file or directory"]


def test_loops():
    assert texts(sh("for i in 1 2 3; do echo n$i; done")) == ["n1", "n2", "n3"]
    done = sh("i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo $i; sleep 2; done; echo done")
    assert list(done.lines) == [(0.0, "1"), (2.0, "2"), (4.0, "3"), (6.0, "done")]
    forever = sh("while true; do echo tick; sleep 10; done")
    assert forever.exit is None and forever.forever and texts(forever) == ["tick"]
    later = sh("while true; do echo tick; sleep 10; done", until=35)
    assert [t for t, _ in later.lines] == [0.0, 10.0, 20.0, 30.0]
    assert sh("while true; do sleep 1; [ -f /x ] && exit 4; done").exit is None


def test_blocking_forever():
    for script in ("sleep infinity", "tail -f /dev/null", "while true; do :; done"):
        done = sh(script)
        assert (done.exit, done.forever, done.lines) == (None, True, ())


def test_a_shell_without_a_terminal_exits_at_once():
    for image, argv in (("busybox", ["sh"]), ("alpine", ["/bin/sh"]), ("ubuntu", ["/bin/bash"]),
                        ("python:3.12", ["python3"]), ("node:22", ["docker-entrypoint.sh", "node"])):
        done = run(ctx(argv, image=image))
        assert (done.exit, done.lines) == ((0, 0.0), ()), image


def test_what_it_cannot_run_it_says():
    for script, what in (("echo a | grep a", "a pipe"), ("python app.py", "'python app.py'"),
                         ("sleep 1 &", "background")):
        done = sh(script)
        (line,) = [text for text in texts(done) if text.startswith("labkit:")]
        assert "the simulator does not run" in line and what in line
        assert done.exit is None


def test_images_print_their_start_lines():
    wall = lambda t: datetime(2026, 12, 6, 18, 0, 5, tzinfo=timezone.utc)  # noqa: E731
    nginx = catalog.find("nginx:1.27.3").image
    done = run(ctx(container_argv(nginx, None, None), image="nginx:1.27.3"), wall=wall)
    lines = texts(done)
    assert lines[0] == ("/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, "
                        "will attempt to perform configuration")
    assert "/docker-entrypoint.sh: Configuration complete; ready for start up" in lines
    assert "2026/12/06 18:00:05 [notice] 1#1: nginx/1.27.3" in lines
    assert (done.exit, done.forever, done.listens) == (None, True, 0.0)
    redis = run(ctx(["docker-entrypoint.sh", "redis-server"], image="redis:7.4"), wall=wall)
    assert texts(redis)[-1] == "1:M 06 Dec 2026 18:00:05.000 * Ready to accept connections tcp"
    httpd = texts(run(ctx(["httpd-foreground"], image="httpd"), wall=wall))
    assert "using 10.244.1.7" in httpd[0] and "Apache/2.4.65 (Unix) configured" in httpd[2]
    hello = run(ctx(["/hello"], image="hello-world"))
    assert "Hello from Docker!" in texts(hello) and hello.exit == (0, 0.0)


def test_databases_need_their_passwords():
    postgres = run(ctx(["docker-entrypoint.sh", "postgres"], image="postgres:17"))
    assert postgres.exit == (1, 0.0)
    assert texts(postgres)[0] == "Error: Database is uninitialized and superuser password is not specified."
    ready = run(ctx(["docker-entrypoint.sh", "postgres"], image="postgres:17", env={"POSTGRES_PASSWORD": "x"}))
    assert ready.exit is None and texts(ready)[-1].endswith("database system is ready to accept connections")
    mysql = run(ctx(["docker-entrypoint.sh", "mysqld"], image="mysql:8.4"))
    assert mysql.exit == (1, 0.0) and "    - MYSQL_ROOT_PASSWORD" in texts(mysql)
    # a command given to an entrypoint script is just run ("exec $@"), with no check
    assert texts(run(ctx(["docker-entrypoint.sh", "echo", "hi"], image="postgres"))) == ["hi"]


# -- properties ---------------------------------------------------------------------------------
WORDS = st.text(st.characters(codec="ascii", exclude_characters="\n\r\x00", min_codepoint=32), max_size=20)


@FAST
@given(st.lists(WORDS, min_size=1, max_size=6))
def test_echo_prints_any_quoted_text(words):
    done = sh("; ".join(f"echo {shlex.quote(w)}" for w in words))
    assert texts(done) == [w for w in words] and done.exit == (0, 0.0)


@FAST
@given(st.lists(st.tuples(st.integers(0, 100), st.booleans()), min_size=1, max_size=8))
def test_lines_come_at_the_sum_of_the_sleeps_before_them(steps):
    script = "; ".join(f"sleep {s}; echo {i}" if say else f"sleep {s}" for i, (s, say) in enumerate(steps))
    done = sh(script)
    t, expected = 0, []
    for i, (s, say) in enumerate(steps):
        t += s
        if say:
            expected.append((float(t), str(i)))
    assert list(done.lines) == expected and done.exit == (0, float(t))


@FAST
@given(st.lists(st.booleans(), min_size=1, max_size=5), st.sampled_from(["&&", "||"]))
def test_and_or_agree_with_booleans(values, op):
    script = f" {op} ".join("true" if v else "false" for v in values) + "; echo $?"
    result = values[0]
    for v in values[1:]:
        if (op == "&&" and result) or (op == "||" and not result):
            result = v
    assert texts(sh(script)) == ["0" if result else "1"]


@FAST
@given(st.text(st.characters(codec="ascii", min_codepoint=32, exclude_characters="\n\r"), max_size=30))
def test_a_quoted_variable_keeps_its_value(value):
    assert texts(sh('echo "$V"', image_ctx={"env": {"V": value}})) == [value]


@FAST
@given(st.integers(0, 255), st.integers(0, 30))
def test_exit_codes_and_times(code, wait):
    assert sh(f"sleep {wait}; exit {code}").exit == (code, float(wait))


@FAST
@given(st.integers(1, 30), st.floats(0, 500), st.floats(0, 500))
def test_a_log_later_extends_a_log_earlier(period, a, b):
    early, late = sorted((a, b))
    script = f"echo start; while true; do date; sleep {period}; done"
    first = sh(script, until=early).lines
    second = sh(script, until=late).lines
    assert second[:len(first)] == first
    assert all(t <= late for t, _ in second) and [t for t, _ in second] == sorted(t for t, _ in second)
    assert len(second) == 1 + math.floor(late / period) + 1


# -- the simulated kubelet runs them --------------------------------------------------------------
def test_the_kubelet_restarts_an_exiting_program_with_doubling_back_off():
    import labkit
    cluster = labkit.connect("sim", nodes=1, seed=2)
    bb = cluster.deploy("bb", "busybox", replicas=1)  # no command: `sh` without a terminal exits at once
    cluster.run(1300)
    (replica,) = bb.replicas()
    events = [e for e in cluster.events() if e.object == f"pod/{replica.name}"]
    started = [e.time for e in events if e.reason == "Started"]
    # the first exit is restarted at once, each later one waits: a BackOff event, doubling (kuberuntime doBackOff)
    backoff = [e.time for e in events if e.reason == "BackOff"]
    assert round(started[1] - started[0], 3) == 0.0
    assert all(round(b - s, 3) == 0.0 for s, b in zip(started[1:], backoff))  # it exits as it starts
    waits = [round(s - b) for b, s in zip(backoff, started[2:])]
    assert waits[:6] == [10, 20, 40, 80, 160, 300] and set(waits[6:]) <= {300}
    assert [e.message for e in events if e.reason == "BackOff"][0].startswith(
        f"Back-off restarting failed container bb in pod {replica.name}_default(")
    pod = cluster.backend.api.items("pods")[replica.name]
    assert pod.reason == "CrashLoopBackOff" and pod.runs[-1].code == 0 and pod.runs[-1].reason == "Completed"
    assert pod.message.startswith("back-off 5m0s restarting failed container=bb pod=")


def test_a_server_image_keeps_running_and_listens():
    import labkit
    cluster = labkit.connect("sim", nodes=1, seed=2)
    web = cluster.deploy("web", "nginx:1.27", replicas=2)
    cluster.wait()
    cluster.run(600)
    pods = [cluster.backend.api.items("pods")[r.name] for r in web.replicas()]
    assert all(p.container_up and p.listening and p.restarts == 0 and len(p.runs) == 1 for p in pods)


def test_a_shell_with_an_open_stdin_waits_for_commands():
    busybox = catalog.find("busybox")
    done = run(Context(("sh",), {}, "pod-1", {}, busybox.image, busybox.version, "", stdin=True))
    assert (done.exit, done.forever) == (None, True)


def test_a_runs_output_includes_its_last_line_whatever_the_floats():
    busybox = catalog.find("busybox")
    ctx = Context(("sh", "-c", "echo a; sleep 2; echo b"), {}, "p", {}, busybox.image, busybox.version)
    for started in (0.1, 7.316, 127.229, 2046.762):  # started + 2 - started < 2 for the last three
        done = run(ctx)
        record = programs.Run(started, ctx, done, finished=started + done.exit[1], code=0)
        wall = lambda t: datetime(2026, 1, 1, tzinfo=timezone.utc)  # noqa: E731
        assert [text for _, text in record.output(record.finished, wall)] == ["a", "b"]
