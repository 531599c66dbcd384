// devkit ui: one page, no framework, no build step. State comes from /api/snapshot once and then
// from the dev loop's events (/api/events, server-sent), the same events the terminal prints.
"use strict";

const MAX_LINES = 20000; // log and build lines kept in the page
const SHOWN_LINES = 2000; // lines rendered at once (the newest that match)
const SYNCS_KEPT = 10;
const SYNCS_PLOTTED = 500; // recent syncs of all services, for the plots
const USAGE_KEPT = 30; // usage readings per service (every 2 s: the last minute)

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const clock = (t) => new Date(t * 1000).toLocaleTimeString([], {hour12: false});

const state = {
  snap: null,
  services: new Map(), // name -> {status, syncs, error, waiting, building, restarts, action}
  lines: [], // {seq, at, kind, service, text, level}
  errors: new Map(), // service -> {text, at}
  statusNote: "",
  command: null,
  envData: new Map(),
  canaries: new Map(), // environment -> {state: the canary as recorded, or null; note: why not}
  syncs: [], // {service, at, seconds, detail}: every service's recent syncs, for the plots
  usage: new Map(), // service -> {cpu: [...], memory: [...]}, oldest first
  usageNote: "",
  cursor: {hist: null, time: null}, // the plots' keyboard cursors
};

const collapsed = new Set(JSON.parse(localStorage.getItem("devkit.collapsed") || "[]"));

// --- levels ---------------------------------------------------------------------------------
const LEVELS = {error: 3, warn: 2, info: 1, debug: 0};
function levelOf(text) {
  if (/\b(error|critical|fatal|exception|traceback|panic)\b/i.test(text)) return "error";
  if (/\bwarn(ing)?\b/i.test(text)) return "warn";
  if (/\bdebug\b/i.test(text)) return "debug";
  return "info";
}

// --- events ---------------------------------------------------------------------------------
function svc(name) {
  let s = state.services.get(name);
  if (!s) {
    s = {status: null, syncs: [], waiting: "", building: false, restarts: 0, action: null, last: ""};
    state.services.set(name, s);
  }
  return s;
}

function addLine(e, kind, text) {
  state.lines.push({seq: e.seq, at: e.at, kind, service: e.service, text, level: levelOf(text)});
  if (state.lines.length > MAX_LINES) state.lines.splice(0, state.lines.length - MAX_LINES);
  dirty.logs = true;
}

function finishAction(s, ok, text) {
  if (s.action && !s.action.done) {
    s.action = {...s.action, done: true, ok, text};
    const held = s.action;
    setTimeout(() => { if (s.action === held) { s.action = null; dirty.loop = true; } }, 8000);
  }
}

function onStep(e) {
  const s = e.service ? svc(e.service) : null;
  addLine(e, "step", `${e.event} ${e.detail}`.trim());
  if (!s) {
    if (e.event === "error") { state.errors.set("devkit", {text: e.detail, at: e.at}); dirty.errors = true; }
    return;
  }
  s.last = `${e.event} ${e.detail}`.trim();
  switch (e.event) {
    case "error":
      state.errors.set(e.service, {text: e.detail, at: e.at});
      s.building = false;
      finishAction(s, false, e.detail.split("\n")[0]);
      dirty.errors = true;
      break;
    case "waiting":
      s.waiting = e.detail;
      break;
    case "rebuild":
      s.building = true;
      s.waiting = "";
      break;
    case "healthy":
      s.waiting = ""; s.building = false;
      clearError(e.service);
      break;
    case "restarting":
      break;
    case "restarted":
      s.restarts += 1;
      clearError(e.service);
      finishAction(s, true, e.detail);
      break;
    case "checked":
      s.waiting = "";
      if (s.action && s.action.what === "sync") finishAction(s, true, e.detail);
      break;
    case "sync": {
      const m = /answering ([\d.]+)s after save/.exec(e.detail);
      const seconds = m ? parseFloat(m[1]) : null;
      s.syncs.unshift({at: e.at, detail: e.detail, seconds});
      s.syncs.length = Math.min(s.syncs.length, SYNCS_KEPT);
      addSync({service: e.service, at: e.at, seconds, detail: e.detail});
      s.waiting = ""; s.building = false;
      if (/, restarted,/.test(e.detail)) s.restarts += 1;
      if (seconds !== null) clearError(e.service);
      if (s.action && s.action.what === "rebuild") finishAction(s, seconds !== null, e.detail);
      break;
    }
    default:
      if (["create", "replace", "start", "keep"].includes(e.event)) {
        s.waiting = ""; s.building = false; s.started = true;
      }
  }
  dirty.loop = true;
}

function addSync(x) {
  state.syncs.push(x);
  if (state.syncs.length > SYNCS_PLOTTED) state.syncs.splice(0, state.syncs.length - SYNCS_PLOTTED);
  dirty.plots = dirty.syncs = true;
}

function onUsage(e) {
  if (e.event === "services") {
    state.usageNote = "";
    const seen = new Set();
    for (const row of e.data.services) {
      seen.add(row.service);
      pushUsage(row.service, row.cpu, row.memory);
    }
    for (const name of state.usage.keys()) if (!seen.has(name)) pushUsage(name, null, null);
  } else {
    state.usageNote = `no metrics: ${e.detail}`;
  }
  dirty.plots = true;
}

