// labkit RolloutView: old vs new replicas over time, with the maxSurge / maxUnavailable bounds.
// `series` holds step-function columns (see labkit/views/rollout.py).

const OLD = "#0072B2", NEW = "#E69F00", WARN = "#D55E00", MUTED = "#8a8f98";
const W = 680, H = 240, L = 36, R = 12, T = 12, B = 24;

function draw(s) {
  const n = (s.t || []).length;
  if (!n) return "";
  const t0 = s.t[0];
  const t1 = Math.max(s.now || 0, s.t[n - 1] + 0.08 * Math.max(s.t[n - 1] - t0, 1));
  let ymax = 1;
  for (let k = 0; k < n; k++) ymax = Math.max(ymax, s.surge[k], s.old[k] + s.new[k]);
  ymax *= 1.15;
  const x = (v) => L + ((v - t0) / (t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / ymax) * (H - T - B);
  const next = (k) => (k + 1 < n ? s.t[k + 1] : t1);
  const steps = (vals) => {
    let p = "";
    for (let k = 0; k < n; k++) p += `${x(s.t[k]).toFixed(1)},${y(vals[k]).toFixed(1)} ${x(next(k)).toFixed(1)},${y(vals[k]).toFixed(1)} `;
    return p;
  };
  const band = (top, base) => {
    let p = steps(top);
    for (let k = n - 1; k >= 0; k--) p += `${x(next(k)).toFixed(1)},${y(base[k]).toFixed(1)} ${x(s.t[k]).toFixed(1)},${y(base[k]).toFixed(1)} `;
    return p;
  };
  const zero = s.old.map(() => 0);
  const total = s.old.map((o, k) => o + s.new[k]);
  let out = "";
  for (let k = 0; k < n; k++) {
    if (s.rollout[k] === "paused")
      out += `<rect x="${x(s.t[k])}" y="${T}" width="${Math.max(x(next(k)) - x(s.t[k]), 1)}" height="${H - T - B}" fill="${MUTED}" opacity=".18"><title>paused</title></rect>`;
  }
  for (const [k, label] of s.marks || []) {
    const back = label === "rollback";
    out += `<line x1="${x(s.t[k])}" x2="${x(s.t[k])}" y1="${T}" y2="${H - B}" stroke="${back ? WARN : MUTED}" stroke-dasharray="2 3"/>`;
    out += `<text x="${x(s.t[k]) + 3}" y="${T + 10}" style="${back ? "fill:" + WARN : ""}">${label}</text>`;
  }
  out += `<polygon points="${band(s.old, zero)}" fill="${OLD}" opacity=".85"><title>old replicas</title></polygon>`;
  out += `<polygon points="${band(total, s.old)}" fill="${NEW}" opacity=".85"><title>new replicas</title></polygon>`;
  out += `<polyline points="${steps(s.available)}" fill="none" stroke="currentColor" stroke-width="1.8"/>`;
  out += `<polyline points="${steps(s.surge)}" fill="none" stroke="${WARN}" stroke-dasharray="5 3"/>`;
  out += `<polyline points="${steps(s.floor)}" fill="none" stroke="${MUTED}" stroke-dasharray="5 3"/>`;
  out += `<line class="lk-axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`;
  const top = Math.round(ymax / 1.15);
  for (const v of [0, Math.round(top / 2), top]) out += `<text x="${L - 5}" y="${y(v) + 4}" text-anchor="end">${v}</text>`;
  out += `<text x="${L}" y="${H - 6}">${t0.toFixed(0)} s</text><text x="${W - R}" y="${H - 6}" text-anchor="end">${t1.toFixed(0)} s</text>`;
  return out;
}

function render({ model, el }) {
  return liveChart(model, el, {  // live.js
    kind: "rollout", width: W, height: H,
    legend: `<span><i class="lk-chip s2" style="--c:${OLD}"></i>old</span><span><i class="lk-chip s2" style="--c:${NEW}"></i>new</span><span>— available</span><span style="color:${WARN}">- - desired + maxSurge</span><span>- - desired − maxUnavailable</span><span><i class="lk-chip" style="--c:${MUTED};opacity:.4"></i>paused</span>`,
    paint(s, { head, svg }) {
      const n = (s.t || []).length;
      const last = n - 1;
      head.innerHTML = n
        ? `<span class="lk-live-dot"></span><b>${s.name}</b><span class="lk-muted">rolling update · rev ${s.revision[last]} · ${s.rollout[last]}</span><span class="lk-spacer"></span><span class="lk-clock">old ${s.old[last]} · new ${s.new[last]} · available ${s.available[last]}/${s.desired[last]}</span>`
        : "";
      svg.innerHTML = draw(s);
    },
  });
}

export default { render };
