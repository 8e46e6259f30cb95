// labkit ClusterView: nodes as boxes, replicas as chips. Plain ESM for anywidget, no build step.
// The model carries `topology` (names, roles, capacities, images) and `status` (counts per node
// as flat [workload, image, state, count, ...] arrays); see labkit/views/payload.py.

const COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"];
const STATES = ["pending", "starting", "running", "terminating", "failed", "succeeded"];
const SPEEDS = [0, 1, 5, 20];
const MINI_NODES = 300;       // above this many nodes, nodes are small cells (click one to zoom)
const NODE_CHIP_LIMIT = 400;  // above this many replicas on one node, a bar of counts
const TICK_MS = 50;  // at most 20 ticks a second, at most two unanswered

const colour = (i) => (i < 0 ? "#8a8f98" : COLOURS[i % COLOURS.length]);
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
const h = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

function chipsHTML(flat, layout, individual) {
  const images = layout.images || [];
  if (individual) {
    let out = "";
    for (let k = 0; k < flat.length; k += 4) {
      const [w, i, s, n] = [flat[k], flat[k + 1], flat[k + 2], flat[k + 3]];
      // Colour by class, not inline style: 2000 chips restyle much faster.
      const one = `<i class="lk-chip s${s} c${i % COLOURS.length}" data-w="${w}" data-i="${i}" data-s="${s}"></i>`;
      out += one.repeat(n);
    }
    return out;
  }
  let total = 0;
  for (let k = 3; k < flat.length; k += 4) total += flat[k];
  const byState = [0, 0, 0, 0, 0, 0];
  let bar = "";
  for (let k = 0; k < flat.length; k += 4) {
    const [i, s, n] = [flat[k + 1], flat[k + 2], flat[k + 3]];
    byState[s] += n;
    bar += `<span class="s${s}" style="--c:${colour(i)};width:${(100 * n) / total}%" title="${n} × ${esc(images[i] || "")} ${STATES[s]}"></span>`;
  }
  const words = byState.map((n, s) => (n ? `${n} ${STATES[s]}` : "")).filter(Boolean).join(" · ");
  return `<div class="lk-agg-text" data-count="${total}">${total} replicas: ${words}</div><div class="lk-agg">${bar}</div>`;
}

function countOf(flat) {
  let total = 0;
  for (let k = 3; k < flat.length; k += 4) total += flat[k];
  return total;
}