function pushUsage(name, cpu, memory) {
  let u = state.usage.get(name);
  if (!u) { u = {cpu: [], memory: []}; state.usage.set(name, u); }
  u.cpu.push(cpu); u.memory.push(memory);
  if (u.cpu.length > USAGE_KEPT) { u.cpu.shift(); u.memory.shift(); }
}

function onJob(e) {
  const s = svc(e.service);
  const name = e.data && e.data.job;
  if (e.event === "started") {
    s.job = {name, done: false, ok: null, text: `running: ${e.detail}`, lines: []};
  } else if (s.job && s.job.name === name) {
    if (e.event === "line") {
      s.job.lines.push(e.detail);
      if (s.job.lines.length > 200) s.job.lines.shift();
    } else if (e.event === "finished") {
      const took = e.data.seconds !== null && e.data.seconds !== undefined ? ` in ${e.data.seconds.toFixed(2)} s` : "";
      s.job = {...s.job, done: true, ok: e.data.ok, text: `${e.detail}${took}`};
    }
  }
  dirty.loop = true;
}

function clearError(name) {
  if (state.errors.delete(name)) dirty.errors = true;
}

function onStatus(e) {
  if (e.event === "live") {
    state.snap.live = true;
  } else if (e.event === "services") {
    state.statusNote = "";
    for (const row of e.data.services) svc(row.service).status = row;
  } else {
    state.statusNote = e.event === "unsupported" ? e.detail : `status: ${e.detail}`;
  }
  dirty.loop = true;
}

function onAction(e) {
  const s = svc(e.service);
  s.action = {what: e.event, done: false, text: "requested…", at: e.at};
  dirty.loop = true;
}

function onCommand(e) {
  const out = $("command-lines");
  $("command-out").hidden = false;
  if (e.event === "started") { out.textContent = `$ ${e.detail}\n`; state.command = e.data.id; }
  else if (e.event === "line") out.textContent += e.detail + "\n";
  else if (e.event === "finished") {
    out.textContent += `${e.detail}\n`;
    state.command = null;
    for (const env of state.snap.environments) loadEnvironment(env.name, true);
  }
  out.scrollTop = out.scrollHeight;
}

function handle(e) {
  switch (e.kind) {
    case "step": onStep(e); break;
    case "build":
      addLine(e, "build", e.detail);
      if (e.service && !svc(e.service).started) svc(e.service).building = true;
      break;
    case "log": addLine(e, "log", e.detail); break;
    case "status": onStatus(e); break;
    case "usage": onUsage(e); break;
    case "job": onJob(e); break;
    case "action": onAction(e); break;
    case "command": onCommand(e); break;
    case "canary": onCanary(e); break;
  }
}

// an environment's canary, as its release record has it (devkit/ui/canaries.py), on every change
function onCanary(e) {
  const name = e.data && e.data.environment;
  if (!name) return;
  const before = state.canaries.get(name);
  const now = e.event === "canaries"
    ? {state: e.data.canaries[0] || null, note: ""}
    : {state: before ? before.state : null, note: e.detail};
  state.canaries.set(name, now);
  const was = before && before.state, is = now.state;
  // a canary decided or begun: the releases table changed too
  if (was && is && (was.release !== is.release || was.phase !== is.phase)) loadEnvironment(name, true);
  if (view() === "envs") renderCanary(name);
}

// --- rendering, at most once a frame ---------------------------------------------------------
const dirty = {loop: true, logs: true, errors: true, plots: true, syncs: true};
let lastPlots = 0;
let scheduled = false;
let lastLogs = 0;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    if (dirty.errors) { renderErrors(); dirty.errors = false; }
    if (dirty.loop && view() === "loop") { renderLoop(); dirty.loop = false; performance.mark("devkit:rendered"); }
    if (dirty.plots && view() === "plots") {
      // usage arrives every 2 s for every service: the plots redraw at most twice a second
      const wait = lastPlots + 500 - performance.now();
      if (wait <= 0) { renderPlots(); dirty.plots = false; lastPlots = performance.now(); }
      else setTimeout(schedule, wait);
    }
    if (dirty.logs && view() === "logs") {
      // a busy stack logs hundreds of lines a second: the log view redraws at most 5 times a second
      const wait = lastLogs + 200 - performance.now();
      if (wait <= 0) { renderLogs(); dirty.logs = false; lastLogs = performance.now(); }
      else setTimeout(schedule, wait);
    }
  });
}

function renderErrors() {
  const box = $("errors");
  if (!state.errors.size) { box.innerHTML = ""; box.hidden = true; return; }
  box.hidden = false;
  box.innerHTML = [...state.errors].map(([name, err]) => {
    const lines = err.text.split("\n").map((l) => l.trim()).filter(Boolean);
    const cause = [...lines].reverse().find((l) => /(Error|Exception|error:|failed)/.test(l)) || lines[0] || "";
    return `<div class="error"><div><strong>${esc(name)}</strong> <span class="muted">${clock(err.at)}</span>
      <span class="cause">${esc(cause)}</span></div>
      <details open><summary>output</summary><pre>${esc(err.text)}</pre></details></div>`;
  }).join("");
  for (const pre of box.querySelectorAll("pre")) pre.scrollTop = pre.scrollHeight;
}

function healthOf(row, name) {
  if (name && state.errors.has(name)) return {text: "failing", cls: "unhealthy"};
  if (!row) return {text: "not running", cls: "unknown"};
  if (row.health && row.health !== "-") return {text: row.health, cls: row.health};
  return {text: row.state === "running" ? "running (no check)" : row.state, cls: row.state === "running" ? "healthy" : "unhealthy"};
}

