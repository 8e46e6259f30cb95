"""The simulator's Docker host or swarm served as a Docker Engine API on a unix socket, for the real `docker` CLI.

    from labkit.backends.sim import SimBackend
    from labkit.backends.sim.engine import ServedEngine

    with ServedEngine(SimBackend(nodes=3, flavor="swarm")) as engine:
        # DOCKER_HOST=unix://... for the processes that should reach it, and no other
        subprocess.run(["docker", "service", "create", "--name", "web", "--replicas", "3", "nginx"],
                       env={**os.environ, **engine.env()})

A host in no swarm yet (SimBackend(nodes=1, flavor="swarm", init=False), the docker flavor) runs
containers, and `docker swarm init` makes it a one-node swarm's manager, as the console's
`docker swarm init` does (`docker swarm leave --force`: a plain host again).

It follows Docker Engine 29.7.2 (versions.py), API 1.55, oldest API 1.40 (a 29.3+ daemon's default:
system.py); each CLI speaks its own newest API (Debian's 20.10: 1.41, 28.x: 1.50). Shapes come
from moby's API (api/swagger.yaml, the routers under api/server/router/) and behaviour from
swarmkit, done by the simulator's own verbs, so the cluster converges as it does under the facade.

    server.py    the socket, HTTP, version negotiation, error shape, streamed answers
    system.py    /_ping, /version, /info          swarm.py     /swarm: init, join-token, update, leave
    nodes.py     /nodes                            services.py  /services (+ spec.py: reading a spec)
    placement.py constraints, replicas per node    modes.py     global services follow the nodes
    tasks.py     /tasks                            logs.py      /services/{id}/logs, /tasks/{id}/logs
    containers.py /containers (+ boxes.py: what they are, inspect.py: one whole)
    images.py    /images: pull, list, inspect, rm  networks.py  /networks: bridge, overlay, built-in ones
    endpoints.py run --network, network connect/disconnect   progress.py  a following CLI's pace
    secrets.py   /secrets and /configs             volumes.py   /volumes, /plugins: none
    state.py     the engine, ids, records, time    common.py    routes, errors, filters, typed JSON
    serve.py     ServedEngine: a socket in labkit's private folder, a clock

What the simulator does not run is refused with a 501 that says so (jobs, placement
preferences, host-mode ports, taking a service's port back or changing its networks, mounts or
resources in place, exec and attach, builds), never silently ignored.
"""
from __future__ import annotations

from .serve import ServedEngine

__all__ = ["ServedEngine"]
