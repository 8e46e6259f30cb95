// labkit: what the chart views (RolloutView, TrafficView) share. Not a module of its own:
// labkit/views/base.py `esm()` puts it in front of a view's code, so it defines plain
// functions only (no imports, no export).

// Same clock as ClusterView: while something moves, ask Python to let time pass on the
// simulator, a tick every 100 ms at most, and the next only once the view has drawn an
// answer (`drawn()`) or a second has gone by. `stop()` ends it (the view is gone).
function simulatorTicker(model, el) {
  let got = true, lastTick = 0, alive = true;
  const ticker = () => {
    if (!alive) return;
    const now = performance.now();
    if (model.get("moving") && model.get("sim") && model.get("speed") > 0 && el.isConnected &&
        (got || now - lastTick > 1000) && now - lastTick >= 100) {
      got = false;
      lastTick = now;
      model.send({ type: "tick" });
    }
    timer = setTimeout(ticker, 50);
  };
  let timer = setTimeout(ticker, 100);
  return {
    drawn: () => (got = true),
    stop: () => {
      alive = false;
      clearTimeout(timer);
    },
  };
}

// A chart view's render: a header row, an SVG `width` × `height` and a legend (`legend`: its
// first HTML) in a `.lk-root.lk-<kind>`; `paint(series, { head, svg, legend })` fills them from
// the model's `series`, at most once an animation frame, and the view ticks the simulator.
// Returns the view's clean-up.
function liveChart(model, el, { kind, width, height, legend = "", paint }) {
  const root = document.createElement("div");
  root.className = `lk-root lk-${kind}`;
  root.dataset.live = "1";
  const head = document.createElement("div");
  head.className = "lk-bar-row";
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  const keys = document.createElement("div");
  keys.className = "lk-legend";
  keys.innerHTML = legend;
  root.append(head, svg, keys);
  const parts = { head, svg, legend: keys };
  el.appendChild(root);
  const ticker = simulatorTicker(model, el);
  let scheduled = false;
  let frames = 0;
  function update() {
    scheduled = false;
    paint(model.get("series") || {}, parts);
    root.classList.toggle("lk-moving", !!model.get("moving"));
    frames += 1;
    root.dataset.frames = String(frames);
    ticker.drawn();
  }
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(update);
    }
  };
  model.on("change:series", schedule);
  model.on("change:moving", schedule);
  update();
  return ticker.stop;
}
