"""`GET /swarm` (`docker swarm inspect`'s source) and the swarm part of `GET /info`.

    docker info            # Swarm: active, NodeID, Is Manager, ClusterID, Managers, Nodes, ...
"""
from __future__ import annotations

from ..flavors.swarm import HEARTBEAT
from ..orchestrator import TASK_HISTORY
from .common import Answer, Call, route
from .state import NANO, Engine


def cluster(engine: Engine) -> dict:
    """swarm.ClusterInfo: what `GET /swarm` and `GET /info`'s Swarm.Cluster share."""
    return {
        "ID": engine.cluster_id(), "Version": {"Index": 10},
        "CreatedAt": engine.timestamp(engine.born), "UpdatedAt": engine.timestamp(engine.born),
        "Spec": {"Name": "default", "Labels": {},
                 "Orchestration": {"TaskHistoryRetentionLimit": TASK_HISTORY},
                 "Raft": {"SnapshotInterval": 10000, "KeepOldSnapshots": 0, "LogEntriesForSlowFollowers": 500,
                          "ElectionTick": 10, "HeartbeatTick": 1},
                 "Dispatcher": {"HeartbeatPeriod": int(HEARTBEAT * NANO)},
                 "CAConfig": {"NodeCertExpiry": 7776000000000000},  # 90 days
                 "TaskDefaults": {}, "EncryptionConfig": {"AutoLockManagers": False}},
        "TLSInfo": {"TrustRoot": "", "CertIssuerSubject": "", "CertIssuerPublicKey": ""},
        "RootRotationInProgress": False, "DefaultAddrPool": ["10.0.0.0/8"], "SubnetSize": 24,
        "DataPathPort": 4789,
    }


def info(engine: Engine) -> dict:
    """swarm.Info, as the manager the client talks to sees its swarm."""
    nodes = engine.nodes()
    managers = [n for n in nodes if n.role == "manager"]
    host = engine.host
    return {
        "NodeID": engine.node_id(host.name), "NodeAddr": engine.address(host), "LocalNodeState": "active",
        "ControlAvailable": host.role == "manager", "Error": "",
        "RemoteManagers": [{"NodeID": engine.node_id(n.name), "Addr": f"{engine.address(n)}:2377"} for n in managers],
        "Nodes": len(nodes), "Managers": len(managers),
        "Cluster": cluster(engine) if host.role == "manager" else None,
    }


@route("GET", "/swarm")
def inspect(call: Call) -> Answer:
    engine = call.engine
    with engine.lock:
        engine.require_leader()
        found = cluster(engine)
        found["JoinTokens"] = {"Worker": engine.sim.join_token("worker"), "Manager": engine.sim.join_token("manager")}
    return Answer(json=found)
