"""ClusterView: every node as a box, every replica as a chip, live."""
from __future__ import annotations

import traitlets

from ..errors import InvalidInput
from ..model import ClusterState
from .base import HERE, LiveView
from .palette import STATE_NAMES, ImagePalette, chip_state
from .payload import encode, size, workload_names
from .static import cluster_html

ACTIONS = ("scale", "kill", "fail_node", "recover_node", "drain", "uncordon")  # what cluster.js's controls send


class ClusterView(LiveView):
    """Nodes, replicas and a summary line per workload, updated as the cluster changes.

        view = cluster.view()                 # just looking
        view = cluster.view(controls=True)    # with scale / kill / fail-node buttons

    Chips are coloured by image and marked by phase (dashed: pending, half
    filled: starting, solid: running, faded: terminating, ringed: failed).
    Above `chip_limit` replicas the nodes show bars of counts instead; click a
    node to see its own chips.
    """

    _esm = HERE / "cluster.js"
    topology = traitlets.Dict().tag(sync=True)
    status = traitlets.Dict().tag(sync=True)
    controls = traitlets.Bool(False).tag(sync=True)
    chip_limit = traitlets.Int(3000).tag(sync=True)

    def __init__(self, cluster, *, controls: bool = False, chip_limit: int = 3000, **options) -> None:
        self.palette = ImagePalette()
        self._state: ClusterState | None = None
        super().__init__(cluster, controls=controls, chip_limit=chip_limit, **options)

    def payload(self, state: ClusterState) -> None:
        self._state = state
        layout, status = encode(state, self.palette, moving=self.moving)
        if layout != self.topology:
            self.topology = layout
        self.status = status
        self.last_payload_size = size(layout, status)

    def static_html(self) -> str:
        return cluster_html(self.cluster.state())  # now, not the last sync: deterministic for nbval

    # -- controls --------------------------------------------------------------------------
    def handle(self, message: dict) -> None:
        """A control's message from the browser: one of ACTIONS, refused before anything runs
        when it names anything else."""
        kind = message.get("type")
        if kind not in ACTIONS:
            raise InvalidInput(f"unknown view action {kind!r}", f"the view's controls send {', '.join(ACTIONS)}")
        cluster = self.cluster
        match kind:
            case "scale":
                cluster.workload(field(message, "workload", str)).scale(field(message, "replicas", int))
            case "kill":
                cluster.kill_replica(self._replica_at(message))
            case "fail_node":
                cluster.fail_node(field(message, "node", str))
            case "recover_node":
                cluster.recover_node(field(message, "node", str))
            case "drain":
                cluster.drain(field(message, "node", str))
            case "uncordon":
                cluster.uncordon(field(message, "node", str))

    def _replica_at(self, message: dict) -> str | None:
        """The replica a clicked chip stands for: the first on that node with that workload,
        image and state (chips of one kind are interchangeable); None for a random one."""
        state = self._state
        if state is None or "node" not in message:
            return None
        names = workload_names(state)
        node = message["node"]
        node_name = state.nodes[node].name if isinstance(node, int) and 0 <= node < len(state.nodes) else None
        w, i, s = (int(message.get(k, -1)) for k in ("w", "i", "s"))
        for r in sorted(state.replicas, key=lambda r: r.name):
            if (r.node == node_name and 0 <= w < len(names) and r.workload == names[w]
                    and self.palette.index(r.image) == i and chip_state(r) == s):
                return r.name
        raise InvalidInput(f"that {STATE_NAMES[s] if 0 <= s < len(STATE_NAMES) else ''} replica is gone already",
                           "click another chip")


def field(message: dict, name: str, kind: type):
    """One field of a control's message, of the type the action takes (the facade checks its value)."""
    value = message.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise InvalidInput(f"the view's {message.get('type')} message has no {kind.__name__} {name!r} "
                           f"(it has {value!r})", "reload the page: the view and labkit may be of different versions")
    return value