function waitingOn(name, info) {
  const s = state.services.get(name);
  if (s && s.building) return "build";
  if (s && s.action && !s.action.done) return s.action.what;
  const row = s && s.status;
  if (row && row.health === "healthy") return "";
  const deps = info.depends_on.filter((d) => {
    const ds = state.services.get(d);
    return !ds || !ds.status || !["healthy", "-"].includes(ds.status.health) || ds.status.state !== "running";
  });
  if (deps.length && (!row || row.state !== "running" || row.health !== "healthy")) {
    return deps.map((d) => { const ds = state.services.get(d); return `${d} (${ds && ds.status ? healthOf(ds.status).text : "not running"})`; }).join(", ");
  }
  return s && s.waiting ? s.waiting : "";
}

function portLinks(row, info) {
  if (!row) return Object.entries(info.ports).map(([n, p]) => `${esc(n)} ${p}`).join(" ") || "–";
  const names = new Map(Object.entries(info.ports).map(([n, p]) => [String(p), n]));
  const links = Object.entries(row.ports || {}).map(([inner, outer]) => {
    const name = names.get(inner.split("/")[0]) || inner;
    const web = /http|web|ui|api/.test(name) || info.health === "http";
    const label = `${esc(name)} <span class="muted">${esc(outer.replace("127.0.0.1:", ":"))}</span>`;
    return web ? `<a href="${esc(`http://${outer}/`)}" target="_blank" rel="noopener" title="${esc(inner)} on ${esc(outer)}">${esc(name)} ${esc(outer.replace("127.0.0.1:", ":"))}</a>`
      : `<span title="${esc(inner)} on ${esc(outer)}">${label}</span>`;
  });
  return links.join("<br>") || "–";
}

function syncBars(syncs) {
  const pts = syncs.filter((x) => x.seconds !== null).slice(0, 10).reverse();
  if (pts.length < 2) return "";
  const top = Math.max(...pts.map((p) => p.seconds), 0.5);
  const bars = pts.map((p, i) => {
    const h = Math.max(1, Math.round((p.seconds / top) * 16));
    return `<rect x="${i * 6}" y="${16 - h}" width="4" height="${h}"><title>${p.seconds.toFixed(2)} s</title></rect>`;
  }).join("");
  return `<svg class="bars" width="${pts.length * 6}" height="16" role="img" aria-label="save to serving, last ${pts.length} syncs">${bars}</svg>`;
}

function renderLoop() {
  const snap = state.snap;
  if (!snap) return;
  const filter = $("svc-filter").value.trim().toLowerCase();
  const infos = new Map(snap.loop.services.map((s) => [s.name, s]));
  let healthy = 0, total = 0;
  const html = [];
  for (const [group, members] of Object.entries(snap.loop.groups)) {
    const shown = members.filter((m) => {
      if (!filter) return true;
      const s = state.services.get(m);
      return m.toLowerCase().includes(filter) || group.toLowerCase().includes(filter) ||
        (s && s.status && `${s.status.state} ${s.status.health}`.includes(filter));
    });
    if (!shown.length) continue;
    const ok = members.filter((m) => { const s = state.services.get(m); return s && s.status && healthOf(s.status, m).cls === "healthy"; }).length;
    healthy += ok; total += members.length;
    const closed = collapsed.has(group) && !filter;
    html.push(`<section class="group" data-group="${esc(group)}">
      <h2><button class="group-toggle" aria-expanded="${!closed}" data-group="${esc(group)}">
        <span class="chev" aria-hidden="true">${closed ? "▸" : "▾"}</span> ${esc(group)}
        <span class="count ${ok === members.length ? "ok" : "bad"}">${ok}/${members.length} healthy</span></button></h2>`);
    if (!closed) {
      html.push(`<table class="services"><colgroup><col class="c-name"><col class="c-state"><col class="c-health"><col class="c-wait"><col class="c-ports"><col class="c-image"><col class="c-restarts"><col class="c-syncs"><col class="c-actions"></colgroup><thead><tr><th>Service</th><th>State</th><th>Health</th><th>Waiting on</th>
        <th>Ports</th><th>Image</th><th>Restarts</th><th>Last syncs (save → serving)</th><th><span class="sr">Actions</span></th></tr></thead><tbody>`);
      for (const name of shown) html.push(renderService(name, infos.get(name)));
      html.push("</tbody></table>");
    }
    html.push("</section>");
  }
  $("groups").innerHTML = html.join("") || `<p class="muted">No service matches “${esc(filter)}”.</p>`;
  $("svc-summary").textContent = `${healthy}/${total} healthy` + (state.statusNote ? ` · ${state.statusNote}` : "");
}

