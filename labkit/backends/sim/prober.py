"""The kubelet's liveness probes (pkg/kubelet/prober): a container that stops answering is restarted.

A container's `livenessProbe` (httpGet, tcpSocket or exec) is checked every periodSeconds (10)
from initialDelaySeconds on, each check given timeoutSeconds (1). Each failure is a Warning
`Unhealthy` event, "Liveness probe failed: <what the check saw>" (prober.go); failureThreshold (3)
failures in a row and the kubelet kills the container, "Container <name> failed liveness probe,
will be restarted" (kuberuntime_manager.go computePodActions), and the pod's restartPolicy and the
crash back-off decide when it runs again (node.py `exited`); a success in between starts the count
again. What each check sees:
- httpGet: nothing listens yet, or on another port: "Get \"http://IP:PORT/PATH\": dial tcp IP:PORT:
  connect: connection refused"; a listening server answers as its image's server does
  (kube/webservers.py: nginx's 404 for a path it does not have), or 500 once a server that fails
  does (agnhost's `liveness`, after 10 s): "HTTP probe failed with statuscode: 500";
- tcpSocket: the same dial, without HTTP;
- exec: the command runs in the container (its environment and its files as its program left them
  by then: `touch`/`rm` of kubernetes.io's exec-liveness example), exit 0 passes; otherwise what
  it printed is the message; past timeoutSeconds, "command timed out".
The kill: a shell as PID 1 ignores SIGTERM, so it is killed at the end of the grace period
(terminationGracePeriodSeconds, 30) with 137; any other program ends on SIGTERM at once (143).
Readiness probes keep their own simpler model (node.py `first_success`); startup probes are not
modelled.
"""
from __future__ import annotations

import shlex
from datetime import datetime, timezone
from typing import Any

from ... import catalog
from . import programs
from .kube.webservers import Request, answer, listener
from .objects import Pod

NodeAgent = Any  # node.py's NodeAgent (which imports this module): later_quietly, event, exited, crash, clock

DEFAULTS = {"periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3, "initialDelaySeconds": 0}


def watch(agent: NodeAgent, pod: Pod, ip: str, container: dict, name: str) -> None:
    """Start checking `pod`'s container (`container` as written, named `name`), if it has a liveness
    probe (its current run only)."""
    probe = container.get("livenessProbe")
    if not isinstance(probe, dict):
        return
    spec = {**DEFAULTS, **{k: v for k, v in probe.items() if isinstance(v, int) and not isinstance(v, bool)}}
    period = max(1, spec["periodSeconds"])
    first = max(0, spec["initialDelaySeconds"])
    failures = [0]

    def check(p: Pod) -> None:
        ok, said = verdict(p, probe, ip, container, spec["timeoutSeconds"],
                           agent.clock.now - (p.started or agent.clock.now))
        if ok:
            failures[0] = 0
        else:
            failures[0] += 1
            agent.event(p, "Unhealthy", f"Liveness probe failed: {said}", "Warning")
            if failures[0] >= max(1, spec["failureThreshold"]):
                kill(agent, p, name)
                return
        agent.later_quietly(period, p, check)

    agent.later_quietly(first, pod, check)


def verdict(pod: Pod, probe: dict, ip: str, container: dict, timeout: float, offset: float) -> tuple[bool, str]:
    """(passed, what the kubelet says of a failure) of one check, `offset` seconds into the container's run."""
    run = pod.runs[-1] if pod.runs else None
    if "exec" in probe:
        return _exec(run, (probe["exec"] or {}).get("command") or [], timeout, offset)
    action = probe.get("httpGet") or probe.get("tcpSocket") or {}
    port = _port(container, action.get("port"))
    when = datetime.now(timezone.utc)  # (only the page's text would show it)
    found = listener(pod, port=port, ip=ip, now=when, started=when) if isinstance(port, int) else None
    if found is None:
        target = f"http://{ip}:{port}{action.get('path', '/')}" if "httpGet" in probe else None
        dial = f"dial tcp {ip}:{port}: connect: connection refused"
        return False, f'Get "{target}": {dial}' if target else dial
    if "tcpSocket" in probe:
        return True, ""
    fails = run.outcome.fails if run is not None else None
    if fails is not None and offset >= fails:
        status = 500
    else:
        request = Request("GET", action.get("path") or "/", "1.1", {"user-agent": "kube-probe/1.37"})
        status = answer(found, request)[0]
    return (True, "") if 200 <= status < 400 else (False, f"HTTP probe failed with statuscode: {status}")


def _port(container: dict, port) -> int | None:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    for given in container.get("ports") or []:
        if isinstance(given, dict) and given.get("name") == port:
            return given.get("containerPort")
    return None


def _exec(run, command: list, timeout: float, offset: float) -> tuple[bool, str]:
    if run is None or not command:
        return False, "the simulator runs exec probes only in containers of public images"
    ctx = run.ctx
    files = programs.files_at(ctx, run.outcome, offset)
    argv = tuple(str(c) for c in command)
    probe_ctx = programs.Context(argv, ctx.env, ctx.hostname, files, ctx.image, ctx.version, ctx.ip)
    done = programs.run(probe_ctx, until=max(timeout, 1))
    if done.exit is None:
        return False, f"command {shlex.join(argv)!r} timed out"
    said = "\n".join(text for _, text in done.lines)
    return done.exit[0] == 0, said + ("\n" if said else "")


def kill(agent: NodeAgent, pod: Pod, name: str) -> None:
    """The kubelet kills the container that failed its probe; `exited` then restarts it."""
    agent.event(pod, "Killing", f"Container {name} failed liveness probe, will be restarted")
    run = pod.runs[-1] if pod.runs else None
    shell = run is not None and run.ctx.argv[:1] and run.ctx.argv[0].rsplit("/", 1)[-1] in catalog.SHELLS
    grace = (pod.template.spec or {}).get("terminationGracePeriodSeconds", 30)
    end = agent.exited if pod.runs else agent.crash  # (the course's own images run no program)
    if shell:
        agent.later_quietly(float(grace), pod, lambda p: end(p, 137))
    else:
        end(pod, 143)
