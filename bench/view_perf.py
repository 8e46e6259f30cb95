"""How fast and how small the live cluster view is.

    .venv/bin/python bench/view_perf.py            # everything (about a minute)
    .venv/bin/python bench/view_perf.py --no-lab   # skip the end-to-end JupyterLab run

Prints:
  1. the sync payload of 2000 replicas on 100 nodes (simulator, before and during a
     rolling update), against the 64 KB budget;
  2. frames per second in headless Chromium while a rolling update of 2000 replicas
     plays: the page's frame rate with updates at the kernel's pace (20 a second), and
     how many updates a second the view can render at most (one per frame);
     and end to end in JupyterLab, the view ticking the simulator itself;
  3. 150,000 pods: time to snapshot and encode, payload size, sync interval the view
     adapts to, and render time and frame rate in the browser (aggregated nodes, zoom).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import labkit as lk  # noqa: E402
from labkit.views.palette import ImagePalette  # noqa: E402
from labkit.views.payload import encode, size  # noqa: E402

VIEWS = ROOT / "labkit" / "views"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
KB = 1024

HARNESS = """
<!doctype html><html><head><meta charset="utf-8"><style>%CSS%</style></head>
<body style="margin:8px;background:#fff"><div id="el"></div>
<script type="module">
const listeners = {};
const state = {controls: false, chip_limit: 3000, moving: false, sim: true, speed: 1, message: ""};
const fire = (name) => (listeners[name] || []).forEach((cb) => cb());
const model = {
  get: (k) => state[k], set: (k, v) => { state[k] = v; }, save_changes() {}, send() {}, off() {},
  on: (name, cb) => { (listeners[name] ||= []).push(cb); },
};
window.push = (topology, status) => {
  if (topology) { state.topology = topology; fire("change:topology"); }
  state.status = status; fire("change:status");
};
const src = document.getElementById("src").textContent;
const mod = await import(URL.createObjectURL(new Blob([src], {type: "text/javascript"})));
const first = JSON.parse(document.getElementById("first").textContent);
window.push(first[0], first[1]);
mod.default.render({model, el: document.getElementById("el")});
window.ready = true;
</script><script type="text/plain" id="src">%JS%</script>
<script type="application/json" id="first">%FIRST%</script></body></html>
"""

# Plays `frames` (status payloads) in the page and measures. mode "paced": one update every
# `every` ms; "flat-out": one update per animation frame.
PLAY = """async ([frames, mode, every, seconds]) => {
  const root = document.querySelector('.lk-cluster');
  const start = performance.now();
  const gaps = [];
  let last = start, k = 0, rendered0 = +root.dataset.frames;
  let paced = null;
  if (mode === 'paced') paced = setInterval(() => { window.push(null, frames[k++ % frames.length]); }, every);
  await new Promise((done) => {
    const frame = (now) => {
      gaps.push(now - last); last = now;
      if (mode !== 'paced') window.push(null, frames[k++ % frames.length]);
      if (now - start < seconds * 1000) requestAnimationFrame(frame); else done();
    };
    requestAnimationFrame(frame);
  });
  if (paced) clearInterval(paced);
  const elapsed = (performance.now() - start) / 1000;
  gaps.sort((a, b) => a - b);
  return {fps: gaps.length / elapsed, updates: (+root.dataset.frames - rendered0) / elapsed,
          worst_ms: gaps[gaps.length - 1], p95_ms: gaps[Math.floor(gaps.length * 0.95)],
          chips: document.querySelectorAll('.lk-chip[data-w]').length,
          nodes: document.querySelectorAll('.lk-nodes .lk-node').length
                 || +(document.querySelector('.lk-grid')?.dataset.nodes || 0)};
}"""


def record_rollout(nodes: int = 100, replicas: int = 2000, step: float = 0.1):
    """(topology, [status, ...], sizes) of a real rolling update on the simulator, one sample per `step`."""
    cluster = lk.connect("sim", nodes=nodes, seed=0)
    web = cluster.deploy("web", image="web-server:1", replicas=replicas)
    cluster.wait()
    palette = ImagePalette()
    before = size(*encode(cluster.state(), palette))
    web.update(image="web-server:2")
    frames, sizes, topology = [], [], None
    while True:
        cluster.run(step)
        state = cluster.state()
        topology, status = encode(state, palette)
        frames.append(status)
        sizes.append(size(topology, status))
        if (state.converged and len(frames) > 5) or len(frames) >= 900:
            break
    return topology, frames, before, sizes


def page_for(topology, first, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    html = (HARNESS.replace("%CSS%", (VIEWS / "views.css").read_text())
            .replace("%JS%", (VIEWS / "cluster.js").read_text())
            .replace("%FIRST%", json.dumps([topology, first]).replace("</", "<\\/")))
    page.set_content(html)
    page.wait_for_function("() => window.ready === true")
    return page


def play(page, frames, mode: str, every: float, seconds: float) -> dict:
    """PLAY, plus CPU time: the renderer's main thread (Chrome's ThreadTime: script, style,
    layout, paint) and the whole renderer process (ProcessTime, with raster threads).
    Updates per main-thread CPU second is what the view sustains with a free core,
    whatever else loads the machine."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def cpu() -> tuple[float, float]:
        m = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        return m["ThreadTime"], m["ProcessTime"]

    thread0, process0 = cpu()
    result = page.evaluate(PLAY, [frames, mode, every, seconds])
    thread1, process1 = cpu()
    updates = max(result["updates"] * seconds, 1)
    result["main_ms"] = 1000 * (thread1 - thread0) / updates
    result["process_ms"] = 1000 * (process1 - process0) / updates
    result["capacity"] = 1000 / max(result["main_ms"], 1e-6)
    return result