function renderService(name, info) {
  const s = svc(name);
  const row = s.status;
  const h = healthOf(row, name);
  const waits = waitingOn(name, info);
  const restarts = (row && row.restarts ? row.restarts : 0) + s.restarts;
  const syncs = s.syncs.slice(0, 3).map((x) =>
    `<li data-at="${x.at}"><span class="muted">${clock(x.at)}</span> ${x.seconds !== null ? `<strong class="secs">${x.seconds.toFixed(2)} s</strong>` : '<strong class="bad">not answering</strong>'}
      <span class="muted small">${esc(x.detail.replace(/, (answering [\d.]+s after save|NOT answering)$/, ""))}</span></li>`).join("");
  const live = state.snap.live;
  const disabled = live ? "" : state.snap.mode === "up" ? ' disabled title="the dev loop has not started (yet)"' : ' disabled title="run devkit up --ui to restart, rebuild and sync"';
  const busy = s.action && !s.action.done;
  const canRestart = info.supervised ? "" : ' disabled title="no supervised process (no sync rule that restarts it)"';
  const jobsOff = !state.snap.loop.jobs ? ` disabled title="${esc(`${state.snap.loop.target} cannot run jobs from here (devkit deploy runs them before a rollout)`)}"`
    : s.job && !s.job.done ? " disabled" : "";
  const jobs = info.jobs.map((j) => `<button data-job="${esc(j.name)}" data-service="${esc(name)}"${jobsOff || ` title="${esc(`runs ${j.command.join(" ")} where ${name} runs`)}"`}>Run ${esc(j.name)}</button>`).join("");
  const job = s.job ? `<div class="action job ${s.job.done ? (s.job.ok ? "ok" : "bad") : "busy"}" role="status" data-job="${esc(s.job.name)}">
      ${s.job.done ? (s.job.ok ? "✓" : "✗") : '<span class="spin" aria-hidden="true"></span>'} ${esc(s.job.done ? s.job.text : `${s.job.name}: ${s.job.text}`)}
      ${s.job.lines.length ? `<pre class="job-out">${esc(s.job.lines.slice(-6).join("\n"))}</pre>` : ""}</div>` : "";
  const action = s.action ? `<div class="action ${s.action.done ? (s.action.ok ? "ok" : "bad") : "busy"}" role="status">
      ${s.action.done ? (s.action.ok ? "✓" : "✗") : '<span class="spin" aria-hidden="true"></span>'} ${esc(s.action.what)}: ${esc(s.action.text)}</div>` : "";
  return `<tr data-service="${esc(name)}" class="svc ${state.errors.has(name) ? "has-error" : ""}">
    <th scope="row" data-label="Service"><span class="name">${esc(name)}</span></th>
    <td data-label="State">${esc(row ? row.state : "not running")}</td>
    <td data-label="Health"><span class="pill ${esc(h.cls)}">${esc(h.text)}</span></td>
    <td data-label="Waiting on" class="waits">${esc(waits) || '<span class="muted">–</span>'}</td>
    <td data-label="Ports">${portLinks(row, info)}</td>
    <td data-label="Image" class="image" title="${esc(row ? row.image : info.image)}">${esc(row ? row.image : info.image)}</td>
    <td data-label="Restarts" class="num">${restarts}</td>
    <td data-label="Last syncs" class="syncs">${syncBars(s.syncs)}<ul>${syncs || '<li class="muted">none yet</li>'}</ul></td>
    <td class="actions">
      <button data-act="restart" data-service="${esc(name)}"${live ? canRestart : disabled}${busy ? " disabled" : ""}>Restart</button>
      <button data-act="rebuild" data-service="${esc(name)}"${live ? (info.build ? "" : ' disabled title="not built from source"') : disabled}${busy ? " disabled" : ""}>Rebuild</button>
      <button data-act="sync" data-service="${esc(name)}"${live ? (info.sync ? "" : ' disabled title="no sync rules"') : disabled}${busy ? " disabled" : ""}>Sync now</button>
      ${jobs}
      ${action}${job}
    </td></tr>`;
}

function renderPlots() {
  const began = performance.now();
  if (dirty.syncs) { renderSyncPlots(); dirty.syncs = false; }
  renderUsage();
  performance.measure("devkit:plots", {start: began});
}

function renderSyncPlots() {
  const only = $("plot-service").value;
  const syncs = only ? state.syncs.filter((x) => x.service === only) : state.syncs;
  const names = state.snap.loop.services.map((s) => s.name);
  const hist = Plots.histogram(syncs, state.cursor.hist);
  const time = Plots.timeline(syncs, names, state.cursor.time);
  $("sync-summary").textContent = Plots.summary(syncs);
  $("sync-hist").innerHTML = hist.svg || '<p class="muted">No sync has answered yet.</p>';
  $("sync-time").innerHTML = time.svg || '<p class="muted">No sync yet.</p>';
  $("sync-hist-read").textContent = hist.text;
  $("sync-time-read").textContent = time.text;
  $("sync-hist").dataset.count = hist.bins.length;
  $("sync-time").dataset.count = time.count;
}

function renderUsage() {
  const names = state.snap.loop.services.map((s) => s.name);
  const box = $("usage");
  if (!box.firstChild) box.innerHTML = Plots.usageTable(state.snap.loop.services);
  Plots.updateUsage(box.firstChild, state.snap.loop.services, state.usage);
  const read = [...state.usage.values()].filter((u) => u.memory.at(-1) !== null).length;
  $("usage-summary").textContent = state.usageNote || (state.usage.size ? `${read} of ${names.length} services running` : "waiting for the first reading…");
  $("usage-summary").classList.toggle("unreach", Boolean(state.usageNote));
}

function movePlot(ev, which) {
  const el = $(which === "hist" ? "sync-hist" : "sync-time");
  const count = Number(el.dataset.count || 0);
  if (!count) return;
  const now = state.cursor[which];
  const keys = {ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1};
  let next;
  if (ev.key in keys) next = now === null ? (keys[ev.key] > 0 ? 0 : count - 1) : Math.max(0, Math.min(count - 1, now + keys[ev.key]));
  else if (ev.key === "Home") next = 0;
  else if (ev.key === "End") next = count - 1;
  else return;
  ev.preventDefault();
  state.cursor[which] = next;
  renderSyncPlots();
}

