// labkit ArchitectureView: control-plane components and an animated trace of one request.
// `diagram` = {boxes: [[id, label, sub, x, y, w, h, running]], edges: [[a, b]]};
// `steps` = [[time, [box ids the request travels], text, warning, actor box]] from the cluster's real events.

const NS = "http://www.w3.org/2000/svg";
const HOP_MS = 320;
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "lk-root lk-arch";
  root.dataset.live = "1";
  root.innerHTML = `<div class="lk-bar-row"><span class="lk-live-dot"></span><b>control plane</b><span class="lk-muted lk-flavor"></span><span class="lk-spacer"></span><button class="lk-btn lk-replay">replay</button></div>`;
  const svg = document.createElementNS(NS, "svg");
  const list = document.createElement("ol");
  root.append(svg, list);
  el.appendChild(root);
  let centres = {};
  let shown = 0;        // steps already animated
  let firstKey = null;
  let busy = false;
  let alive = true;
  let generation = 0;   // bumped when a new request starts: the running animation stops
  let diagramKey = "";

  function drawDiagram() {
    const d = model.get("diagram") || {};
    const key = JSON.stringify(d);
    if (key === diagramKey) return;
    diagramKey = key;
    const boxes = d.boxes || [];
    let height = 60;
    centres = {};
    let out = "";
    for (const [id, , , x, y, w, h] of boxes) {
      centres[id] = [x + w / 2, y + h / 2];
      height = Math.max(height, y + h + 14);
    }
    const size = {};
    for (const [id, , , , , w, h] of boxes) size[id] = [w, h];
    // From border to border, not centre to centre, so lines never cross a label.
    const edge = (a, b) => {
      const [ax, ay] = centres[a], [bx, by] = centres[b];
      const cut = (cx, cy, dx, dy, [w, h]) => {
        const t = Math.min(w / 2 / (Math.abs(dx) || 1e-9), h / 2 / (Math.abs(dy) || 1e-9), 1);
        return [cx + dx * t, cy + dy * t];
      };
      const [x1, y1] = cut(ax, ay, bx - ax, by - ay, size[a]);
      const [x2, y2] = cut(bx, by, ax - bx, ay - by, size[b]);
      return `<line class="lk-edge" x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}"/>`;
    };
    for (const [a, b] of d.edges || []) if (centres[a] && centres[b]) out += edge(a, b);
    for (const [id, label, sub, x, y, w, h, up] of boxes) {
      out += `<g class="lk-comp${up ? "" : " lk-down"}" data-id="${esc(id)}"><rect x="${x}" y="${y}" width="${w}" height="${h}" rx="7"/><text x="${x + 8}" y="${y + 16}" font-weight="600">${esc(label)}${up ? "" : " (down)"}</text><text x="${x + 8}" y="${y + 30}" style="font-size:10px;fill:var(--lk-muted)">${esc(sub)}</text></g>`;
    }
    out += `<circle class="lk-token" r="6" cx="-20" cy="-20"/>`;
    svg.setAttribute("viewBox", `0 0 720 ${height}`);
    svg.setAttribute("width", "720");
    svg.innerHTML = out;
    root.querySelector(".lk-flavor").textContent = d.flavor || "";
  }

  function highlight(id) {
    for (const g of svg.querySelectorAll(".lk-comp")) g.classList.toggle("lk-active", g.dataset.id === id);
  }

  function drawList(current) {
    const steps = model.get("steps") || [];
    list.innerHTML = steps
      .map((s, k) => `<li class="lk-step${k === current ? " lk-current" : ""}" style="${s[3] ? "color:var(--lk-warn)" : ""}${k > current && current >= 0 ? ";opacity:.45" : ""}">${s[0].toFixed(1)}s · ${esc(s[2])}</li>`)
      .join("");
    root.dataset.steps = String(steps.length);
  }

  function moveToken(path, done) {
    const mine = generation;
    const token = svg.querySelector(".lk-token");
    const points = path.map((id) => centres[id]).filter(Boolean);
    if (!token || points.length === 0) return done();
    let hop = 0;
    let start = performance.now();
    const frame = (now) => {
      if (!alive) return;
      if (mine !== generation) return done(false);
      const a = points[hop];
      const b = points[Math.min(hop + 1, points.length - 1)];
      const f = Math.min((now - start) / HOP_MS, 1);
      token.setAttribute("cx", String(a[0] + (b[0] - a[0]) * f));
      token.setAttribute("cy", String(a[1] + (b[1] - a[1]) * f));
      if (f >= 1) {
        hop += 1;
        start = now;
        if (hop >= points.length - 1) return done();
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  function play() {
    const steps = model.get("steps") || [];
    const key = steps.length ? `${steps[0][0]}|${steps[0][2]}` : "";
    if (firstKey === null) {
      firstKey = key;  // what was there before the view appeared: listed, not animated
      shown = steps.length;
    } else if (key !== firstKey) {
      firstKey = key;
      shown = 0;  // a new request: trace it from its start
      generation += 1;
      busy = false;
    }
    if (busy || shown >= steps.length) {
      if (!busy) drawList(steps.length - 1);
      return;
    }
    busy = true;
    const k = shown;
    highlight(steps[k][4] || steps[k][1][0]);
    drawList(k);
    moveToken(steps[k][1], (finished = true) => {
      if (!finished) return;  // superseded by a newer request
      shown = k + 1;
      busy = false;
      if (shown >= steps.length) highlight("");
      play();
    });
  }

  root.querySelector(".lk-replay").addEventListener("click", () => {
    shown = 0;
    generation += 1;
    busy = false;
    play();
  });

  const update = () => {
    drawDiagram();
    root.classList.toggle("lk-moving", !!model.get("moving"));
    play();
  };
  // Tick the simulator while something moves, like the cluster view.
  let lastTick = 0;
  const ticker = () => {
    if (!alive) return;
    const now = performance.now();
    if (model.get("moving") && model.get("sim") && model.get("speed") > 0 && el.isConnected && now - lastTick >= 100) {
      lastTick = now;
      model.send({ type: "tick" });
    }
    timer = setTimeout(ticker, 100);
  };
  let timer = setTimeout(ticker, 100);
  model.on("change:diagram", update);
  model.on("change:steps", update);
  model.on("change:moving", update);
  update();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

export default { render };
