// devkit ui plots: hand-written SVG, no library and no network. Colours are the page's CSS
// variables (light and dark follow the system); every plot is keyboard-usable: focus it (Tab)
// and move its cursor with ← → Home End; the readout under it says what the cursor is on.
"use strict";

const Plots = (() => {
  const W = 560, H = 190, L = 46, R = 12, T = 12, B = 30; // viewBox and its margins
  const PALETTE = 6; // service colours, .c0 .. .c5 in app.css
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const secs = (s) => (s < 10 ? s.toFixed(2) : s.toFixed(1)) + " s";
  const clock = (t) => new Date(t * 1000).toLocaleTimeString([], {hour12: false});

  function step(span, count) {
    const raw = span / count;
    const mag = 10 ** Math.floor(Math.log10(raw));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw - 1e-12) return m * mag;
    return 10 * mag;
  }

  function scale(max, count) {
    const s = step(Math.max(max, 1e-9), count);
    const top = Math.max(s, Math.ceil(max / s - 1e-9) * s);
    const marks = [];
    for (let v = 0; v <= top + s / 2; v += s) marks.push(+v.toFixed(9));
    return {top, marks};
  }

  function frame(yMarks, yTop, yLabel) {
    const y = (v) => T + (H - T - B) * (1 - v / yTop);
    const grid = yMarks.map((v) => `<line class="grid" x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}"/>` +
      `<text class="ax" x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${esc(yLabel(v))}</text>`).join("");
    return {y, svg: grid + `<line class="axis" x1="${L}" x2="${L}" y1="${T}" y2="${H - B}"/><line class="axis" x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}"/>`};
  }

  function svg(label, body) {
    return `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}" preserveAspectRatio="xMidYMid meet">${body}</svg>`;
  }

  // --- save -> serving: a histogram ----------------------------------------------------------
  function histogram(syncs, cursor) {
    const values = syncs.filter((x) => x.seconds !== null);
    if (!values.length) return {svg: "", bins: [], text: "no sync has answered yet"};
    const max = Math.max(...values.map((x) => x.seconds));
    const width = step(Math.max(max, 0.05), 10);
    const count = Math.max(1, Math.floor(max / width) + 1);
    const bins = Array.from({length: count}, (_, i) => ({from: i * width, to: (i + 1) * width, n: 0, by: new Map()}));
    for (const x of values) {
      const bin = bins[Math.min(count - 1, Math.floor(x.seconds / width))];
      bin.n += 1;
      bin.by.set(x.service, (bin.by.get(x.service) || 0) + 1);
    }
    const ys = scale(Math.max(...bins.map((b) => b.n)), 4);
    const f = frame(ys.marks.filter((v) => Number.isInteger(v)), ys.top, (v) => String(v));
    const bw = (W - L - R) / count;
    const sel = cursor === null ? -1 : Math.max(0, Math.min(count - 1, cursor));
    const bars = bins.map((b, i) => {
      const top = b.n ? f.y(b.n) : H - B - 2; // an empty bin: a sliver on the axis, for the cursor
      return `<rect class="bar${b.n ? "" : " empty"}${i === sel ? " sel" : ""}" x="${L + i * bw + 1}" y="${top}" width="${Math.max(1, bw - 2)}" height="${H - B - top}"><title>${esc(label(b))}</title></rect>`;
    }).join("");
    const every = Math.ceil(count / 8);
    const xs = bins.map((b, i) => i % every ? "" : `<text class="ax" x="${L + i * bw}" y="${H - B + 16}" text-anchor="middle">${esc(+b.from.toFixed(3))}</text>`).join("");
    return {svg: svg(`histogram of ${values.length} syncs' save to serving times, ${count} bins of ${+width.toFixed(3)} s`, f.svg + bars + xs),
      bins, text: sel >= 0 ? label(bins[sel]) : ""};
  }

  function label(b) {
    const who = [...b.by].map(([s, n]) => `${s} ${n}`).join(", ");
    return `${+b.from.toFixed(3)}–${+b.to.toFixed(3)} s: ${b.n} sync${b.n === 1 ? "" : "s"}${who ? ` (${who})` : ""}`;
  }

  // --- save -> serving: a timeline -----------------------------------------------------------
  function timeline(syncs, services, cursor) {
    const pts = [...syncs].sort((a, b) => a.at - b.at);
    if (!pts.length) return {svg: "", count: 0, text: "no sync yet"};
    const answered = pts.filter((x) => x.seconds !== null).map((x) => x.seconds);
    const ys = scale(Math.max(0.1, ...answered), 4);
    const f = frame(ys.marks, ys.top, (v) => `${+v.toFixed(3)} s`);
    const t0 = pts[0].at, t1 = pts[pts.length - 1].at;
    const x = (t) => (t1 === t0 ? (L + W - R) / 2 : L + 8 + (W - R - L - 16) * (t - t0) / (t1 - t0));
    const sel = cursor === null ? -1 : Math.max(0, Math.min(pts.length - 1, cursor));
    const line = answered.length > 1 ? `<polyline class="trend" points="${pts.filter((p) => p.seconds !== null).map((p) => `${x(p.at).toFixed(1)},${f.y(p.seconds).toFixed(1)}`).join(" ")}"/>` : "";
    const dots = pts.map((p, i) => {
      const c = `c${services.indexOf(p.service) % PALETTE}`;
      const cls = `${c}${i === sel ? " sel" : ""}`;
      const title = `<title>${esc(point(p))}</title>`;
      if (p.seconds === null) {
        const px = x(p.at), py = T + 4;
        return `<path class="fail ${cls}" d="M${px - 4},${py - 4}L${px + 4},${py + 4}M${px - 4},${py + 4}L${px + 4},${py - 4}">${title}</path>`;
      }
      return `<circle class="dot ${cls}" cx="${x(p.at).toFixed(1)}" cy="${f.y(p.seconds).toFixed(1)}" r="${i === sel ? 6 : 4}">${title}</circle>`;
    }).join("");
    const xs = `<text class="ax" x="${L}" y="${H - B + 16}">${esc(clock(t0))}</text>` +
      (t1 !== t0 ? `<text class="ax" x="${W - R}" y="${H - B + 16}" text-anchor="end">${esc(clock(t1))}</text>` : "");
    return {svg: svg(`timeline of ${pts.length} syncs from ${clock(t0)} to ${clock(t1)}`, f.svg + line + dots + xs),
      count: pts.length, text: sel >= 0 ? point(pts[sel]) : ""};
  }

  function point(p) {
    const what = p.detail ? ` (${p.detail.replace(/, (answering [\d.]+s after save|NOT answering)$/, "")})` : "";
    return `${clock(p.at)} ${p.service}: ${p.seconds === null ? "not answering" : secs(p.seconds)}${what}`;
  }

  function summary(syncs) {
    const v = syncs.filter((x) => x.seconds !== null).map((x) => x.seconds).sort((a, b) => a - b);
    const failed = syncs.length - v.length;
    if (!v.length) return failed ? `${failed} not answering` : "no syncs yet: save a synced file";
    const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
    return `${v.length} sync${v.length === 1 ? "" : "s"} · median ${secs(q(0.5))} · p90 ${secs(q(0.9))} · max ${secs(v[v.length - 1])}` +
      (failed ? ` · ${failed} not answering` : "");
  }

  // --- CPU and memory against requests and limits ---------------------------------------------
  // Built once per list of services (the requests and limits come from the plan); each reading
  // then only moves the marks and figures in place: 300 services' meters redraw in a few
  // milliseconds instead of re-parsing 600 SVGs.
  const MW = 220, MH = 34;
  const cores = (v) => (v >= 0.1 ? v.toFixed(2) : v.toFixed(3)) + " CPU";
  const bytes = (v) => (v >= 2 ** 30 ? (v / 2 ** 30).toFixed(2) + " GiB" : (v / 2 ** 20).toFixed(v >= 100 * 2 ** 20 ? 0 : 1) + " MiB");

  function meterCell(cls, label, request, limit, unit) {
    const line = (c) => `<line class="${c}" y1="0" y2="16"/>`;
    return `<td data-label="${label}" class="${cls}"><svg class="meter" viewBox="0 0 ${MW} ${MH}" width="${MW}" height="${MH}" role="img">` +
      `<title></title><rect class="track" x="1" y="2" width="${MW - 2}" height="12"/><rect class="used" x="1" y="2" width="0" height="12"/>` +
      `${request ? line("req") : ""}${limit ? line("lim") : ""}<polyline class="spark" points=""/></svg>` +
      `<div><span class="figure">no reading</span><span class="muted small"> · request ${request ? esc(unit(request)) : "none"} · limit ${limit ? esc(unit(limit)) : "none"}</span></div></td>`;
  }

  function usageTable(services) {
    const rows = services.map((s) => `<tr data-service="${esc(s.name)}"><th scope="row">${esc(s.name)}</th>` +
      meterCell("cpu", "CPU", s.resources.cpu, s.resources.cpu_limit, cores) +
      meterCell("mem", "Memory", s.resources.memory, s.resources.memory_limit, bytes) + "</tr>");
    return `<table class="usage"><thead><tr><th>Service</th><th>CPU</th><th>Memory</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
  }

  function updateMeter(cell, history, request, limit, unit) {
    const now = history.length ? history[history.length - 1] : null;
    let top = Math.max(now || 0, request || 0, limit || 0);
    for (const v of history) if (v !== null && v > top) top = v;
    top = top * 1.1 || 1;
    const x = (v) => 1 + (MW - 2) * Math.min(1, v / top);
    const svg = cell.firstChild;
    const used = svg.querySelector(".used");
    used.setAttribute("width", now === null ? "0" : Math.max(1, x(now) - 1).toFixed(1));
    used.setAttribute("class", "used" + (limit && now > limit ? " over" : request && now > request ? " above" : ""));
    for (const [c, v] of [["req", request], ["lim", limit]]) {
      const mark = v ? svg.querySelector(`.${c}`) : null;
      if (mark) { const at = x(v).toFixed(1); mark.setAttribute("x1", at); mark.setAttribute("x2", at); }
    }
    const pts = [];
    history.forEach((v, i) => { if (v !== null) pts.push(`${(1 + (MW - 2) * i / Math.max(1, history.length - 1)).toFixed(1)},${(MH - 1 - (MH - 20) * Math.min(1, v / top)).toFixed(1)}`); });
    svg.querySelector(".spark").setAttribute("points", pts.length > 1 ? pts.join(" ") : "");
    const said = `${now === null ? "no reading yet" : unit(now)} in use; request ${request ? unit(request) : "not declared"}; limit ${limit ? unit(limit) : "not declared"}`;
    svg.setAttribute("aria-label", said);
    svg.firstChild.textContent = said;
    cell.querySelector(".figure").textContent = now === null ? "no reading" : unit(now);
  }

  function updateUsage(table, services, usage) {
    const rows = table.tBodies[0].rows;
    services.forEach((s, i) => {
      const u = usage.get(s.name);
      updateMeter(rows[i].cells[1], u ? u.cpu : [], s.resources.cpu, s.resources.cpu_limit, cores);
      updateMeter(rows[i].cells[2], u ? u.memory : [], s.resources.memory, s.resources.memory_limit, bytes);
    });
  }

  return {histogram, timeline, summary, usageTable, updateUsage};
})();