function logMatcher() {
  const text = $("log-filter").value;
  const input = $("log-filter");
  input.classList.remove("invalid");
  if (!text) return () => true;
  if ($("log-regex").checked) {
    try { const re = new RegExp(text, "i"); return (l) => re.test(l); }
    catch { input.classList.add("invalid"); return () => false; }
  }
  const low = text.toLowerCase();
  return (l) => l.toLowerCase().includes(low);
}

function renderLogs() {
  const service = $("log-service").value;
  const kind = document.querySelector('input[name="log-kind"]:checked').value;
  const level = $("log-level").value;
  const match = logMatcher();
  const min = level ? LEVELS[level] : -1;
  const out = [];
  let count = 0;
  for (let i = state.lines.length - 1; i >= 0 && out.length < SHOWN_LINES; i--) {
    const l = state.lines[i];
    if (l.kind !== kind || (service && l.service !== service) || LEVELS[l.level] < min || !match(l.text)) continue;
    count++;
    out.push(`<div class="line lv-${l.level}"><span class="t">${clock(l.at)}</span> <span class="s">${esc(l.service || "devkit")}</span> <span class="m">${esc(l.text)}</span></div>`);
  }
  const box = $("log-lines");
  box.innerHTML = out.reverse().join("") || '<div class="muted">No line matches.</div>';
  $("log-info").textContent = `${count}${count >= SHOWN_LINES ? "+" : ""} line${count === 1 ? "" : "s"} shown of ${state.lines.filter((l) => l.kind === kind).length} ${kind === "log" ? "runtime" : kind === "build" ? "build" : "dev loop"} lines`;
  if ($("log-follow").checked) box.scrollTop = box.scrollHeight;
}

// --- environments ---------------------------------------------------------------------------
function renderEnvs() {
  const box = $("envs");
  box.innerHTML = state.snap.environments.map((env) => {
    if (env.error) return `<article class="env"><h2>${esc(env.name)}</h2><p class="bad">${esc(env.error)}</p></article>`;
    const data = state.envData.get(env.name);
    let releases;
    if (!data) releases = '<p class="muted">reading releases…</p>';
    else if (data.releases === null) releases = `<p class="unreach">${esc(data.reason)}</p>`;
    else if (!data.releases.length) releases = '<p class="muted">no releases yet</p>';
    else releases = `<table class="releases"><thead><tr><th>#</th><th>Outcome</th><th>Origin</th><th>Commit</th><th>By</th><th>When</th><th class="num">Cost/month</th></tr></thead><tbody>` +
      data.releases.map((r) => `<tr><td>${r.number}</td><td><span class="pill ${esc(r.status)}">${esc(r.status)}</span></td>
        <td class="origin">${esc(r.origin)}</td><td><code>${esc((r.commit || "–").slice(0, 10))}</code></td><td>${esc(r.by)}</td>
        <td title="${esc(r.created)}">${esc(r.created.replace("T", " ").slice(5, 16))}</td>
        <td class="num" title="${esc(r.cost ? `estimated at ${r.cost.prices}` : "not recorded (a release made before devkit recorded costs)")}">${r.cost ? esc(money(r.cost)) : '<span class="muted">–</span>'}</td></tr>
        <tr class="digests"><td></td><td colspan="6">${Object.entries(r.images).map(([s, d]) => `<code class="digest" title="${esc(d)}">${esc(s)} ${esc(d.split("@")[1] ? d.split("@")[1].slice(0, 19) : d)}</code>`).join("")}</td></tr>`).join("") + "</tbody></table>";
    const cost = env.cost ? `${esc(money(env.cost))}/month <span class="muted small">today's plan</span>${costBeside(env.cost, data)}` : "–";
    const known = data && data.releases;
    const healthy = known && data.releases.some((r) => r.status === "healthy");
    const why = !data ? "reading releases…" : data.releases === null ? data.reason : "";
    const promoteOff = !healthy ? ` disabled title="${esc(why || "no healthy release to promote")}"` : "";
    const rollbackOff = !(known && data.releases.length >= 2) ? ` disabled title="${esc(why || "no earlier release to roll back to")}"` : "";
    const targets = Object.entries(env.commands ? env.commands.promote : {});
    const buttons = env.commands ? `
      ${targets.length ? `<label class="promote"><span class="sr">Promote ${esc(env.name)} to</span>
        <select class="promote-to">${targets.map(([to, args], i) => `<option value="${esc(JSON.stringify(args))}"${to === env.commands.next ? " selected" : ""}>to ${esc(to)}</option>`).join("")}</select></label>
        <button data-promote="${esc(env.name)}"${promoteOff}>Promote…</button>` : ""}
      <button data-command="${esc(JSON.stringify(env.commands.rollback))}" class="danger"${rollbackOff}>Roll back…</button>`
      : '<span class="muted small">a dev stack: not deployed by devkit deploy</span>';
    const current = env.name === state.snap.loop.environment ? ' <span class="pill healthy">this dev loop</span>' : "";
    return `<article class="env" data-env="${esc(env.name)}"><h2>${esc(env.name)}${current}</h2>
      <dl><dt>Target</dt><dd>${esc(env.target)} <span class="muted small">${esc(env.details.join(", "))}</span></dd>
      <dt>Cost estimate</dt><dd>${cost}</dd></dl>
      ${env.canary ? `<section class="canary" data-canary="${esc(env.name)}" data-phase="${esc(((state.canaries.get(env.name) || {}).state || {}).phase || "")}" aria-labelledby="canary-${esc(env.name)}">${canaryHtml(env)}</section>` : ""}
      <h3>Last releases</h3>${releases}<div class="buttons">${buttons}</div></article>`;
  }).join("");
}

