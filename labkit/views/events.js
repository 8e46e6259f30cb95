// labkit EventsView: `kubectl get events`, filterable. Rows: [time, type, reason, object, message, source].

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "lk-root lk-events";
  root.dataset.live = "1";
  root.innerHTML = `<div class="lk-bar-row"><span class="lk-live-dot"></span><b>events</b>
    <input type="search" placeholder="filter: text, object, reason…" size="28">
    <select class="lk-type"><option value="">all types</option><option>Normal</option><option>Warning</option></select>
    <select class="lk-source"><option value="">all sources</option></select>
    <span class="lk-spacer"></span><span class="lk-muted lk-shown"></span></div>
    <div class="lk-scroll"><table><thead><tr><th>TIME</th><th>TYPE</th><th>REASON</th><th>OBJECT</th><th>SOURCE</th><th>MESSAGE</th></tr></thead><tbody></tbody></table></div>`;
  el.appendChild(root);
  const input = root.querySelector("input");
  const typeSel = root.querySelector(".lk-type");
  const sourceSel = root.querySelector(".lk-source");
  const body = root.querySelector("tbody");
  const shown = root.querySelector(".lk-shown");
  const scroller = root.querySelector(".lk-scroll");
  input.value = model.get("filter") || "";
  if (input.value === "Warning") {
    typeSel.value = "Warning";
    input.value = "";
  }
  let rows = [];
  const sources = new Set();
  let scheduled = false;

  function matches(r) {
    const text = input.value.trim().toLowerCase();
    if (typeSel.value && r[1] !== typeSel.value) return false;
    if (sourceSel.value && r[5] !== sourceSel.value) return false;
    if (!text) return true;
    return `${r[2]} ${r[3]} ${r[4]} ${r[5]}`.toLowerCase().includes(text);
  }
  function update() {
    scheduled = false;
    const atBottom = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
    const visible = rows.filter(matches);
    body.innerHTML = visible
      .map((r) => `<tr class="${r[1] === "Warning" ? "lk-warning" : ""}"><td>${r[0].toFixed(1)}s</td><td>${esc(r[1])}</td><td>${esc(r[2])}</td><td>${esc(r[3])}</td><td>${esc(r[5])}</td><td>${esc(r[4])}</td></tr>`)
      .join("");
    shown.textContent = `${visible.length} of ${rows.length}`;
    for (const r of rows) {
      if (r[5] && !sources.has(r[5])) {
        sources.add(r[5]);
        const o = document.createElement("option");
        o.textContent = r[5];
        sourceSel.appendChild(o);
      }
    }
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
    root.classList.toggle("lk-moving", !!model.get("moving"));
    root.dataset.rows = String(visible.length);
  }
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(update);
    }
  };
  model.on("msg:custom", (msg) => {
    if (msg.type === "reset") rows = msg.rows;
    else if (msg.type === "append") rows = rows.concat(msg.rows);
    else return;
    const limit = model.get("limit") || 500;
    if (rows.length > limit) rows = rows.slice(rows.length - limit);
    schedule();
  });
  for (const e of [input, typeSel, sourceSel]) e.addEventListener("input", schedule);
  model.on("change:moving", schedule);
  model.send({ type: "hello" });
  update();
}

export default { render };
