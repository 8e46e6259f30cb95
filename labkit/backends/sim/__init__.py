"""A Kubernetes-shaped (and Swarm-shaped) control plane you can read in one sitting.

store.py (etcd) -> api.py (API server) -> scheduler.py, controllers.py
(controller-manager), orchestrator.py (Swarm manager) -> node.py (kubelet and
runtime), all on clock.py's virtual time; backend.py wires them together, and
flavors/ holds what Kubernetes, Swarm and a lone Docker host each do their own way.
"""
from .backend import SimBackend

__all__ = ["SimBackend"]