// --- canaries -------------------------------------------------------------------------------
const PHASES = {running: "running", paused: "paused", promoted: "healthy", aborted: "failed", interrupted: "deploying"};
const isoClock = (iso) => iso ? clock(Date.parse(iso) / 1000) : "";
const figure = (c) => c.value === null ? "–" : `${Number(c.value.toPrecision(4))}${c.name.startsWith("latency") ? " s" : ""}`;

function canaryHtml(env) {
  const known = state.canaries.get(env.name);
  const title = `<h3 id="canary-${esc(env.name)}">Canary of ${esc(env.canary.service)}`;
  const declared = `declared: ${esc(env.canary.steps.join(" → "))}`;
  const data = state.envData.get(env.name);
  if (!known) {
    const why = data && data.releases === null ? "" : " · reading its release record…";
    return `${title}</h3><p class="muted small">${declared}${why}</p>`;
  }
  const c = known.state;
  const note = known.note ? `<p class="unreach">${esc(known.note)}</p>` : "";
  if (!c) return `${title}</h3>${note}<p class="muted small">${declared}${known.note ? "" : " · no canary has run yet"}</p>`;
  const pill = `<span class="pill ${PHASES[c.phase] || "unknown"} phase">${esc(c.phase)}</span>`;
  const steps = c.steps.map((s) => {
    const pause = s.pause === null ? "" : s.pause === "manual" ? "until continued" : `${s.pause}s`;
    const label = s.continued ? "done · continued" : {done: "done", current: "current", paused: "paused here", failed: "failed", pending: "pending", stopped: "stopped"}[s.state] || s.state;
    return `<li class="step ${esc(s.state)}"${s.state === "current" || s.state === "paused" ? ' aria-current="step"' : ""} data-step="${s.index + 1}">
      <span class="w">${s.weight}%</span><span class="small">${esc(pause)}</span><span class="st">${esc(label)}${s.evaluations ? ` · ${s.evaluations} eval.` : ""}</span></li>`;
  }).join("");
  // the canary's share while it runs; once decided, all of it to the release that serves
  const w = c.in_progress ? c.weight : c.serving === c.release ? 100 : 0;
  const said = c.in_progress ? `traffic now: ${w}% to the canary (#${c.release}), ${100 - w}% to #${c.stable}`
    : `traffic now: all to #${c.serving}${c.serving === c.release ? " (promoted)" : " (the stable release)"}; the canary is gone`;
  const split = `<svg class="split" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label="${esc(said)}">
      <rect class="to-stable" width="100" height="6"></rect><rect class="to-canary" width="${w}" height="6"></rect></svg>
    <p class="small weight">${c.in_progress ? `traffic now: <strong class="figure">${w}%</strong> to the canary (#${c.release}), ${100 - w}% to #${c.stable}` : esc(said)}</p>`;
  const checks = c.checks.length ? `<table class="checks"><caption class="sr">Checks, latest evaluation</caption>
    <thead><tr><th>Check</th><th class="num">Latest</th><th>Threshold</th><th>Verdict</th><th>Every evaluation</th><th>When</th></tr></thead><tbody>` +
    c.checks.map((k) => `<tr data-check="${esc(k.name)}" class="${esc(k.verdict)}"><th scope="row" title="${esc(k.describe)}">${esc(k.name)}</th>
      <td class="num value figure" data-label="latest">${esc(figure(k))}</td><td data-label="threshold"><code>${esc(k.bound || k.describe)}</code></td>
      <td data-label="verdict"><span class="verdict ${esc(k.verdict)}">${k.verdict === "pass" ? "✓ pass" : k.verdict === "fail" ? "✗ fail" : "… no data yet"}</span>${k.failed ? ` <span class="small bad">${k.failed} failed</span>` : ""}</td>
      <td data-label="every evaluation" class="spark-cell">${checkSpark(k)}</td>
      <td data-label="when" class="small">${k.at ? `${esc(isoClock(k.at))}${k.step !== null ? `, step ${k.step + 1}` : ""}` : "–"}</td></tr>`).join("") +
    `</tbody></table><p class="small muted">failed evaluations: ${c.failed_checks} (allowed: ${c.failures_allowed})</p>`
    : '<p class="small muted">no checks declared</p>';
  const d = c.decision;
  const decision = d ? `<p class="decision ${esc(d.what)}"><strong>${esc(d.what)}</strong>${d.at ? ` at <time datetime="${esc(d.at)}">${esc(isoClock(d.at))}</time>` : ""}${d.reason ? `: ${esc(d.reason)}` : ""}</p>`
    : `<p class="decision running small muted">running since ${esc(isoClock(c.started))} (${esc(c.origin)})</p>`;
  const buttons = c.commands ? `<div class="buttons">
      <button data-command="${esc(JSON.stringify(c.commands.continue))}" class="go">Continue…</button>
      <button data-command="${esc(JSON.stringify(c.commands.abort))}" class="danger">Abort…</button></div>` : "";
  return `${title} · release #${c.release} beside #${c.stable} ${pill}</h3>${note}
    <ol class="steps" aria-label="steps">${steps}</ol>${split}${checks}${decision}${buttons}`;
}

// every evaluation of a check so far (oldest first), against its threshold: a failed value in
// red, one without data as a tick at the bottom; its figures in the aria-label and in each point's tooltip
function checkSpark(k) {
  const W = 132, H = 26, pad = 3;
  const values = k.history.map((h) => h.value).filter((v) => v !== null);
  if (!values.length) return '<span class="muted small">–</span>';
  const bounds = [k.min, k.max].filter((v) => v !== null && v !== undefined);
  let lo = Math.min(...values, ...bounds), hi = Math.max(...values, ...bounds);
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const x = (i) => pad + (k.history.length < 2 ? (W - 2 * pad) / 2 : i * (W - 2 * pad) / (k.history.length - 1));
  const y = (v) => H - pad - (v - lo) / (hi - lo) * (H - 2 * pad);
  const lines = bounds.map((b) => `<line class="thr" x1="0" x2="${W}" y1="${y(b).toFixed(1)}" y2="${y(b).toFixed(1)}"></line>`).join("");
  const dots = k.history.map((h, i) => h.value === null ? `<line class="nodata" x1="${x(i).toFixed(1)}" x2="${x(i).toFixed(1)}" y1="${H - 4}" y2="${H}"><title>step ${h.step + 1}: no data</title></line>` :
    `<circle class="${h.passed === false ? "fail" : "pass"}" cx="${x(i).toFixed(1)}" cy="${y(h.value).toFixed(1)}" r="2.2"><title>step ${h.step + 1}: ${esc(figure({name: k.name, value: h.value}))}${h.passed === false ? " (failed)" : ""}</title></circle>`).join("");
  const path = k.history.map((h, i) => h.value === null ? null : `${x(i).toFixed(1)},${y(h.value).toFixed(1)}`).filter(Boolean).join(" ");
  const said = `${k.name}: ${k.history.length} evaluation${k.history.length === 1 ? "" : "s"}, ${values.length} with data, ${k.failed} failed; threshold ${k.bound || k.describe}`;
  return `<svg class="spark-check" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(said)}">${lines}<polyline points="${path}"></polyline>${dots}</svg>`;
}

// only the canary panel: a new reading every few seconds keeps the rest (and the focus) as it is
function renderCanary(name) {
  const box = document.querySelector(`section.canary[data-canary="${CSS.escape(name)}"]`);
  const env = state.snap.environments.find((e) => e.name === name);
  if (!box || !env) return;
  const focused = box.contains(document.activeElement) ? document.activeElement.dataset.command : null;
  box.innerHTML = canaryHtml(env);
  box.dataset.phase = (state.canaries.get(name).state || {}).phase || "";
  if (focused) { const again = box.querySelector(`button[data-command='${CSS.escape(focused)}']`); if (again) again.focus(); }
}

function money(c) {
  return (c.min === c.max ? c.min.toFixed(2) : `${c.min.toFixed(2)}–${c.max.toFixed(2)}`) + ` ${c.currency}`;
}

// today's estimate next to what the last release was estimated at when it was deployed
function costBeside(now, data) {
  if (!data || !data.releases || !data.releases.length) return "";
  const last = data.releases[0];
  if (!last.cost) return `<div class="cost-prev muted small">release #${last.number}: cost not recorded</div>`;
  const change = (a, b) => { const d = Math.round((a - b) * 100) / 100; return d === 0 ? "±0.00" : (d > 0 ? "+" : "−") + Math.abs(d).toFixed(2); };
  const delta = now.currency !== last.cost.currency ? "" : now.min === now.max && last.cost.min === last.cost.max
    ? change(now.min, last.cost.min) : `${change(now.min, last.cost.min)} to ${change(now.max, last.cost.max)}`;
  const cls = now.max > last.cost.max ? "up" : now.max < last.cost.max ? "down" : "same";
  return `<div class="cost-prev" data-release="${last.number}">release #${last.number} (${esc(last.status)}): ${esc(money(last.cost))}/month` +
    (delta ? ` <span class="delta ${cls}" title="today's plan against release #${last.number}">${esc(delta)}</span>` : "") + "</div>";
}

const loading = new Set();
async function loadEnvironment(name, again) {
  if ((state.envData.has(name) && !again) || loading.has(name)) return;
  loading.add(name);
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const r = await fetch(`/api/environments/${encodeURIComponent(name)}`);
      const data = await r.json();
      state.envData.set(name, r.ok ? data : {releases: null, reason: `cannot read: ${data.error}`});
      break;
    } catch (err) {
      state.envData.set(name, {releases: null, reason: `no answer from the devkit ui server (${err})`});
      await new Promise((done) => setTimeout(done, 300 * attempt));
    }
  }
  loading.delete(name);
  if (view() === "envs") renderEnvs();
}