def load() -> str:
    import os
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def browser_rollout(browser, topology, frames) -> None:
    page = page_for(topology, frames[0], browser)
    paced = play(page, frames, "paced", 50, 4)
    flat = play(page, frames, "flat-out", 0, 4)
    print(f"  ({load()}: wall-clock rates are shared with everything else running)")
    print(f"  paced (an update every 50 ms): page {paced['fps']:.0f} fps, view {paced['updates']:.0f} updates/s, "
          f"p95 frame {paced['p95_ms']:.0f} ms, worst {paced['worst_ms']:.0f} ms "
          f"({paced['nodes']} node boxes, {paced['chips']} chips in the DOM)")
    print(f"  flat out (an update every frame): view {flat['updates']:.0f} updates/s = frames/s, "
          f"p95 frame {flat['p95_ms']:.0f} ms")
    verdict = "OK" if flat["capacity"] >= 20 else "BELOW 20"
    print(f"  CPU per update: main thread {flat['main_ms']:.1f} ms (whole renderer {flat['process_ms']:.1f} ms) "
          f"-> {flat['capacity']:.0f} frames/s with a free core  {verdict} (>= 20 wanted)")
    page.close()


def end_to_end(browser, replicas: int = 2000, nodes: int = 100) -> None:
    """The real thing: JupyterLab, the kernel, the view ticking a 2000-replica rolling update."""
    import shutil
    import tempfile
    sys.path.insert(0, str(ROOT / "tests"))
    from test_browser import JupyterLab, dismiss_notifications, open_notebook, run_cell
    import nbformat
    workdir = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        f'import labkit as lk\ncluster = lk.connect("sim", nodes={nodes}, seed=0)\n'
        f'web = cluster.deploy("web", image="web-server:1", replicas={replicas})\ncluster.wait()\n'
        f'view = cluster.view(speed=2)\nview'),
        nbformat.v4.new_code_cell('web.update(image="web-server:2")')]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, workdir / "bench.ipynb")
    lab = JupyterLab(workdir)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        open_notebook(page, lab, "bench.ipynb")
        dismiss_notifications(page)
        run_cell(page, 0)
        page.wait_for_function(f"() => +(document.querySelector('.lk-cluster')?.dataset.total || 0) === {replicas}",
                               timeout=120_000)
        run_cell(page, 1)
        started = time.monotonic()
        samples = page.evaluate("""async () => {
          const root = document.querySelector('.lk-cluster');
          const out = []; const t0 = performance.now(); let last = t0, f0 = +root.dataset.frames, gaps = [];
          await new Promise((done) => {
            const frame = (now) => {
              gaps.push(now - last); last = now;
              const w = document.querySelector('.lk-workload[data-workload="web"]');
              const finished = w && w.dataset.rollout === 'complete' && w.dataset.updated === w.dataset.desired;
              if ((finished && now - t0 > 1000) || now - t0 > 90000) done(); else requestAnimationFrame(frame);
            };
            requestAnimationFrame(frame);
          });
          const s = (performance.now() - t0) / 1000;
          return {seconds: s, fps: gaps.length / s, updates: (+root.dataset.frames - f0) / s,
                  worst: Math.max(...gaps)};
        }""")
        print(f"  ({load()})")
        print(f"  JupyterLab end to end, {replicas} replicas / {nodes} nodes, speed 2x: rolling update shown in "
              f"{samples['seconds']:.1f} s; page {samples['fps']:.0f} fps, view {samples['updates']:.1f} updates/s "
              f"(one per tick: the kernel's pace), worst frame {samples['worst']:.0f} ms "
              f"[wall {time.monotonic() - started:.1f} s]")
        page.close()
    finally:
        lab.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def huge(browser, nodes: int = 1500, replicas: int = 150_000, settle: float = 30.0) -> None:
    started = time.perf_counter()
    cluster = lk.connect("sim", nodes=nodes, seed=0)
    cluster.deploy("web", image="web-server:1", replicas=replicas)
    cluster.run(settle)
    print(f"  simulator: {replicas} replicas on {nodes} nodes after {settle:g} s of cluster time "
          f"(built in {time.perf_counter() - started:.1f} s)")
    t = time.perf_counter()
    state = cluster.state()
    snap = time.perf_counter() - t
    palette = ImagePalette()
    t = time.perf_counter()
    topology, status = encode(state, palette)
    enc = time.perf_counter() - t
    print(f"  snapshot {snap * 1000:.0f} ms, encode {enc * 1000:.0f} ms, payload {size(topology, status) / KB:.1f} KB "
          f"(status alone {size(status) / KB:.1f} KB; topology is sent once)")
    from labkit.views import ClusterView
    view = ClusterView(cluster)
    print(f"  the view's sync interval adapts to {view.interval * 1000:.0f} ms (base {view.base_interval * 1000:.0f} ms)"
          f" so the kernel stays responsive")
    view.close()
    if browser is None:
        return
    # The simulator schedules 150,000 pods slowly; for the browser, a full cluster made by hand:
    # 100 pods on each of 1500 nodes, rolling from web-server:1 to :2 over 10 frames.
    palette = ImagePalette()
    frames = []
    for step in range(11):
        topology, status = encode(rolled(nodes, replicas, step / 10), palette)
        frames.append(status)
    print(f"  by hand: {replicas} running pods on {nodes} nodes, rolling update in 10 frames: payload "
          f"{size(topology, frames[5]) / KB:.1f} KB")
    t = time.perf_counter()
    page = page_for(topology, frames[0], browser)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    first = time.perf_counter() - t
    result = play(page, frames, "flat-out", 0, 3)
    print(f"  browser: page and first render {first * 1000:.0f} ms; {result['nodes']} node cells on a canvas, {result['chips']} chips in "
          f"the DOM (one canvas); {result['updates']:.0f} updates/s flat out, p95 frame {result['p95_ms']:.0f} ms; "
          f"main-thread CPU per update {result['main_ms']:.1f} ms ({result['capacity']:.0f} frames/s with a free core)")
    # Zoom: click the grid cell of the fullest node.
    x, y = page.evaluate("""() => {
      const c = document.querySelector('.lk-grid'), cols = +c.dataset.cols, r = c.getBoundingClientRect();
      return [r.left + 6 + (5 % cols) * 14, r.top + 6 + Math.floor(5 / cols) * 14];
    }""")
    page.mouse.click(x, y)
    page.wait_for_selector(".lk-zoom .lk-chip")
    print(f"  zoom on one node: {page.locator('.lk-zoom .lk-chip').count()} chips drawn for it")
    page.close()


