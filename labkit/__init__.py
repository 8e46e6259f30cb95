"""labkit: learn container orchestration in Jupyter.

    import labkit as lk
    cluster = lk.connect()            # $LABKIT_BACKEND, else the simulator
    web = cluster.deploy("my-web-server", image="web-server:1", replicas=3)
    cluster.wait()

Heavy libraries (docker, kubernetes, widgets, matplotlib) load only when a
backend or view needs them, so `import labkit` stays fast.
"""
from .cluster import Cluster, Workload, connect
from .errors import (AlreadyExists, InvalidInput, LabkitError, NotFound, Refused, Timeout,
                     Unavailable)
from .model import ClusterState, Event, Node, Replica

__all__ = ["connect", "sh", "Cluster", "Workload", "ClusterState", "Node", "Replica", "Event",
           "LabkitError", "InvalidInput", "NotFound", "AlreadyExists", "Unavailable", "Refused",
           "Timeout"]
__version__ = "0.1.0"


def sh(line: str, cluster: Cluster | None = None) -> None:
    """Run a course command line (`docker ...`, `kubectl ...`, `minikube ...`) and print its output."""
    from .console import sh as run
    run(line, cluster)


def load_ipython_extension(shell) -> None:
    """`%load_ext labkit`: the course's %docker / %kubectl / %minikube magics."""
    from .notebook import install
    install()
    from .console import load_ipython_extension as load
    load(shell)


if "IPython" in __import__("sys").modules:  # in a notebook: errors as short messages
    from .notebook import install as _install

    _install()
