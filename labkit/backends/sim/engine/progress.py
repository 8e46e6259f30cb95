"""The pace of `docker service create/update/rollback/scale` on a clock that stands still.

Without `--detach` the docker CLI follows a service until it converges: it asks for the service,
its up-to-date tasks and the nodes, draws what it saw, sleeps 200 ms and asks again; once every
slot runs it still watches for the service's monitor window (UpdateConfig.Monitor, 5 s unless
set) before it says "converged" (docker/cli cli/command/service/progress/progress.go). On a real
engine the cluster moves meanwhile. On a notebook's clock (console/tools/docker.py) nothing
else moves it, so each look after the first moves it one step (the engine's `stepping`, 1 s:
time runs five times faster than the CLI's looks while a command follows), and what each look
sees depends only on how many looks came before (the same output on every run). Once the
service has converged and stayed so for its monitor window in cluster time, or its update
paused, the clock stands still again while the CLI finishes its own wall-clock wait: every run
ends at the same cluster time. A service that never converges (an image no node has) is
followed for PATIENCE cluster seconds; then the console interrupts the CLI as a student's
Ctrl-C would ("Operation continuing in background.").

    engine.before = Pacer(engine)       # for the duration of one command
"""
from __future__ import annotations

from .state import NANO, Engine

PATIENCE = 60.0  # cluster seconds a command follows a service that does not converge
MONITOR = 5.0  # the CLI's monitor window when the service's UpdateConfig names none
STOPPED = ("paused", "rollback_paused")  # the CLI ends on these at once


class Pacer:
    """Moves the clock one STEP per look of a following CLI (see the module's rule)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.followed: dict[str, dict] = {}  # service name -> {"since": converged at, "done": bool}
        self.moved = 0.0  # cluster seconds this command's looks moved the clock
        self.gave_up = False  # it followed PATIENCE seconds: the console interrupts the CLI

    def __call__(self, method: str, parts: list[str]) -> None:
        if method == "GET" and len(parts) == 2 and parts[0] == "services":
            self.look(parts[1])

    def look(self, ref: str) -> None:
        engine = self.engine
        with engine.lock:
            try:
                name = engine.find_service(ref)
            except Exception:  # no such service: the route answers that itself
                return
            seen = self.followed.get(name)
            if seen is None:  # the command's first look: the service as the command found it
                self.followed[name] = {"since": None, "done": False}
                return
            if seen["done"]:
                return
        if self.moved >= PATIENCE or not engine.wait_step():
            seen["done"] = self.gave_up = True
            return
        self.moved += engine.stepping
        with engine.lock:
            seen["done"] = self.settled(name, seen)

    def settled(self, name: str, seen: dict) -> bool:
        """Whether the CLI has nothing more to see: converged for the monitor window, or paused."""
        engine = self.engine
        svc = engine.services().get(name)
        if svc is None or svc.update_state in STOPPED:
            return True
        if not converged(engine, name):
            seen["since"] = None
            return False
        now = engine.sim.now()
        if seen["since"] is None:
            seen["since"] = now
        return now - seen["since"] >= monitor(engine, name)


def converged(engine: Engine, name: str) -> bool:
    """What the CLI's progress calls converged: every wanted slot (or node, for a global
    service) has an up-to-date task running, on a node that is up."""
    status = next((w for w in engine.sim.workloads() if w.name == name), None)
    return status is not None and status.desired == status.updated == status.current == status.available


def monitor(engine: Engine, name: str) -> float:
    config = engine.record(name).spec.get("UpdateConfig") or {}
    return (config.get("Monitor") or 0) / NANO or MONITOR