let pendingCommand = null;
function askCommand(args) {
  pendingCommand = args;
  $("confirm-command").textContent = "devkit " + args.join(" ");
  $("confirm").showModal();
}
$("confirm").addEventListener("close", async () => {
  if ($("confirm").returnValue !== "run" || !pendingCommand) return;
  const r = await fetch("/api/command", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({args: pendingCommand})});
  if (!r.ok) { $("command-out").hidden = false; $("command-lines").textContent = (await r.json()).error; }
  pendingCommand = null;
});

// --- views and input ------------------------------------------------------------------------
const VIEWS = ["loop", "logs", "envs", "plots"];
function view() { return (location.hash || "#loop").slice(1); }
function showView() {
  const v = VIEWS.includes(view()) ? view() : "loop";
  for (const name of VIEWS) {
    $(`view-${name}`).hidden = name !== v;
    $(`tab-${name}`).setAttribute("aria-current", name === v ? "page" : "false");
  }
  if (v === "envs" && state.snap) { renderEnvs(); for (const env of state.snap.environments) loadEnvironment(env.name); }
  dirty.loop = dirty.logs = dirty.plots = true;
  schedule();
}
window.addEventListener("hashchange", showView);

document.addEventListener("click", async (ev) => {
  const toggle = ev.target.closest(".group-toggle");
  if (toggle) {
    const g = toggle.dataset.group;
    collapsed.has(g) ? collapsed.delete(g) : collapsed.add(g);
    localStorage.setItem("devkit.collapsed", JSON.stringify([...collapsed]));
    renderLoop();
    document.querySelector(`.group-toggle[data-group="${CSS.escape(g)}"]`).focus();
    return;
  }
  const act = ev.target.closest("button[data-act]");
  if (act) {
    const s = svc(act.dataset.service);
    s.action = {what: act.dataset.act, done: false, text: "requested…"};
    renderLoop();
    const r = await fetch("/api/action", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({service: act.dataset.service, action: act.dataset.act})});
    if (!r.ok) { finishAction(s, false, (await r.json()).error); renderLoop(); }
    return;
  }
  const jobButton = ev.target.closest("button[data-job]");
  if (jobButton) {
    const s = svc(jobButton.dataset.service);
    s.job = {name: jobButton.dataset.job, done: false, ok: null, text: "requested…", lines: []};
    renderLoop();
    const r = await fetch("/api/job", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({service: jobButton.dataset.service, job: jobButton.dataset.job})});
    if (!r.ok) { s.job = {...s.job, done: true, ok: false, text: (await r.json()).error}; renderLoop(); }
    return;
  }
  const cmd = ev.target.closest("button[data-command]");
  if (cmd) askCommand(JSON.parse(cmd.dataset.command));
  const promote = ev.target.closest("button[data-promote]");
  if (promote) askCommand(JSON.parse(promote.closest(".buttons").querySelector(".promote-to").value));
});

