"""The releases whose words, defaults and timings the simulator follows (the one place they are named)."""

KUBERNETES = "v1.37.0"  # the Kubernetes release: its API, kubectl's columns, its controllers' defaults
DOCKER_ENGINE = "20.10.24"  # the Docker Engine (Debian's docker.io, the engine these machines run)


def engine(flavor: str) -> str:
    """What the simulator is, for `Cluster.about()`."""
    return {"kubernetes": f"labkit's simulator of Kubernetes {KUBERNETES}",
            "swarm": f"labkit's simulator of a swarm of Docker Engine {DOCKER_ENGINE} machines",
            "docker": f"labkit's simulator of one Docker Engine {DOCKER_ENGINE} host"}[flavor]
