"""The views without a browser: static pictures, the compact sync payload, batching, ticks, controls."""
from __future__ import annotations

import re
import threading
import time

import pytest

import labkit as lk
from labkit.model import ClusterState, Event, Node, Replica, WorkloadStatus
from labkit.views import static
from labkit.views.architecture import architecture_html, trace
from labkit.views.events import events_html
from labkit.views.palette import FAILED, PENDING, RUNNING, STARTING, TERMINATING, ImagePalette, chip_state
from labkit.views.payload import encode, expand, size
from labkit.views.rollout import Series, rollout_figure, rollout_html, series

KB = 1024


def hand_built(nodes: int, replicas: int, images=("web-server:1",), phases=("running",),
               workload: str = "web") -> ClusterState:
    """A cluster made by hand: replicas spread round-robin, images and phases cycling."""
    ns = tuple(Node(name=f"node-{i + 1}", pods_allocated=replicas // nodes) for i in range(nodes))
    rs = tuple(Replica(name=f"{workload}-{k:06d}", workload=workload, node=ns[k % nodes].name, image=images[k % len(images)],
                       phase=phases[k % len(phases)], ready=phases[k % len(phases)] == "running",
                       revision=1 + images.index(images[k % len(images)]))
               for k in range(replicas))
    w = WorkloadStatus(name=workload, image=images[-1], desired=replicas, current=replicas, ready=replicas, updated=replicas,
                 available=replicas, revision=len(images))
    return ClusterState(backend="sim", flavor="kubernetes", time=12.5, nodes=ns, workloads=(w,), replicas=rs, version=7)


def sim(**options):
    return lk.connect("sim", nodes=3, seed=0, **options)


# -- static pictures ------------------------------------------------------------------------
def test_cluster_html_draws_a_box_per_node_and_a_chip_per_replica():
    state = hand_built(3, 7, images=("web-server:1", "web-server:2"),
                       phases=("running", "pending", "terminating", "failed"))
    html = static.cluster_html(state)
    assert html.count('class="lk-node"') == 3
    assert html.count('class="lk-chip"') == 7 + 2 + 5  # replicas + legend (2 images, 5 phases)
    assert "web-server:2" in html and "desired</span> 7" in html
    assert html == static.cluster_html(state), "static output must be deterministic for nbval"
    assert "<style" not in html and "<script" not in html


def test_cluster_html_marks_phases_differently_and_old_image_first():
    state = hand_built(1, 4, images=("web-server:1", "web-server:2"), phases=("running", "pending"))
    palette = static.static_palette(state)
    assert palette.images == ["web-server:1", "web-server:2"]  # old blue, new orange
    styles = {s: static.chip_style("#000", s) for s in (PENDING, STARTING, RUNNING, TERMINATING, FAILED)}
    assert len(set(styles.values())) == 5
    assert "dashed" in styles[PENDING] and "opacity" in styles[TERMINATING]


def test_cluster_html_escapes_and_shows_unscheduled_and_not_ready():
    nodes = (Node(name="node-1", ready=False, status="NotReady"), Node(name="node-2", schedulable=False))
    reps = (Replica(name="a<b>", workload="w", node=None, image="img:1", phase="pending", reason="Unschedulable"),)
    state = ClusterState(backend="sim", flavor="kubernetes", time=0.0, nodes=nodes, workloads=(WorkloadStatus(name="w", image="img:1", desired=1),), replicas=reps)
    html = static.cluster_html(state)
    assert "a<b>" not in html and "a&lt;b&gt;" in html
    assert "not scheduled</b> (1)" in html and "NotReady" in html and "cordoned" in html


def test_cluster_html_aggregates_large_clusters():
    many = static.cluster_html(hand_built(20, 5000, images=("a:1", "b:2"), phases=("running", "pending")))
    assert 'class="lk-chip"' not in many.split("margin-top:8px;font-size:11px")[0]  # bars, not chips
    assert "250 replicas" in many
    huge = static.cluster_html(hand_built(1500, 150_000))  # how long it takes: bench/view_perf.py, not a test
    assert len(huge) < 400 * KB and "1500/1500 nodes Ready" in huge


def test_cluster_repr_html_uses_the_static_view():
    cluster = sim()
    cluster.deploy("web", image="web-server:1", replicas=2)
    cluster.wait()
    html = cluster._repr_html_()
    assert html.count('class="lk-chip"') == 2 + 1 + 5
    assert html.count('class="lk-node"') == len(cluster.state().nodes)


# -- the sync payload -----------------------------------------------------------------------
def test_payload_counts_replicas_per_node_and_round_trips():
    state = hand_built(3, 9, images=("web-server:1", "web-server:2"), phases=("running", "pending", "running"))
    topology, status = encode(state, ImagePalette())
    assert [n[0] for n in topology["nodes"]] == ["node-1", "node-2", "node-3"]
    assert topology["images"] == ["web-server:1", "web-server:2"]
    total = sum(n for flat in status["chips"] for (_, _, _, n) in expand(flat))
    assert total == 9
    for flat in status["chips"]:
        groups = expand(flat)
        assert groups == sorted(groups), "groups are sorted so chips keep their places"
    assert status["workloads"][0][:5] == [9, 9, 9, 9, 9]


@pytest.mark.parametrize("nodes, replicas, limit", [(100, 2000, 64 * KB), (1500, 150_000, 160 * KB)])
def test_payload_stays_small(nodes, replicas, limit):
    state = hand_built(nodes, replicas, images=("web-server:1", "web-server:2"),
                       phases=("running", "pending", "terminating", "running"))
    parts = encode(state, ImagePalette())  # how long it takes: bench/view_perf.py prints it
    assert size(*parts) <= limit


def test_payload_on_the_simulator_at_2000_replicas_on_100_nodes():
    cluster = lk.connect("sim", nodes=100, seed=0)
    web = cluster.deploy("web", image="web-server:1", replicas=2000)
    cluster.wait()
    palette = ImagePalette()
    assert size(*encode(cluster.state(), palette)) <= 64 * KB
    web.update(image="web-server:2")
    cluster.run(2)
    topology, status = encode(cluster.state(), palette)
    assert size(topology, status) <= 64 * KB
    assert topology["images"] == ["web-server:1", "web-server:2"]
    assert sum(n for flat in status["chips"] for (*_, n) in expand(flat)) + \
        sum(n for (*_, n) in expand(status["pool"])) == len(cluster.state().replicas)


def test_palette_keeps_colours():
    palette = ImagePalette()
    assert [palette.index(i) for i in ("a:1", "b:1", "a:1", "c:1")] == [0, 1, 0, 2]
    assert palette.colour("a:1") != palette.colour("b:1")


def test_chip_state_splits_running_by_readiness():
    r = Replica(name="p", workload="w", node="n", image="i", phase="running", ready=False)
    assert chip_state(r) == STARTING
    assert chip_state(Replica(name="p", workload="w", node="n", image="i", phase="running", ready=True)) == RUNNING


# -- live views without a browser -----------------------------------------------------------
def test_cluster_view_batches_syncs():
    cluster = sim()
    view = cluster.view(interval=0.08)
    web = cluster.deploy("web", image="web-server:1", replicas=3)
    steps = 0
    for replicas in (6, 2, 8, 5):
        web.scale(replicas)
        cluster.wait(step=0.05)
        steps += 1
    calls = len(cluster.timeline)
    assert view.sent <= 3, f"{view.sent} syncs for {calls} changes: must be batched"
    time.sleep(0.25)  # the trailing edge: the last state always arrives
    assert view.status["v"] == cluster.state().version
    assert view.status["workloads"][0][0] == 5
    view.close()


def test_cluster_view_ticks_the_simulator_while_moving(monkeypatch):
    from labkit.timekeeping import Timekeeper
    monkeypatch.setenv("LABKIT_CLOCK", "wall")  # a person's kernel: the view's ticks catch up with the wall clock
    wall = [0.0]  # a wall clock the test moves: a loaded machine cannot make it drift
    cluster = sim()
    cluster.timekeeper = Timekeeper(wall=lambda: wall[0])
    web = cluster.deploy("web", image="web-server:1", replicas=3)
    cluster.wait()
    view = cluster.view(speed=10, linger=0)
    assert not view.moving
    before = cluster.now()
    wall[0] += 1.0
    view._on_message(view, {"type": "tick"}, [])
    assert cluster.backend.now() == before, "nothing moves: ticks must not advance time"
    web.scale(6)
    time.sleep(0.15)  # the batched sync
    assert view.moving
    for _ in range(100):
        time.sleep(0.06)
        wall[0] += 0.06
        view._on_message(view, {"type": "tick"}, [])
        if not view.moving:
            break
    assert not view.moving
    assert cluster.state().count(workload="web") == 6
    assert cluster.now() > before
    assert view.status["workloads"][0][2] == 6
    view.close()


def test_ticks_are_shared_between_views_of_one_cluster(monkeypatch):
    monkeypatch.setenv("LABKIT_CLOCK", "wall")
    cluster = sim()
    cluster.deploy("web", image="web-server:1", replicas=3)
    a, b = cluster.view(speed=1), cluster.view(speed=1)
    time.sleep(0.1)
    start = cluster.now()
    a._on_message(a, {"type": "tick"}, [])
    b._on_message(b, {"type": "tick"}, [])  # right after a's: ignored
    assert cluster.now() - start <= 0.5 + 1e-9
    a.close()
    b.close()


def test_cluster_view_controls_call_the_facade():
    cluster = sim()
    cluster.deploy("web", image="web-server:1", replicas=3)
    cluster.wait()
    view = cluster.view(controls=True)
    view._on_message(view, {"type": "scale", "workload": "web", "replicas": 5}, [])
    assert cluster.state().workload("web").desired == 5
    worker = next(i for i, flat in enumerate(view.status["chips"]) if flat)
    w, i, s, _ = expand(view.status["chips"][worker])[0]
    view._on_message(view, {"type": "kill", "node": worker, "w": w, "i": i, "s": s}, [])
    assert view.message == ""
    assert any(e.reason in ("Killed", "Killing") for e in cluster.events())
    view._on_message(view, {"type": "scale", "workload": "nope", "replicas": 1}, [])
    assert "nope" in view.message and "(" in view.message  # the error and its hint, shown in the view
    view._on_message(view, {"type": "speed", "value": 5}, [])
    assert view.speed == 5
    view.close()


@pytest.mark.parametrize("message", [
    {"type": "__init__"}, {"type": "state"}, {"type": ["scale"]}, {"type": "scale", "workload": "web"},
    {"type": "scale", "workload": "web", "replicas": "x"}, {"type": "scale", "workload": 5, "replicas": 2},
    {"type": "fail_node"}, {"type": "drain", "node": None}, {"type": "speed", "value": "fast"},
    {"type": "speed", "value": -1}, {"type": "speed", "value": True}])
def test_a_view_refuses_a_message_it_does_not_know_and_changes_nothing(message):
    """What the browser sends is input like any other: an unknown action or a field of the wrong type is
    shown as the view's message, never a traceback and never a call of some other method."""
    cluster = sim()
    cluster.deploy("web", image="web-server:1", replicas=3)
    cluster.wait()
    view = cluster.view(controls=True)
    before = cluster.state()
    view._on_message(view, message, [])
    assert view.message and "(" in view.message, message
    assert cluster.state().workload("web").desired == 3 and view.speed == 1.0
    assert [n.ready for n in cluster.state().nodes] == [n.ready for n in before.nodes]
    view.close()


def test_widget_bundle_has_the_static_fallback():
    cluster = sim()
    cluster.deploy("web", image="web-server:1", replicas=2)
    cluster.wait()
    data, _ = cluster.view()._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"].count('class="lk-node"') == len(cluster.state().nodes)


# -- rollouts --------------------------------------------------------------------------------
def _w(revision, image, current, updated, available, rollout="progressing", desired=4):
    return WorkloadStatus(name="web", image=image, desired=desired, current=current, ready=available, updated=updated, available=available,
                    revision=revision, max_surge=1, max_unavailable=0, rollout=rollout)


FAKE_TIMELINE = [
    (0.0, (_w(1, "web:1", 4, 4, 4, "complete"),)),
    (1.0, (_w(0, "web:2", 4, 0, 4),)),  # revision not known yet: it belongs to the coming one
    (1.5, (_w(2, "web:2", 5, 1, 4),)),
    (2.5, (_w(2, "web:2", 5, 3, 4, "paused"),)),
    (4.0, (_w(2, "web:2", 4, 4, 4, "complete"),)),
    (5.0, (_w(3, "web:1", 5, 1, 4),)),  # back to web:1: a rollback
    (6.0, (_w(3, "web:1", 4, 4, 4, "complete"),)),
]


def test_series_splits_old_and_new_and_finds_rollbacks():
    s = series(FAKE_TIMELINE, "web")
    assert s.revision[:3] == [1, 2, 2]
    assert s.old == [4, 4, 5, 5, 4, 4, 0] and s.new == [0, 0, 0, 0, 0, 1, 4]  # newest = rev 3
    assert [label for _, label in s.changes()] == ["rev 2", "rollback"]
    window = s.window(4)
    assert window.old[:2] == [4, 4] and window.new[-1] == 4
    assert window.changes() == [(1, "rollback")], "a window keeps what the whole history says"
    thin = s.thinned(limit=3)
    assert [label for _, label in thin.changes()] == ["rev 2", "rollback"]
    assert all(thin.revision[k] != thin.revision[k - 1] for k, _ in thin.changes())
    assert len(Series("x").thinned()) == 0


def test_rollout_figure_from_a_real_rolling_update():
    cluster = sim()
    web = cluster.deploy("web", image="web-server:1", replicas=4)
    cluster.wait()
    web.update(image="web-server:2", max_surge=1, max_unavailable=0)
    cluster.wait()
    fig = web.rollout_plot()
    assert fig._repr_png_().startswith(b"\x89PNG"), "a notebook shows it without %matplotlib inline"
    ax = fig.axes[0]
    assert ax.get_ylabel() == "replicas"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "old replicas" in labels and "desired + maxSurge" in labels
    s = series(cluster.timeline, "web")
    assert max(o + n for o, n in zip(s.old, s.new)) <= 5  # max_surge=1 held
    html = rollout_html(s)
    assert "<svg" in html and "polygon" in html


def test_the_timeline_holds_every_step_of_a_rollout_and_the_plot_starts_at_the_update():
    """maxSurge 100 %: all ten new pods exist at once beside the ten old ones for a moment; a
    timeline sampled every half second missed it (17). The plot's axis starts just before the
    update, not at the deploy a minute earlier."""
    cluster = sim()
    web = cluster.deploy("web", image="web-server:1", replicas=10)
    cluster.wait()
    cluster.run(60)
    started = cluster.now()
    web.update(image="web-server:2", max_surge="100%", max_unavailable=0)
    cluster.wait()
    s = series(cluster.timeline, "web")
    assert max(s.current) == 20
    ax = web.rollout_plot().axes[0]
    assert started - 1.0 <= ax.get_xlim()[0] <= started


def test_rollout_figure_draws_pauses_and_rollbacks():
    class Fake:
        timeline = FAKE_TIMELINE

        def now(self):
            return 7.0

    fig = rollout_figure(Fake(), "web", last=False)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["rev 2", "rollback"]
    assert "paused" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


# -- architecture and events -------------------------------------------------------------
def test_trace_follows_a_scale_through_the_control_plane():
    cluster = sim()
    web = cluster.deploy("web", image="web-server:1", replicas=2)
    cluster.wait()
    since = cluster.now()
    web.scale(4)
    cluster.wait()
    steps = trace(cluster.events(since), cluster.state(), request="scale to 4")
    firsts = [s.path[0] for s in steps]
    assert steps[0].path == ("client", "api-server", "store")
    assert "controller-manager" in firsts and "scheduler" in firsts
    assert any(s.path[-1].startswith("runtime@") for s in steps), "kubelet starts containers via the runtime"
    assert firsts.index("controller-manager") < firsts.index("scheduler")
    html = architecture_html(cluster.state(), steps)
    assert "etcd" in html and "scheduler" in html and "<ol" in html


@pytest.mark.parametrize("flavor, names", [("swarm", ["docker CLI", "Raft store", "orchestrator"]),
                                           ("docker", ["Docker daemon"])])
def test_architecture_other_flavors(flavor, names):
    cluster = lk.connect("sim", nodes=3, seed=0, flavor=flavor)
    from labkit.views import ArchitectureView
    view = ArchitectureView(cluster)
    labels = [b[1] for b in view.diagram["boxes"]]
    for name in names:
        assert name in labels
    assert "<svg" in view.static_html()
    view.close()


def test_architecture_view_traces_the_latest_request():
    cluster = sim()
    web = cluster.deploy("web", image="web-server:1", replicas=2)
    cluster.wait()
    from labkit.views import ArchitectureView
    view = ArchitectureView(cluster)
    web.scale(3)
    cluster.wait()
    time.sleep(0.2)
    assert view.steps and view.steps[0][1] == ["client", "api-server", "store"]
    assert "revision" in view.steps[0][2]
    view.close()


def test_events_view_sends_only_new_rows():
    cluster = sim()
    from labkit.views import EventsView
    view = EventsView(cluster, interval=0.0)
    sent: list[dict] = []
    view.send = lambda content, buffers=None: sent.append(content)  # record what goes to the frontend
    view.handle({"type": "hello"})
    assert sent[-1]["type"] == "reset"
    first = len(sent[-1]["rows"])
    cluster.deploy("web", image="web-server:1", replicas=2)
    cluster.wait()
    time.sleep(0.1)
    appended = [row for m in sent if m["type"] == "append" for row in m["rows"]]
    assert first + len(appended) == len(cluster.events()) == view.count
    assert len({tuple(r) for r in appended}) == len(appended), "no row twice"
    html = events_html(cluster.events())
    assert "Scheduled" in html and "<table" in html
    view.close()


def test_events_html_marks_warnings_and_keeps_the_newest():
    events = [Event(time=float(k), reason="Scheduled", object=f"pod/p{k}", message="ok") for k in range(40)]
    events.append(Event(time=41.0, reason="BackOff", object="pod/p1", message="Back-off restarting <failed> container", type="Warning", source="kubelet"))
    html = events_html(events)
    assert "newest 30 of 41" in html and "&lt;failed&gt;" in html
    assert re.search(r'<tr style="color:#D55E00">', html)


@pytest.mark.slow
def test_notebook_outputs_are_deterministic_without_a_frontend():
    """Under nbval nothing ticks: two runs of the demo notebook give the same outputs."""
    import nbformat
    from nbclient import NotebookClient
    from pathlib import Path
    source = Path(__file__).parent / "notebooks" / "browser_demo.ipynb"

    def outputs():
        nb = nbformat.read(source, as_version=4)
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
        found = []
        for cell in nb.cells:
            for out in cell.get("outputs", []):
                assert out.get("output_type") != "error", out
                data = out.get("data", {})
                found.append({k: v for k, v in data.items() if k in ("text/plain", "text/html")})
        return found

    first, second = outputs(), outputs()
    assert first == second
    htmls = [o["text/html"] for o in first if "text/html" in o]
    assert any('class="lk-node"' in h for h in htmls), "the cluster view's static fallback is in the output"
    assert any("<svg" in h for h in htmls)
    assert all("0x" not in o.get("text/plain", "") for o in first)


def test_a_live_view_follows_the_engines_watch():
    """Where the backend has a watch (backends.base.Watches) the view looks when the watch reports
    a change, not on a timer: here a simulator poses as a real engine whose watch the test fires."""
    from labkit.views import base
    cluster = sim()
    cluster.backend.simulated = False
    fired, calls = threading.Event(), []

    def wait_for_change(timeout: float) -> bool:
        calls.append(timeout)
        changed = fired.wait(timeout)
        fired.clear()
        return changed
    cluster.backend.wait_for_change = wait_for_change
    cluster.deploy("web", image="web-server:1", replicas=2)
    view = cluster.view(poll=0.05)
    try:
        cluster.backend.advance(5)  # the replicas start, but the watch has said nothing yet
        time.sleep(1.0)
        assert view.looks == 0 and view.status["workloads"][0][2] != 2 and calls == [base.WATCH_FALLBACK]
        fired.set()
        deadline = time.monotonic() + 5
        while view.status["workloads"][0][2] != 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert view.status["workloads"][0][2] == 2 and view.looks == 1
    finally:
        view.close()
        fired.set()


def test_live_backends_are_polled_not_ticked():
    """On a real engine time passes by itself: the view polls (here: a simulator posing as one,
    changed behind the facade's back, as another kubectl would)."""
    cluster = sim()
    cluster.backend.simulated = False  # Cluster.live: time passes by itself
    assert cluster.live
    cluster.deploy("web", image="web-server:1", replicas=2)
    view = cluster.view(poll=0.05)
    assert not view.sim and not view.moving
    cluster.backend.advance(5)  # time passes without the facade knowing
    deadline = time.monotonic() + 5
    while view.status["workloads"][0][2] != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert view.status["workloads"][0][2] == 2
    now = cluster.now()
    view._on_message(view, {"type": "tick"}, [])
    assert cluster.now() == now, "a real cluster is never ticked"
    view.close()
