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

__all__ = ["connect", "Cluster", "Workload", "ClusterState", "Node", "Replica", "Event",
           "LabkitError", "InvalidInput", "NotFound", "AlreadyExists", "Unavailable", "Refused",
           "Timeout"]
__version__ = "0.1.0"
