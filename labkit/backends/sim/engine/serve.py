"""A simulated swarm (or Docker host) served to the real `docker` CLI on a unix socket of labkit's own.

    with ServedEngine(SimBackend(nodes=3, flavor="swarm")) as engine:
        subprocess.run(["docker", "node", "ls"], env={**os.environ, **engine.env()})

The socket lives in a fresh folder inside labkit's private folder (labkit.private: 0700,
checked), is 0600 itself, and is removed when the engine stops. Only the processes given
`engine.env()` (DOCKER_HOST=unix://...) reach it: nothing touches ~/.docker or the user's
docker contexts. The cluster's clock follows the wall clock, `speed` times faster, so a
`docker service create` that waits sees its tasks start.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading

from ....private import private_dir
from ..ticker import Ticker
from . import containers, modes
from .server import EngineServer
from .state import Engine



class ServedEngine:
    """A simulated swarm (a SimBackend of the swarm flavor), its Docker Engine API and a clock.

        engine = ServedEngine(SimBackend(nodes=3, flavor="swarm"), speed=10.0).start()
        engine.env()          # {"DOCKER_HOST": "unix:///run/user/1000/labkit/engine/engine-x/docker.sock"}
        engine.stop()         # the socket and its folder are gone
    """

    def __init__(self, backend, *, speed: float = 10.0, lock: threading.RLock | None = None) -> None:
        self.sim = backend
        self.engine = Engine(backend, lock=lock, watchers=(modes.watch, containers.watch))
        self.speed = speed
        self.folder = tempfile.mkdtemp(prefix="engine-", dir=private_dir("engine"))  # 0700, ours alone
        atexit.register(shutil.rmtree, self.folder, True)  # a notebook's kernel may end without stop()
        self.socket = os.path.join(self.folder, "docker.sock")
        self.server: EngineServer | None = None
        self._ticker = Ticker(backend, self.engine.lock, speed, "labkit-engine-clock", "the simulated swarm")

    @property
    def host(self) -> str:
        """What DOCKER_HOST says to reach this engine."""
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        """The environment a `docker` process needs to talk to this engine (add it to its own)."""
        return {"DOCKER_HOST": self.host}

    @property
    def failures(self):
        """Faults of labkit's own met while answering (the tests expect none)."""
        return self.server.failures if self.server else ()

    def start(self) -> "ServedEngine":
        try:
            self.server = EngineServer(self.engine, self.socket).start()
        except OSError:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self._ticker.start()
        return self

    def pause(self) -> None:
        """Nothing listens (the machine whose daemon answers is off): the CLI says it cannot connect."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def resume(self) -> None:
        if self.server is None:
            self.server = EngineServer(self.engine, self.socket).start()

    def rebind(self) -> None:
        """Serve the simulator afresh: it was reset behind this engine's back (an exercise's reset)."""
        with self.engine.lock:
            fresh = Engine(self.sim, lock=self.engine.lock, watchers=self.engine.watchers)
            for name in ("stepping", "limit", "stepped"):
                setattr(fresh, name, getattr(self.engine, name))
            self.engine.closing.set()  # what waits on the old one ends
            self.engine = fresh
            if self.server is not None:
                self.server.engine = fresh

    def stop(self) -> None:
        self.engine.closing.set()  # requests that wait for the clock (docker wait) end
        self._ticker.stop()
        if self.server is not None:
            self.server.stop()
            self.server = None
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "ServedEngine":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def run(nodes: int = 3, *, managers: int = 1, seed: int = 0, speed: float = 10.0, swarm: bool = True,
        out=print) -> int:
    """Serve a new simulated swarm (`swarm=False`: one host in no swarm yet) until Ctrl-C or
    SIGTERM; say how to reach it.

        python -m labkit.backends.sim.engine --nodes 3
    """
    from ..backend import SimBackend
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    sim = SimBackend(nodes=nodes, managers=managers, flavor="swarm", seed=seed) if swarm else \
        SimBackend(nodes=1, flavor="swarm", init=False, seed=seed)
    with ServedEngine(sim, speed=speed) as engine:
        what = f"a simulated swarm of {nodes} node(s)" if swarm else "a simulated Docker host (in no swarm yet)"
        out(f"labkit: {what} answers as a Docker Engine (time runs {speed:g}x)")
        out(f"  export DOCKER_HOST={engine.host}")
        out("  docker node ls" if swarm else "  docker run -d --name web -p 8080:80 nginx; docker swarm init")
        out("stop with Ctrl-C")
        sys.stdout.flush()
        try:
            done.wait()
        except KeyboardInterrupt:
            pass
    out("labkit: the served swarm stopped")
    return 0
