"""`python -m labkit.backends.sim.engine`: serve a simulated swarm to the docker CLI until Ctrl-C.

    python -m labkit.backends.sim.engine --nodes 3 --speed 10
    python -m labkit.backends.sim.engine --no-swarm       # one host: docker run ..., then docker swarm init
    export DOCKER_HOST=unix://...      # the line it prints; only in the shell that should reach it
    docker node ls
"""
from __future__ import annotations

import argparse
import sys

from .serve import run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.backends.sim.engine", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3, help="machines in the swarm (default 3)")
    parser.add_argument("--managers", type=int, default=1, help="how many of them are managers (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="the simulator's seed (the same ids on every run)")
    parser.add_argument("--speed", type=float, default=10.0, help="how much faster than the wall clock time runs")
    parser.add_argument("--no-swarm", action="store_true", help="one machine with Docker, in no swarm yet")
    args = parser.parse_args(argv)
    if not 1 <= args.nodes <= 100 or not 1 <= args.managers <= args.nodes or args.speed < 0:
        print("--nodes takes 1 to 100, --managers 1 to --nodes, --speed 0 or more", file=sys.stderr)
        return 2
    if args.no_swarm and args.nodes != 1:
        args.nodes = 1  # a host in no swarm is one machine
    return run(args.nodes, managers=args.managers, seed=args.seed, speed=args.speed, swarm=not args.no_swarm)


if __name__ == "__main__":
    sys.exit(main())
