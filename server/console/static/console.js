// The tickwire admin console (docs/OPERATIONS.md, "Console"). Plain
// script, no build step: it polls the admin API with the operator's token
// every second and draws what it reads. Everything a client chose (user
// ids, names, room labels) goes into the page as text, never as HTML.
"use strict";

(() => {
  const pollMs = 1000;
  const keep = 120; // samples per chart: two minutes
  const tokenKey = "tickwire.console.token";
  const svgNS = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  const statusEl = $("status");

  // series: one chart's samples, one array per line.
  const charts = {
    rtt: { el: document.querySelector('[data-test="chart-rtt"]'), lines: [[], []], names: ["mean", "p99"] },
    lateness: { el: document.querySelector('[data-test="chart-lateness"]'), lines: [[]], names: ["p99"] },
    drops: { el: document.querySelector('[data-test="chart-drops"]'), lines: [[]], names: ["drops/s"] },
  };

  let timer = 0;
  let gen = 0; // the poll loop's generation: a restart retires the old loop
  let last = null; // {at, drops}: the previous poll's drop total

  function setStatus(text, error) {
    statusEl.textContent = text;
    statusEl.classList.toggle("error", !!error);
  }

  function token() {
    return sessionStorage.getItem(tokenKey) || "";
  }

  class AuthError extends Error {}

  // parse reads a JSON answer with its 64-bit ids as strings: session and
  // room ids are random uint64s, past what a JavaScript number holds
  // exactly (2^53), and a rounded id would kick or close another one.
  function parse(text) {
    const quoted = text
      .replace(/("id"\s*:\s*)(\d+)/g, '$1"$2"')
      .replace(/("rooms"\s*:\s*\[)([\d\s,]*)(\])/g, (_, a, list, b) => a + list.replace(/\d+/g, '"$&"') + b);
    try {
      return JSON.parse(quoted);
    } catch {
      return null;
    }
  }

  async function api(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: { Authorization: "Bearer " + token(), ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
    });
    if (res.status === 401) throw new AuthError("the admin token was refused");
    const data = parse(await res.text());
    if (!res.ok) throw new Error(path + ": " + res.status + (data && data.message ? " " + data.message : ""));
    return data;
  }

  function cell(tr, text) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function button(td, label, test, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    b.dataset.test = test;
    b.addEventListener("click", onClick);
    td.appendChild(b);
  }

  const ms = (ns) => (ns / 1e6).toFixed(2);

  function percentile(sorted, p) {
    if (sorted.length === 0) return 0;
    return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  }

  function push(chart, values) {
    values.forEach((v, i) => {
      const line = chart.lines[i];
      line.push(v);
      if (line.length > keep) line.shift();
    });
    draw(chart);
  }

  // draw renders chart's lines as polylines scaled to their joint maximum.
  function draw(chart) {
    const svg = chart.el.querySelector("svg");
    let max = 0;
    for (const line of chart.lines) for (const v of line) if (v !== null && v > max) max = v;
    const top = max > 0 ? max * 1.1 : 1;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const now = [];
    chart.lines.forEach((line, i) => {
      const pts = [];
      line.forEach((v, j) => {
        if (v === null) return;
        const x = (300 * (j + keep - line.length)) / (keep - 1);
        pts.push(x.toFixed(1) + "," + (100 - (100 * v) / top).toFixed(1));
      });
      const pl = document.createElementNS(svgNS, "polyline");
      pl.setAttribute("class", "s" + i);
      pl.setAttribute("points", pts.join(" "));
      pl.dataset.points = String(pts.length);
      svg.appendChild(pl);
      const v = line[line.length - 1];
      now.push(chart.names[i] + " " + (v === null || v === undefined ? "–" : v.toFixed(2)));
    });
    chart.el.querySelector(".now").textContent = now.join("   ") + "   (max " + max.toFixed(2) + ")";
  }

  function showSessions(sessions) {
    $("session-count").textContent = "(" + sessions.length + ")";
    const counts = {};
    for (const s of sessions) {
      const tr = s.parked ? "parked" : s.transport || "?";
      counts[tr] = (counts[tr] || 0) + 1;
    }
    const ul = $("by-transport");
    ul.replaceChildren();
    for (const tr of Object.keys(counts).sort()) {
      const li = document.createElement("li");
      li.dataset.transport = tr;
      li.textContent = tr + ": " + counts[tr];
      ul.appendChild(li);
    }
    const body = $("sessions");
    body.replaceChildren();
    for (const s of sessions) {
      const tr = document.createElement("tr");
      tr.dataset.test = "session-row";
      tr.dataset.id = String(s.id);
      cell(tr, String(s.id));
      cell(tr, s.user_id).dataset.test = "session-user";
      cell(tr, s.name || "");
      cell(tr, s.parked ? "parked" : s.transport || "").dataset.test = "session-transport";
      cell(tr, s.remote || "");
      cell(tr, s.rtt_ms ? s.rtt_ms.toFixed(1) : "");
      cell(tr, (s.rooms || []).join(", "));
      button(cell(tr, ""), "kick", "kick", () => act("kick session " + s.id, "/v1/admin/sessions/" + s.id + "/kick"));
      body.appendChild(tr);
    }
    const rtts = sessions.map((s) => s.rtt_ms || 0).filter((v) => v > 0).sort((a, b) => a - b);
    const mean = rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null;
    push(charts.rtt, [mean, rtts.length ? percentile(rtts, 99) : null]);
  }

  function showRooms(data) {
    const types = data.types || {};
    const body = $("rooms");
    body.replaceChildren();
    for (const r of data.rooms || []) {
      const t = types[r.type] || {};
      const tr = document.createElement("tr");
      tr.dataset.test = "room-row";
      tr.dataset.id = String(r.id);
      cell(tr, String(r.id));
      cell(tr, r.type);
      cell(tr, r.label);
      cell(tr, r.members + " / " + r.capacity);
      cell(tr, String(r.tick_rate));
      cell(tr, String(t.ticks || 0));
      cell(tr, String(t.skipped || 0));
      cell(tr, ms((t.lateness && t.lateness.p99_ns) || 0));
      cell(tr, ms((t.tick_time && t.tick_time.p99_ns) || 0));
      button(cell(tr, ""), "close", "close-room", () => act("close room " + r.id, "/v1/admin/rooms/" + r.id + "/close"));
      body.appendChild(tr);
    }
    let worst = 0;
    for (const name of Object.keys(types)) {
      const l = types[name].lateness;
      if (l && l.p99_ns > worst) worst = l.p99_ns;
    }
    push(charts.lateness, [worst / 1e6]);
  }

  function sum(obj) {
    let n = 0;
    for (const k of Object.keys(obj || {})) if (typeof obj[k] === "number") n += obj[k];
    return n;
  }

  // showStats charts the drops per second: the engine's undelivered
  // frames plus the inputs refused before a room ("unanswered" is a
  // counter of answers, not a drop).
  function showStats(stats) {
    const roomDrops = { ...((stats.services && stats.services.rooms && stats.services.rooms.drops) || {}) };
    delete roomDrops.unanswered;
    const total = sum(stats.drops) + sum(roomDrops);
    const at = performance.now();
    if (last !== null && at > last.at) push(charts.drops, [Math.max(0, total - last.drops) / ((at - last.at) / 1000)]);
    last = { at, drops: total };
  }

  async function poll(g) {
    timer = 0;
    if (g !== gen || !token()) return;
    try {
      const [sessions, rooms, stats] = await Promise.all([
        api("GET", "/v1/admin/sessions"),
        api("GET", "/v1/admin/rooms"),
        api("GET", "/v1/stats"),
      ]);
      if (g !== gen) return;
      showSessions(sessions);
      showRooms(rooms);
      showStats(stats);
      setStatus("Live, updated " + new Date().toLocaleTimeString() + ".", false);
    } catch (err) {
      if (g !== gen) return;
      if (err instanceof AuthError) {
        sessionStorage.removeItem(tokenKey);
        setStatus("The admin token was refused: enter it again.", true);
        return;
      }
      setStatus("Poll failed: " + err.message + " (retrying).", true);
    }
    timer = setTimeout(() => poll(g), pollMs);
  }

  async function act(what, path) {
    if (!window.confirm(what + "?")) return;
    try {
      await api("POST", path, { reason: "by an operator (console)" });
      setStatus(what + ": done.", false);
    } catch (err) {
      setStatus(what + ": " + err.message, true);
    }
  }

  function start() {
    if (timer) clearTimeout(timer);
    last = null;
    for (const c of Object.values(charts)) c.lines.forEach((l) => (l.length = 0));
    setStatus("Connecting…", false);
    poll(++gen);
  }

  $("connect").addEventListener("click", () => {
    const v = $("token").value.trim();
    if (!v) return;
    sessionStorage.setItem(tokenKey, v);
    $("token").value = "";
    start();
  });
  $("token").addEventListener("keydown", (e) => {
    if (e.key === "Enter") $("connect").click();
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(tokenKey);
    if (timer) clearTimeout(timer);
    timer = 0;
    gen++;
    setStatus("Token forgotten. Enter the admin token.", false);
  });

  for (const c of Object.values(charts)) draw(c);
  if (token()) start();
})();
