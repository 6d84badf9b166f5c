// The cockpit's page: polls /api/state every second and draws it. No
// framework, nothing loaded from elsewhere.
"use strict";

const token = new URLSearchParams(location.hash.slice(1)).get("token");
const $ = (id) => document.getElementById(id);

function duration(ms) {
  if (ms < 0 || !isFinite(ms)) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return s + " s";
  const m = Math.floor(s / 60);
  if (m < 60) return m + " min " + (s % 60) + " s";
  return Math.floor(m / 60) + " h " + (m % 60) + " min";
}

function text(el, value) { el.textContent = value; return el; }

function add(parent, tag, cls, value) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (value !== undefined) el.textContent = value;
  parent.appendChild(el);
  return el;
}

// progress draws a bar with the count, the percentage and the time left.
function progress(el, p, now, unit) {
  el.replaceChildren();
  if (!p) return;
  const frac = p.total > 0 ? Math.min(p.done / p.total, 1) : 0;
  const bar = add(el, "div", "bar");
  add(bar, "div").style.width = (frac * 100).toFixed(1) + "%";
  const elapsed = now - Date.parse(p.started);
  const left = frac > 0 && frac < 1 ? elapsed * (1 - frac) / frac : (frac >= 1 ? 0 : NaN);
  add(el, "div", "scale").append(
    text(document.createElement("span"), p.done.toLocaleString() + " / " + p.total.toLocaleString() + " " + unit + " (" + (frac * 100).toFixed(1) + " %)"),
    text(document.createElement("span"), "ETA " + duration(left)));
}

const marks = { pending: "○", running: "▶", done: "✓", failed: "✗", undoing: "↺", undone: "↺" };

function drawSteps(state, now) {
  const list = $("steps");
  list.replaceChildren();
  if (state.steps.length === 0) add(list, "li", "pending", "no runbook in this command");
  for (const s of state.steps) {
    const li = add(list, "li", s.state);
    li.dataset.step = s.name;
    const name = add(li, "span");
    add(name, "span", "mark", marks[s.state] || "?");
    name.append(s.name);
    if (s.error) add(name, "span", "err", s.error);
    let took = "";
    if (s.started && !s.ended) took = duration(now - Date.parse(s.started));
    else if (s.started && s.ended) took = duration(Date.parse(s.ended) - Date.parse(s.started));
    add(li, "span", "took", took);
  }
}

function drawReplication(state, now) {
  const dl = $("replication");
  dl.replaceChildren();
  const r = state.replication;
  if (!r) { add(dl, "dt", "", "state"); add(dl, "dd", "", "no status yet"); return; }
  for (const [k, v] of [["state", r.state], ["lag", r.lag_ms + " ms"], ["rows/s", Math.round(r.rows_per_second).toLocaleString()],
    ["transactions", r.transactions.toLocaleString()], ["row changes", r.row_changes.toLocaleString()], ["position", r.position]]
    .concat(r.binlog_bytes_read ? [["binlog read", (r.binlog_bytes_read / 1048576).toFixed(1) + " MiB"]] : [])) {
    add(dl, "dt", "", k);
    add(dl, "dd", "", v).dataset.field = k;
  }
  progress($("copy"), r.copy, now, "rows copied");
}

function drawLag(state, now) {
  const svg = $("lag");
  svg.replaceChildren();
  const pts = state.lag;
  const span = 15 * 60 * 1000;
  const top = Math.max(1000, ...pts.map((p) => p.lag_ms));
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", pts.map((p) => {
    const x = 600 - (now - Date.parse(p.at)) / span * 600;
    const y = 160 - p.lag_ms / top * 150;
    return x.toFixed(1) + "," + y.toFixed(1);
  }).join(" "));
  svg.appendChild(line);
  const scale = $("lag-scale");
  scale.replaceChildren(text(document.createElement("span"), "−15 min"), text(document.createElement("span"), "max " + top + " ms"), text(document.createElement("span"), "now"));
}

function drawProbe(state) {
  const el = $("probe");
  el.replaceChildren();
  const ids = [...new Set(state.probe.filter((p) => p.server_id).map((p) => p.server_id))];
  for (const p of state.probe) {
    const cls = p.server_id === 0 ? "fail" : (p.server_id === ids[0] ? "src" : "dst");
    add(el, "span", cls).title = new Date(p.at).toLocaleTimeString() + (p.server_id ? " written on server " + p.server_id : " refused");
  }
  const failed = state.probe.filter((p) => p.server_id === 0).length;
  $("probe-legend").replaceChildren(
    text(document.createElement("span"), state.probe.length + " writes, " + failed + " refused"),
    text(document.createElement("span"), ids.length ? "servers " + ids.join(" → ") : "no probe in this command"));
}

function draw(state) {
  const now = Date.parse(state.now);
  text($("command"), state.command);
  text($("clock"), (state.outcome ? "ran for " : "running for ") + duration(now - Date.parse(state.started)));
  text($("outcome"), state.outcome ? "ended: " + state.outcome : "");
  drawSteps(state, now);
  drawReplication(state, now);
  drawLag(state, now);
  progress($("verify"), state.verify, now, "rows compared");
  if (!state.verify) text($("verify"), "not running");
  drawProbe(state);
  const log = $("log");
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  text(log, state.log.join("\n"));
  if (atEnd) log.scrollTop = log.scrollHeight;
}

async function poll() {
  try {
    const res = await fetch("api/state", { headers: token ? { Authorization: "Bearer " + token } : {}, cache: "no-store" });
    if (!res.ok) throw new Error(res.status + " " + res.statusText);
    draw(await res.json());
    text($("conn"), "").className = "conn";
  } catch (e) {
    text($("conn"), "connection lost: " + e.message).className = "conn lost";
  }
  setTimeout(poll, 1000);
}
poll();
