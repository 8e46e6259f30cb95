// labkit TrafficView: requests a second to one service, stacked by the version that answered,
// failures in red on top, the rollout's steps marked. `series` is Buckets.columns()
// (labkit/views/traffic.py) plus `now` and `marks`.

const MUTED = "#8a8f98", WARN = "#D55E00";
const W = 680, H = 220, L = 36, R = 12, T = 12, B = 24;
const FAILED = new Set(["refused", "reset", "timeout", "error"]);

function esc(text) {
  return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}

function draw(s) {
  const seconds = s.seconds || [];
  const n = seconds.length;
  if (!n) return "";
  const t0 = s.t0 + seconds[0];
  const t1 = Math.max(s.t0 + seconds[n - 1] + 1, Math.min(s.end, Math.max(s.now || 0, t0 + 10)));
  const totals = seconds.map(() => 0);
  for (const [, , counts] of s.layers) counts.forEach((c, k) => (totals[k] += c));
  const ymax = Math.max(1, s.rate, ...totals) * 1.15;
  const x = (v) => L + ((v - t0) / Math.max(t1 - t0, 1)) * (W - L - R);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);
  const bar = Math.max(x(t0 + 1) - x(t0), 0.5);
  const base = seconds.map(() => 0);
  // Failures: red, and hatched, so that they never read as a version's colour.
  let out = `<defs><pattern id="lk-fail-hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="5" stroke="#fff" stroke-width="1.6" opacity=".7"/></pattern></defs>`;
  for (const [key, colour, counts] of s.layers) {
    const failed = FAILED.has(key);
    let path = "";
    counts.forEach((c, k) => {
      if (!c) return;
      const left = x(s.t0 + seconds[k]);
      path += `M${left.toFixed(1)},${y(base[k] + c).toFixed(1)}h${bar.toFixed(2)}V${y(base[k]).toFixed(1)}h${(-bar).toFixed(2)}Z`;
      base[k] += c;
    });
    out += `<path d="${path}" fill="${colour}" opacity="${failed ? 1 : 0.85}"><title>${esc(key)}</title></path>`;
    if (failed) out += `<path d="${path}" fill="url(#lk-fail-hatch)"/>`;
  }
  for (const [t, label] of s.marks || []) {
    if (t < t0 || t > t1) continue;
    const back = label === "rollback";
    out += `<line x1="${x(t)}" x2="${x(t)}" y1="${T}" y2="${H - B}" stroke="${back ? WARN : MUTED}" stroke-dasharray="2 3"/>`;
    out += `<text x="${x(t) + 3}" y="${T + 10}" style="${back ? "fill:" + WARN : ""}">${esc(label)}</text>`;
  }
  out += `<line class="lk-axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`;
  const top = Math.round(ymax / 1.15);
  for (const v of [0, Math.round(top / 2), top]) out += `<text x="${L - 5}" y="${y(v) + 4}" text-anchor="end">${v}</text>`;
  out += `<text x="${L}" y="${H - 6}">${t0.toFixed(0)} s</text><text x="${W - R}" y="${H - 6}" text-anchor="end">${t1.toFixed(0)} s</text>`;
  return out;
}

function legend(s) {
  return (s.layers || [])
    .map(([key, colour]) => `<span><i class="lk-chip s2" style="--c:${colour}${FAILED.has(key) ? ";outline:1px dashed #fff;outline-offset:-3px" : ""}"></i>${esc(key)}</span>`)
    .join("");
}

function render({ model, el }) {
  return liveChart(model, el, {  // live.js
    kind: "traffic", width: W, height: H,
    paint(s, { head, svg, legend: keys }) {
      const note = s.note ? ` · <b style="color:${WARN}">${esc(s.note)}</b>` : "";
      head.innerHTML = s.name
        ? `<span class="lk-live-dot"></span><b>${esc(s.name)}:${s.port}</b><span class="lk-muted">${s.sent} of ${s.total} requests · ${s.rate}/s${note}</span><span class="lk-spacer"></span><span class="lk-clock" style="${s.failed ? "color:" + WARN : ""}">failed requests: ${s.failed}</span>`
        : "";
      svg.innerHTML = draw(s);
      keys.innerHTML = legend(s);
    },
  });
}

export default { render };