function render({ model, el }) {
  const root = h("div", "lk-root lk-cluster");
  root.dataset.live = "1";
  el.appendChild(root);

  const head = h("div", "lk-bar-row");
  const dot = h("span", "lk-live-dot");
  const title = h("span", "lk-title");
  const clock = h("span", "lk-clock");
  const speedBox = h("span", "lk-speed");
  head.append(dot, title, clock, h("span", "lk-spacer"), speedBox);
  const message = h("div", "lk-message");
  const workloadsBox = h("div", "lk-workloads");
  const nodesBox = h("div", "lk-nodes");
  const zoomBox = h("div", "lk-zoom");
  const poolBox = h("div", "lk-pool");
  const legend = h("div", "lk-legend");
  root.append(head, message, workloadsBox, nodesBox, zoomBox, poolBox, legend);

  let nodeEls = [];       // per node: {box, status, cap, chips, key}
  const grid = { canvas: null, cols: 1, cell: 14 };

  function cellAt(ev) {
    const r = grid.canvas.getBoundingClientRect();
    const col = Math.floor((ev.clientX - r.left) / grid.cell);
    const row = Math.floor((ev.clientY - r.top) / grid.cell);
    const index = row * grid.cols + col;
    const n = ((model.get("topology") || {}).nodes || []).length;
    return col >= 0 && col < grid.cols && index >= 0 && index < n ? index : -1;
  }

  // Each node a 12 px cell: filled from the bottom as far as the node is full, in the colours
  // of its replicas' images; NotReady nodes are vermillion.
  function drawGrid(layout, status) {
    const canvas = grid.canvas;
    const nodes = layout.nodes || [];
    const width = Math.max(nodesBox.clientWidth || 0, 300);
    grid.cols = Math.max(1, Math.floor(width / grid.cell));
    const rows = Math.ceil(nodes.length / grid.cols);
    const ratio = window.devicePixelRatio || 1;
    const w = grid.cols * grid.cell, hgt = rows * grid.cell;
    if (canvas.width !== w * ratio || canvas.height !== hgt * ratio) {
      canvas.width = w * ratio;
      canvas.height = hgt * ratio;
      canvas.style.width = `${w}px`;
      canvas.style.height = `${hgt}px`;
    }
    canvas.dataset.cols = String(grid.cols);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const track = getComputedStyle(root).getPropertyValue("--lk-track").trim() || "rgba(127,127,127,.22)";
    const chips = status.chips || [];
    (status.nodes || []).forEach(([flags], n) => {
      const x = (n % grid.cols) * grid.cell, y = Math.floor(n / grid.cols) * grid.cell, size = grid.cell - 2;
      ctx.fillStyle = (flags & 1) ? track : "#D55E00";
      ctx.fillRect(x, y, size, size);
      if (!(flags & 1)) return;
      const flat = chips[n] || [];
      const count = countOf(flat);
      const cap = (nodes[n] || [])[4] || Math.max(count, 1);
      let bottom = y + size;
      for (let k = 0; k < flat.length; k += 4) {
        const part = (size * Math.min(count / cap, 1) * flat[k + 3]) / (count || 1);
        ctx.fillStyle = colour(flat[k + 1]);
        ctx.globalAlpha = flat[k + 2] === 2 ? 1 : 0.45;
        ctx.fillRect(x, bottom - part, size, part);
        bottom -= part;
      }
      ctx.globalAlpha = 1;
    });
  }
  let workloadEls = [];
  let layoutKey = "";
  let zoomed = -1;
  let frames = 0;
  let scheduled = false;

  for (const s of SPEEDS) {
    const b = h("button", "lk-btn", s === 0 ? "pause" : `${s}×`);
    b.title = s === 0 ? "stop simulated time" : `simulated time runs ${s}× as fast as yours`;
    b.dataset.speed = String(s);
    b.addEventListener("click", () => model.send({ type: "speed", value: s }));
    speedBox.appendChild(b);
  }

  // Tooltips are made when hovered, not with every chip: 2000 titles per update cost time.
  root.addEventListener("mouseover", (ev) => {
    const chip = ev.target instanceof Element ? ev.target.closest(".lk-chip[data-w]") : null;
    if (!chip || chip.title) return;
    const layout = model.get("topology") || {};
    const d = chip.dataset;
    const w = (layout.workloads || [])[+d.w];
    const node = chip.closest("[data-index]");
    const where = node && layout.nodes[+node.dataset.index] ? ` on ${layout.nodes[+node.dataset.index][0]}` : "";
    chip.title = `${w ? w[0] || "container" : ""} · ${(layout.images || [])[+d.i] || ""} · ${STATES[+d.s]}${where}` +
      (model.get("controls") && +d.s <= 2 ? " (click to kill it)" : "");
  });

  root.addEventListener("click", (ev) => {
    const t = ev.target;
    if (!(t instanceof Element)) return;
    const chip = t.closest(".lk-chips .lk-chip[data-w]");
    if (chip && model.get("controls")) {
      const d = chip.dataset;
      const holder = chip.closest("[data-index]");
      if (holder) model.send({ type: "kill", node: +holder.dataset.index, w: +d.w, i: +d.i, s: +d.s });
      return;
    }
    const act = t.closest("[data-act]");
    if (act) {
      const d = act.dataset;
      if (d.act === "kill") model.send({ type: "kill" });
      else model.send({ type: d.act, node: d.nodeName });
      return;
    }
    if (t === grid.canvas) {
      const index = cellAt(ev);
      if (index >= 0) {
        zoomed = zoomed === index ? -1 : index;
        schedule();
      }
      return;
    }
    const node = t.closest(".lk-node[data-index]");
    if (node && node.dataset.agg === "1") {
      zoomed = zoomed === +node.dataset.index ? -1 : +node.dataset.index;
      schedule();
    }
  });

  function buildLayout(layout) {
    const nodes = layout.nodes || [];
    const mini = nodes.length > MINI_NODES;
    const controls = model.get("controls");
    nodesBox.classList.toggle("lk-mini", mini);
    root.classList.toggle("lk-clickable", !!controls);
    nodesBox.textContent = "";
    grid.canvas = null;
    if (mini) {  // thousands of nodes: one canvas, a small cell per node
      grid.canvas = h("canvas", "lk-grid");
      grid.canvas.dataset.nodes = String(nodes.length);
      grid.canvas.addEventListener("mousemove", (ev) => {
        const index = cellAt(ev);
        const st = (model.get("status") || {}).nodes || [];
        const layoutNow = model.get("topology") || {};
        if (index < 0 || !st[index]) return;
        const count = countOf(((model.get("status") || {}).chips || [])[index] || []);
        grid.canvas.title = `${layoutNow.nodes[index][0]}: ${st[index][4] || ((st[index][0] & 1) ? "Ready" : "NotReady")}, ${count} replicas (click to zoom)`;
      });
      nodesBox.appendChild(grid.canvas);
    }
    nodeEls = mini ? [] : nodes.map(([name, role, cpu, mem, pods], index) => {
      const box = h("div", "lk-node");
      box.dataset.node = name;
      box.dataset.index = String(index);
      const rec = { box, key: null, flags: -1, role };
      {
        const top = h("div", "lk-node-head");
        top.append(h("span", "lk-node-name", name));
        if (role !== name) top.append(h("span", "lk-role", role));
        if (controls) {
          const actions = h("span", "lk-node-actions");
          rec.failBtn = h("button", "lk-btn lk-danger", "fail");
          rec.failBtn.dataset.nodeName = name;
          actions.append(rec.failBtn);
          if (role !== "control-plane") {  // tainted, not cordoned: nothing to drain
            rec.drainBtn = h("button", "lk-btn", "drain");
            rec.drainBtn.dataset.nodeName = name;
            actions.append(rec.drainBtn);
          }
          top.append(actions);
        }
        rec.status = h("div", "lk-node-status");
        rec.cap = h("div", "lk-cap");
        rec.capFill = h("span");
        rec.cap.appendChild(rec.capFill);
        rec.chips = h("div", "lk-chips");
        box.append(top, rec.status, rec.cap, rec.chips);
        rec.capacity = { cpu, mem, pods };
      }
      nodesBox.appendChild(box);
      return rec;
    });
    workloadsBox.textContent = "";
    workloadEls = (layout.workloads || []).map(([name, kind]) => {
      const row = h("div", "lk-workload");
      row.dataset.workload = name;
      const sw = h("span", "lk-swatch");
      const label = h("b", "", name || "containers");
      const image = h("code");
      const nums = h("span", "lk-num");
      const prog = h("span", "lk-progress");
      const progFill = h("span");
      prog.appendChild(progFill);
      const badge = h("span", "lk-badge");
      row.append(sw, label, image, prog, nums, badge);
      const rec = { row, sw, image, nums, progFill, badge, name, kind };
      if (controls && kind !== "containers" && kind !== "deleted") {
        const slider = h("input", "lk-slider");
        slider.type = "range";
        slider.min = "0";
        slider.max = "20";
        slider.title = "replicas";
        const out = h("span", "lk-num");
        slider.addEventListener("input", () => (out.textContent = slider.value));
        slider.addEventListener("change", () => model.send({ type: "scale", workload: name, replicas: +slider.value }));
        const kill = h("button", "lk-btn lk-danger", "kill a replica");
        kill.dataset.act = "kill";
        const group = h("span", "lk-controls");
        group.append(slider, out, kill);
        row.append(group);
        Object.assign(rec, { slider, out });
      }
      workloadsBox.appendChild(row);
      return rec;
    });
    const images = layout.images || [];
    legend.innerHTML =
      images.map((im, i) => `<span><i class="lk-chip s2" style="--c:${colour(i)}"></i><code>${esc(im)}</code></span>`).join("") +
      [0, 1, 2, 3, 4].map((s) => `<span><i class="lk-chip s${s}" style="--c:var(--lk-muted)"></i>${STATES[s]}</span>`).join("");
    title.textContent = `${layout.backend} · ${layout.flavor}`;
  }

  function update() {
    scheduled = false;
    const layout = model.get("topology") || {};
    const status = model.get("status") || {};
    const key = JSON.stringify([layout.nodes, layout.workloads, layout.images, model.get("controls")]);
    if (key !== layoutKey) {
      layoutKey = key;
      buildLayout(layout);
    }
    const moving = model.get("moving");
    root.classList.toggle("lk-moving", !!moving);
    clock.textContent = `t = ${(status.t || 0).toFixed(1)} s`;
    const sim = model.get("sim");
    speedBox.style.display = sim ? "" : "none";
    const speed = model.get("speed");
    for (const b of speedBox.children) b.classList.toggle("lk-on", +b.dataset.speed === speed);
    message.textContent = model.get("message") || "";

    const chips = status.chips || [];
    let total = 0;
    for (const flat of chips) total += countOf(flat);
    const limit = model.get("chip_limit");
    const individualAll = total <= limit;
    if (grid.canvas) drawGrid(layout, status);
    (status.nodes || []).forEach(([flags, cpu, mem, pods, word], n) => {
      const rec = nodeEls[n];
      if (!rec) return;
      const ready = (flags & 1) === 1;
      const schedulable = (flags & 2) === 2;
      const flat = chips[n] || [];
      const count = countOf(flat);
      if (rec.flags !== flags || rec.word !== word || rec.pods !== pods || rec.cpu !== cpu || rec.count !== count) {
        rec.flags = flags;
        rec.word = word;
        rec.pods = pods;
        rec.cpu = cpu;
        rec.count = count;
        rec.box.classList.toggle("lk-notready", !ready);
        rec.box.classList.toggle("lk-cordoned", !schedulable && rec.role !== "control-plane");
        // Kubernetes has a pod limit per node; Swarm and Docker do not: count replicas, fill by CPU.
        const cap = rec.capacity;
        const used = cap.pods ? pods / cap.pods : cap.cpu ? cpu / cap.cpu : 0;
        const words = cap.pods ? `${pods}/${cap.pods} pods` : `${count} replica${count === 1 ? "" : "s"}`;
        rec.status.innerHTML = `<span class="lk-dot">${ready ? "●" : "○"}</span> ${esc(word || (ready ? "Ready" : "NotReady"))} <span class="lk-muted">· ${words}</span>`;
        rec.capFill.style.width = `${Math.min(100, 100 * used)}%`;
        rec.cap.title = `pods ${pods}/${rec.capacity.pods} · cpu ${cpu}/${rec.capacity.cpu} m · memory ${mem}/${rec.capacity.mem} MiB`;
        if (rec.failBtn) {
          rec.failBtn.textContent = ready ? "fail" : "recover";
          rec.failBtn.dataset.act = ready ? "fail_node" : "recover_node";
          if (rec.drainBtn) {
            rec.drainBtn.textContent = schedulable ? "drain" : "uncordon";
            rec.drainBtn.dataset.act = schedulable ? "drain" : "uncordon";
          }
        }
      }
      const individual = individualAll && count <= NODE_CHIP_LIMIT;
      const chipKey = (individual ? "i" : "a") + flat.join(",");
      if (chipKey !== rec.key) {
        rec.key = chipKey;
        rec.chips.innerHTML = chipsHTML(flat, layout, individual);
        rec.box.dataset.agg = individual ? "0" : "1";
      }
      rec.box.dataset.count = String(count);
    });
    // Zoom: one node in full (mini or aggregated nodes).
    const zFlat = zoomed >= 0 ? chips[zoomed] : null;
    if (zFlat && layout.nodes[zoomed]) {
      const zCount = countOf(zFlat);
      zoomBox.innerHTML = `<div class="lk-node" data-index="${zoomed}" style="max-width:none"><div class="lk-node-head"><span class="lk-node-name">${esc(layout.nodes[zoomed][0])}</span><span class="lk-muted">${zCount} replicas (click the node again to close)</span></div><div class="lk-chips">${chipsHTML(zFlat, layout, zCount <= 3000)}</div></div>`;
    } else {
      zoomBox.textContent = "";
    }
    const pool = status.pool || [];
    poolBox.innerHTML = pool.length
      ? `<span class="lk-muted">not scheduled (${countOf(pool)}):</span> <span class="lk-chips lk-pool-chips">${chipsHTML(pool, layout, countOf(pool) <= 500)}</span>`
      : "";
    (status.workloads || []).forEach((row, k) => {
      const rec = workloadEls[k];
      if (!rec) return;
      const [desired, current, ready, updated, available, image, rollout, revision, surge, unavail] = row;
      const images = layout.images || [];
      rec.sw.style.setProperty("--c", colour(image));
      rec.progFill.style.setProperty("--c", colour(image));
      rec.image.textContent = image >= 0 ? images[image] : "";
      rec.nums.innerHTML = `<span class="lk-muted">desired</span> ${desired} · <span class="lk-muted">ready</span> ${ready} · <span class="lk-muted">up-to-date</span> ${updated} · <span class="lk-muted">available</span> ${available}`;
      rec.progFill.style.width = `${desired ? Math.min(100, (100 * available) / desired) : current ? 0 : 100}%`;
      rec.badge.textContent = rollout ? `${rollout}${revision ? ` · rev ${revision}` : ""}` : `${current} containers`;
      rec.badge.className = `lk-badge lk-${(rollout || "").split(" ")[0]}`;
      rec.row.dataset.desired = String(desired);
      rec.row.dataset.ready = String(ready);
      rec.row.dataset.updated = String(updated);
      rec.row.dataset.rollout = rollout || "";
      if (rec.slider && document.activeElement !== rec.slider) {
        rec.slider.max = String(Math.max(20, desired * 2));
        rec.slider.value = String(desired);
        rec.out.textContent = String(desired);
      }
    });
    frames += 1;
    root.dataset.frames = String(frames);
    root.dataset.version = String(status.v);
    root.dataset.total = String(total);
  }

  function schedule() {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(update);
    }
  }

  // The clock: on the simulator, ask Python to let time pass while something is moving.
  // At most two ticks in flight: the next is sent while the kernel answers the last one,
  // so the round trip does not halve the pace; Python lets the wall time since the last
  // tick pass, so late or bunched ticks never make simulated time run faster.
  let inFlight = 0;
  let lastTick = 0;
  let alive = true;
  function ticker() {
    if (!alive) return;
    const now = performance.now();
    const due = model.get("moving") && model.get("sim") && model.get("speed") > 0 && el.isConnected;
    if (now - lastTick > 1000) inFlight = 0;  // an answer got lost (or nothing changed): go on
    // Settled (only waiting in case something happens, e.g. a node failure being noticed): tick slowly.
    const every = model.get("settled") ? 5 * TICK_MS : TICK_MS;
    if (due && inFlight < 2 && now - lastTick >= every) {
      inFlight += 1;
      lastTick = now;
      model.send({ type: "tick" });
    }
    timer = setTimeout(ticker, TICK_MS / 2);
  }
  let timer = setTimeout(ticker, TICK_MS);

  const onChange = () => schedule();
  model.on("change:status", () => (inFlight = Math.max(0, inFlight - 1)));
  model.on("msg:custom", (msg) => {
    if (msg && msg.type === "tock") inFlight = Math.max(0, inFlight - 1);
  });
  for (const name of ["change:topology", "change:status", "change:moving", "change:speed", "change:message", "change:controls"]) {
    model.on(name, onChange);
  }
  update();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}

export default { render };
