"""The simulator's swarm served as a Docker Engine API on a unix socket, for the real `docker` CLI.

    from labkit.backends.sim import SimBackend
    from labkit.backends.sim.engine import ServedEngine

    with ServedEngine(SimBackend(nodes=3, flavor="swarm")) as engine:
        # DOCKER_HOST=unix://... for the processes that should reach it, and no other
        subprocess.run(["docker", "service", "create", "--name", "web", "--replicas", "3", "nginx"],
                       env={**os.environ, **engine.env()})

It follows Docker Engine 20.10.24 (Debian 12's Docker Engine package, the engine these machines run and the
simulator imitates: versions.py), API 1.41, oldest API 1.12; newer CLIs (28.x) negotiate down
to 1.41 as they do with that engine. Shapes come from moby's API (api/swagger.yaml, the
routers under api/server/router/) and behaviour from swarmkit, done by the simulator's own
verbs, so the swarm converges as it does under the facade.

    server.py    the socket, HTTP, version negotiation, error shape
    system.py    /_ping, /version, /info          swarm.py     /swarm, info's Swarm section
    nodes.py     /nodes                            services.py  /services (+ spec.py: reading a spec)
    tasks.py     /tasks                            logs.py      /services/{id}/logs, /tasks/{id}/logs
    state.py     the swarm, ids, records, time     common.py    routes, errors, filters, typed JSON
    serve.py     ServedEngine: a socket in labkit's private folder, a clock

What the simulator does not run yet is refused with a 501 that says so (global mode,
placement constraints, host-mode ports, changing a service's env or ports in place, node
roles and labels, containers, images, networks, volumes), never silently ignored.
"""
from __future__ import annotations

from .serve import ServedEngine

__all__ = ["ServedEngine"]
