"""A service's placement constraints, read and matched as swarmkit reads and matches them
(manager/constraint/constraint.go Parse and NodeMatches), for the simulator's scheduler: a
template's `placement` (objects.py NodeObj.fits asks it), so a task that fits nowhere stays
pending with swarmkit's `no suitable node (scheduling constraints not satisfied on 3 nodes)`.

    docker service create --constraint node.role==worker nginx
    docker service create --constraint 'node.labels.zone!=edge' nginx
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .common import bad, swarm_id

KEY = re.compile(r"^[a-z_][a-z0-9\-_.]+$", re.IGNORECASE)
VALUE = re.compile(r"^[a-z0-9:\-_\s.*()?+\[\]\\^$|/]+$", re.IGNORECASE)
OPERATORS = ("==", "!=")


@dataclass(frozen=True)
class Constraint:
    key: str
    equal: bool
    value: str

    def match(self, *whats: str) -> bool:
        found = any(self.value.lower() == what.lower() for what in whats)
        return found if self.equal else not found


@dataclass(frozen=True)
class Placement:
    """What a node must be for a task of service `app` to run there: its constraints, and at most
    `max_per_node` of its tasks on one node (0: no limit; a global service's is 1).
    `network`: the swarm's three octets (node.ip)."""
    constraints: tuple[Constraint, ...]
    network: str
    app: str = ""
    max_per_node: int = 0

    def refuses(self, node) -> str:
        """Why not `node`, in swarmkit's filters' words (scheduler/filter.go), "" when it may."""
        if not self.admits(node):
            return "scheduling constraints not satisfied"
        if self.max_per_node and node.app_counts.get(self.app, 0) >= self.max_per_node:
            return "max replicas per node limit exceed"
        return ""

    def admits(self, node) -> bool:
        """Whether `node` meets every constraint (swarmkit's NodeMatches)."""
        labels = dict(node.labels or {})
        for c in self.constraints:
            key = c.key.lower()
            if key == "node.id":
                ok = c.match(swarm_id("node", node.name))
            elif key == "node.hostname":
                ok = c.match(node.name)
            elif key == "node.role":
                ok = c.match("manager" if node.role == "manager" else "worker")
            elif key == "node.platform.os":
                ok = c.match("linux")
            elif key == "node.platform.arch":
                ok = c.match("x86_64")
            elif key == "node.ip":
                ok = ip_matches(c, ipaddress.ip_address(f"{self.network}.{2 + node.index}"))
            elif key.startswith("node.labels.") and len(key) > len("node.labels."):
                ok = c.match(labels.get(c.key[len("node.labels."):], ""))
            elif key.startswith("engine.labels.") and len(key) > len("engine.labels."):
                ok = c.match("")  # the simulated engines have no labels of their own
            else:
                ok = False
            if not ok:
                return False
        return True


def ip_matches(c: Constraint, ip) -> bool:
    try:
        inside = ip == ipaddress.ip_address(c.value)
    except ValueError:
        try:
            inside = ip in ipaddress.ip_network(c.value, strict=False)
        except ValueError:
            return False
    return inside == c.equal


def parse(texts: list[str], network: str, app: str = "", max_per_node: int = 0) -> Placement | None:
    """The placement, or None when it says nothing; a 400 in swarmkit's words for a wrong constraint
    (swarmkit answers them as gRPC Unknown, which moby passes on as a 500: this is the client's fault)."""
    if not texts and not max_per_node:
        return None
    out = []
    for text in texts:
        op = next((o for o in OPERATORS if o in text), None)
        if op is None:
            raise bad(unknown(f"constraint expected one operator from {', '.join(OPERATORS)}"))
        key, value = (part.strip() for part in text.split(op, 1))
        if not KEY.match(key):
            raise bad(unknown(f"key '{key}' is invalid"))
        if not VALUE.match(value):
            raise bad(unknown(f"value '{value}' is invalid"))
        out.append(Constraint(key, op == "==", value))
    return Placement(tuple(out), network, app, max_per_node)


def unknown(message: str) -> str:
    return f"rpc error: code = Unknown desc = {message}"