def rolled(nodes: int, replicas: int, done: float):
    """A cluster made by hand, `done` of the way through a rolling update (a few pods starting)."""
    from labkit.model import ClusterState, Node, Replica, WorkloadStatus
    ns = tuple(Node(name=f"node-{i + 1}", pods_capacity=110, pods_allocated=replicas // nodes) for i in range(nodes))
    new = int(replicas * done)
    rs = tuple(Replica(name=f"web-{k}", workload="web", node=ns[k % nodes].name, image="web-server:2" if k < new else "web-server:1",
                       phase="running", ready=not (new - 200 < k < new), revision=2 if k < new else 1)
               for k in range(replicas))
    w = WorkloadStatus(name="web", image="web-server:2", desired=replicas, current=replicas, ready=replicas, updated=new, available=replicas)
    return ClusterState(backend="sim", flavor="kubernetes", time=10.0 * done, nodes=ns, workloads=(w,), replicas=rs, version=int(100 * done))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-lab", action="store_true", help="skip the end-to-end JupyterLab measurement")
    parser.add_argument("--no-huge", action="store_true", help="skip 150,000 pods")
    args = parser.parse_args()

    print("1. sync payload, 2000 replicas on 100 nodes (budget 64 KB)")
    topology, frames, before, sizes = record_rollout()
    print(f"  steady: {before / KB:.1f} KB; during the rolling update: max {max(sizes) / KB:.1f} KB, "
          f"median {statistics.median(sizes) / KB:.1f} KB over {len(sizes)} samples  "
          f"{'OK' if max(sizes) <= 64 * KB else 'OVER BUDGET'}")

    browser = None
    try:
        from playwright.sync_api import sync_playwright
        manager = sync_playwright().start()
        browser = manager.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    except Exception as error:  # no Chromium: print what can be printed
        print(f"  (no browser: {error})")
    if browser is not None:
        print("2. rendering a 2000-replica rolling update in headless Chromium")
        browser_rollout(browser, topology, frames)
        if not args.no_lab:
            end_to_end(browser)
    if not args.no_huge:
        print("3. 150,000 pods")
        huge(browser)
    if browser is not None:
        browser.close()
        manager.stop()


if __name__ == "__main__":
    main()