document.addEventListener("keydown", (ev) => {
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
  if (ev.key === "Escape" && typing) { document.activeElement.blur(); return; }
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "1") location.hash = "#loop";
  else if (ev.key === "2") location.hash = "#logs";
  else if (ev.key === "3") location.hash = "#envs";
  else if (ev.key === "4") location.hash = "#plots";
  else if (ev.key === "/") {
    ev.preventDefault();
    (view() === "logs" ? $("log-filter") : $("svc-filter")).focus();
  }
});

for (const id of ["svc-filter"]) $(id).addEventListener("input", () => { dirty.loop = true; schedule(); });
$("plot-service").addEventListener("input", () => { state.cursor = {hist: null, time: null}; renderSyncPlots(); });
$("sync-hist").addEventListener("keydown", (ev) => movePlot(ev, "hist"));
$("sync-time").addEventListener("keydown", (ev) => movePlot(ev, "time"));
for (const id of ["log-filter", "log-regex", "log-level", "log-service", "log-follow"]) {
  $(id).addEventListener("input", () => { dirty.logs = true; schedule(); });
}
for (const r of document.querySelectorAll('input[name="log-kind"]')) r.addEventListener("change", () => { dirty.logs = true; schedule(); });

// --- start ----------------------------------------------------------------------------------
async function start() {
  if (location.search.includes("token=")) history.replaceState(null, "", location.pathname + location.hash);
  const r = await fetch("/api/snapshot");
  state.snap = await r.json();
  performance.mark("devkit:snapshot");
  const loop = state.snap.loop;
  $("project").textContent = `${loop.project} / ${loop.environment} (${loop.target})`;
  document.title = `devkit · ${loop.project}/${loop.environment}`;
  for (const s of loop.services) {
    svc(s.name);
    $("log-service").insertAdjacentHTML("beforeend", `<option value="${esc(s.name)}">${esc(s.name)}</option>`);
    $("plot-service").insertAdjacentHTML("beforeend", `<option value="${esc(s.name)}">${esc(s.name)}</option>`);
  }
  if (!state.snap.live && state.snap.mode !== "up") {
    const note = $("note-loop");
    note.hidden = false;
    note.textContent = "Status only: run `devkit up --ui` to restart, rebuild and sync from here.";
  }
  let last = 0;
  // syncs from the cache that happened before this page's history began (an earlier `up`)
  const since = state.snap.history.length ? state.snap.history[0].at : Infinity;
  for (const x of state.snap.syncs || []) {
    if (x.at < since) addSync({service: x.service, at: x.at, seconds: x.seconds, detail: `${x.files} file${x.files === 1 ? "" : "s"}, ${x.action}`});
  }
  for (const e of state.snap.history) { handle(e); last = e.seq; }
  delete state.snap.history;
  const source = new EventSource(`/api/events?after=${last}`);
  source.onmessage = (m) => {
    for (const e of JSON.parse(m.data)) handle(e);
    schedule();
  };
  source.onopen = () => { $("conn").textContent = "live"; $("conn").className = "conn ok"; };
  source.onerror = () => { $("conn").textContent = "reconnecting…"; $("conn").className = "conn bad"; };
  showView();
  performance.mark("devkit:ready");
  document.body.dataset.ready = "1";
}
start();
