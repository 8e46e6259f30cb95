"""The releases whose words, defaults and timings the simulator follows (the one place they are named).

Docker Engine: the newest release of moby's v29 line (tag docker-v29.7.2, 5 August 2026). Its API
(daemon/config/config.go: MaxAPIVersion 1.55, defaultMinAPIVersion 1.40) and the components it was
built with (moby's Dockerfile at that tag) are in engine/state.py and engine/system.py.
"""

KUBERNETES = "v1.37.0"  # the Kubernetes release: its API, kubectl's columns, its controllers' defaults
DOCKER_ENGINE = "29.7.2"  # the Docker Engine release (moby docker-v29.7.2) the served engine answers as


def engine(flavor: str) -> str:
    """What the simulator is, for `Cluster.about()`."""
    return {"kubernetes": f"labkit's simulator of Kubernetes {KUBERNETES}",
            "swarm": f"labkit's simulator of a swarm of Docker Engine {DOCKER_ENGINE} machines",
            "docker": f"labkit's simulator of one Docker Engine {DOCKER_ENGINE} host"}[flavor]
