/// The console's script: sign-in, hash routing, one function per page, inline SVG charts. Data
/// from the API is inserted as text nodes only; the token lives in `sessionStorage` and travels
/// in the `Authorization` header.
enum ConsoleScript {
    static let javascript = #"""
// ServerLPA operator console. Plain JavaScript, no dependencies. Every datum comes from the admin API,
// called with the bearer token held in sessionStorage (never a cookie). Text from the API is always
// inserted as text nodes, never as HTML.
"use strict";

const TOKEN_KEY = "serverlpa.console.token";
const state = { token: null, session: null, timers: [], page: null, generation: 0 };
const ROLES = ["read", "operate", "admin"];

// MARK: DOM helpers

function h(tag, attrs, ...children) {
  const svg = ["svg", "g", "line", "rect", "polyline", "text", "path", "title", "circle"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "on") { for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn); }
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const $ = (sel) => document.querySelector(sel);
function pill(value) { return h("span", { class: "pill " + (value || "none") }, value || "–"); }
function when(seconds) {
  if (seconds === undefined || seconds === null) return "–";
  const d = new Date(Number(seconds) * 1000);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
function ago(seconds) {
  if (!seconds) return "–";
  const s = Math.max(0, Math.round(Date.now() / 1000 - seconds));
  if (s < 90) return s + " s ago";
  if (s < 5400) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}
function status(text) { $("#status").textContent = text; }
function can(role) { return state.session && ROLES.indexOf(state.session.role) >= ROLES.indexOf(role); }
function table(headers, rows, id) {
  return h("table", { id },
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { class: x.endsWith("#") ? "num" : "" }, x.replace(/#$/, ""))))),
    h("tbody", {}, rows));
}
function countsTable(title, counts, id) {
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return h("div", { class: "card", id },
    h("h2", {}, title),
    entries.length ? table(["Value", "Devices#"], entries.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", { class: "num" }, v))))
      : h("p", { class: "muted" }, "none"));
}

// MARK: API

class APIError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || ("HTTP " + status));
    this.status = status; this.code = e.code; this.field = e.field;
  }
}

async function api(method, path, body) {
  const headers = { "Authorization": "Bearer " + state.token, "Accept": "application/json" };
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (response.status === 401 && path !== "/v1/session") { signOut("Your token was refused; sign in again."); }
  if (!response.ok) throw new APIError(response.status, json);
  return json;
}

function showError(where, error) {
  const text = error instanceof APIError ? `${error.code || "HTTP " + error.status}: ${error.message}` + (error.field ? ` [${error.field}]` : "") : String(error);
  where.append(h("p", { class: "error" }, text));
}

// MARK: Session

async function signIn(token) {
  state.token = token;
  const session = await api("GET", "/v1/session");
  state.session = session;
  sessionStorage.setItem(TOKEN_KEY, token);
  return session;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null; state.session = null;
  stopTimers();
  $("#main").replaceChildren();
  $("#nav").hidden = true; $("#who").hidden = true; $("#signout").hidden = true;
  $("#signin").hidden = false;
  const err = $("#signin-error");
  err.hidden = !message; err.textContent = message || "";
  $("#token").value = "";
}

function showSignedIn() {
  $("#signin").hidden = true;
  $("#nav").hidden = false; $("#signout").hidden = false;
  const who = $("#who");
  who.replaceChildren("Signed in as ", h("strong", {}, state.session.name), h("span", { class: "role", id: "role" }, state.session.role));
  who.hidden = false;
}

// MARK: Routing

function stopTimers() { for (const t of state.timers) clearInterval(t); state.timers = []; }
function every(ms, fn) { const g = state.generation; state.timers.push(setInterval(() => { if (g === state.generation) fn(); }, ms)); }

async function route() {
  if (!state.session) return;
  stopTimers();
  const hash = location.hash.replace(/^#\/?/, "") || "fleet";
  const [page, ...rest] = hash.split("/");
  const arg = rest.map(decodeURIComponent).join("/");
  for (const a of document.querySelectorAll("#nav a")) {
    const p = a.dataset.page;
    a.classList.toggle("active", p === page || (p === "fleet" && page === "device") || (p === "campaigns" && page === "campaign"));
  }
  // Each page renders into a view of its own, shown only if no newer navigation began meanwhile.
  const generation = ++state.generation;
  const main = $("#main");
  if (state.page !== page) main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  state.page = page;
  const pages = { fleet: fleetPage, device: devicePage, campaigns: campaignsPage, campaign: campaignPage, jobs: jobsPage, libraries: librariesPage };
  const render = pages[page] || fleetPage;
  const view = h("div", { id: "view", "data-page": page });
  try {
    await render(view, arg, () => generation === state.generation);
  } catch (error) {
    view.replaceChildren(h("h1", {}, "Error"));
    showError(view, error);
  }
  if (generation === state.generation) main.replaceChildren(view);
}

// MARK: Charts (inline SVG)

function presenceChart(samples) {
  const W = 860, H = 220, L = 44, R = 12, T = 12, B = 28;
  const svg = h("svg", { class: "chart", id: "presence-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "devices online and offline over time" });
  if (!samples.length) { svg.append(h("text", { x: L, y: H / 2 }, "no samples yet")); return svg; }
  const t0 = samples[0].at, t1 = Math.max(samples[samples.length - 1].at, t0 + 1);
  const ymax = Math.max(1, ...samples.map((s) => Math.max(s.online, s.offline)));
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  const y = (v) => T + (H - T - B) * (1 - v / ymax);
  const grid = h("g", { class: "grid" });
  for (let i = 0; i <= 4; i++) {
    const v = Math.round(ymax * i / 4);
    grid.append(h("line", { x1: L, x2: W - R, y1: y(v), y2: y(v) }), h("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v));
  }
  svg.append(grid);
  for (const key of ["offline", "online"]) {
    svg.append(h("polyline", { class: key, points: samples.map((s) => `${x(s.at).toFixed(1)},${y(s[key]).toFixed(1)}`).join(" ") }));
  }
  svg.append(h("text", { x: L, y: H - 8 }, when(t0)), h("text", { x: W - R, y: H - 8, "text-anchor": "end" }, when(t1)));
  return svg;
}

function heartbeatChart(windows, bands, changes) {
  const W = 860, H = 250, L = 44, R = 150, T = 12, B = 46;
  const svg = h("svg", { class: "chart", id: "heartbeat-chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "heartbeats per window with count-setting bands" });
  const ws = [...windows].sort((a, b) => a.windowStart - b.windowStart);
  if (!ws.length) { svg.append(h("text", { x: L, y: H / 2 }, "no heartbeat history")); return svg; }
  const t0 = ws[0].windowStart, t1 = Math.max(ws[ws.length - 1].windowStart + ws[ws.length - 1].windowSeconds, t0 + 1);
  const top = Math.max(1, ...ws.map((w) => w.count), ...bands.map((b) => (b.maximumCount ?? b.minimumCount) + 1));
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  const y = (v) => T + (H - T - B) * (1 - Math.min(v, top) / top);
  bands.forEach((b, i) => {
    const lo = b.minimumCount, hi = Math.min(b.maximumCount ?? top, top);
    svg.append(h("rect", { class: "band" + (i % 4), x: L, width: W - L - R, y: y(hi + (b.maximumCount == null ? 0 : 1)), height: Math.max(1, y(lo) - y(hi + (b.maximumCount == null ? 0 : 1))) }));
    svg.append(h("text", { x: W - R + 6, y: (y(lo) + y(hi + (b.maximumCount == null ? 0 : 1))) / 2 + 4 },
      `${lo}${b.maximumCount == null ? "+" : "–" + b.maximumCount}: every ${b.heartbeatIntervalSeconds} s`));
  });
  const grid = h("g", { class: "grid" });
  for (let i = 0; i <= 4; i++) {
    const v = Math.round(top * i / 4);
    grid.append(h("line", { x1: L, x2: W - R, y1: y(v), y2: y(v) }), h("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, v));
  }
  svg.append(grid);
  for (const w of ws) {
    const x0 = x(w.windowStart), x1 = x(w.windowStart + w.windowSeconds);
    svg.append(h("rect", { class: "hb", x: x0, y: y(w.count), width: Math.max(1, x1 - x0 - 1), height: y(0) - y(w.count) },
      h("title", {}, `${when(w.windowStart)}: ${w.count} heartbeats in ${w.windowSeconds} s`)));
  }
  // Presence timeline under the chart: online / offline segments from the recorded changes.
  const ordered = [...changes].sort((a, b) => a.at - b.at);
  let current = null, from = t0;
  const segY = H - B + 8;
  const seg = (s, a, b) => { if (s && b > a) svg.append(h("rect", { class: "seg-" + s, x: x(Math.max(a, t0)), y: segY, width: Math.max(1, x(Math.min(b, t1)) - x(Math.max(a, t0))), height: 8 })); };
  for (const c of ordered) { if (c.at > t0) seg(current || c.from, from, c.at); current = c.to; from = Math.max(c.at, t0); }
  seg(current, from, t1);
  svg.append(h("text", { x: L, y: H - 8 }, when(t0)), h("text", { x: W - R, y: H - 8, "text-anchor": "end" }, when(t1)),
    h("text", { x: W - R + 6, y: segY + 8 }, "presence"));
  return svg;
}

// MARK: Fleet

async function fleetPage(main) {
  const [summary, history, models, rules] = await Promise.all([
    api("GET", "/v1/fleet/summary"), api("GET", "/v1/fleet/presence-history"),
    api("GET", "/v1/device-models"), api("GET", "/v1/configuration-rules")]);
  const chartCard = h("div", { class: "card" }, h("h2", {}, "Online / offline over time"),
    h("div", { class: "legend" }, h("span", {}, h("i", { class: "online" }), "online"), h("span", {}, h("i", { class: "offline" }), "offline")),
    presenceChart(history.samples));
  const stats = h("div", { class: "stats", id: "fleet-stats" },
    stat("devices", summary.devices), stat("online", summary.byPresence.online || 0, "stat-online"), stat("offline", summary.byPresence.offline || 0, "stat-offline"));
  const list = h("div", { class: "card", id: "device-list" });
  main.replaceChildren(h("h1", {}, "Fleet"), stats, chartCard,
    h("div", { class: "grid" }, countsTable("By model", summary.byModel, "by-model"), countsTable("By presence", summary.byPresence, "by-presence"),
      countsTable("By rule", summary.byRule, "by-rule"), countsTable("By newest job", summary.byJobState, "by-job")), list);
  deviceList(list, models.deviceModels.map((m) => m.code), rules.configurationRules.map((r) => r.name));
  every(10000, async () => {
    if (state.page !== "fleet") return;
    try {
      const fresh = await api("GET", "/v1/fleet/presence-history");
      $("#presence-chart")?.replaceWith(presenceChart(fresh.samples));
    } catch (e) { status(String(e)); }
  });
}

function stat(label, n, id) { return h("div", { class: "stat", id }, h("div", { class: "n" }, n), h("div", { class: "l" }, label)); }

function deviceList(card, models, rules) {
  const q = { model: "", presence: "", rule: "", tag: "" };
  const cursors = [null];
  const search = h("input", { id: "device-search", type: "search", placeholder: "terminal ID or EID", size: 34 });
  const select = (name, values) => h("select", { id: "filter-" + name, on: { change: (e) => { q[name] = e.target.value; cursors.length = 1; load(); } } },
    h("option", { value: "" }, "any " + name), values.map((v) => h("option", { value: v }, v)));
  const tag = h("input", { id: "filter-tag", placeholder: "tag", size: 10, on: { change: (e) => { q.tag = e.target.value.trim(); cursors.length = 1; load(); } } });
  const body = h("div", {});
  const pager = h("div", { class: "pager" });
  const searchForm = h("form", { on: { submit: async (e) => {
    e.preventDefault();
    const term = search.value.trim();
    if (!term) return;
    try {
      await api("GET", "/v1/devices/" + encodeURIComponent(term) + "?limit=1");
      location.hash = "#/device/" + encodeURIComponent(term);
    } catch (error) {
      if (error.status !== 404) { status(String(error)); return; }
      // Not a terminal ID: an EID, looked up through the fleet inventory's device listing.
      const found = await findByEID(term);
      if (found) location.hash = "#/device/" + encodeURIComponent(found);
      else status(`no device with terminal ID or EID '${term}'`);
    }
  } } }, search, " ", h("button", { type: "submit" }, "Open"));
  card.replaceChildren(h("h2", {}, "Devices"), h("div", { class: "filters" }, searchForm, select("model", models), select("presence", ["online", "offline"]), select("rule", rules), tag), body, pager);
  async function load() {
    const params = new URLSearchParams({ limit: "25" });
    for (const [k, v] of Object.entries(q)) if (v) params.set(k, v);
    const cursor = cursors[cursors.length - 1];
    if (cursor) params.set("cursor", cursor);
    let page;
    try { page = await api("GET", "/v1/devices?" + params); } catch (e) { body.replaceChildren(); showError(body, e); return; }
    body.replaceChildren(table(["Terminal", "EID", "Model", "Presence", "Profile (ICCID)", "Rule", "Newest job", "Last seen"],
      page.devices.map((d) => h("tr", {},
        h("td", {}, h("a", { class: "device-link", href: "#/device/" + encodeURIComponent(d.terminalID) }, d.terminalID)),
        h("td", { class: "mono" }, d.eid || "–"), h("td", {}, d.model), h("td", {}, pill(d.presence || "offline")),
        h("td", { class: "mono" }, d.iccid || "–"), h("td", {}, d.ruleName || "–"), h("td", {}, pill(d.latestJobState)),
        h("td", {}, ago(d.lastSeen)))), "device-table"));
    pager.replaceChildren(
      h("button", { type: "button", id: "page-prev", disabled: cursors.length <= 1, on: { click: () => { cursors.pop(); load(); } } }, "← Previous"),
      h("span", { class: "muted" }, `page ${cursors.length}`),
      h("button", { type: "button", id: "page-next", disabled: !page.next, on: { click: () => { cursors.push(page.next); load(); } } }, "Next →"));
  }
  load();
}

async function findByEID(eid) {
  let cursor = null;
  for (let i = 0; i < 100; i++) {
    const params = new URLSearchParams({ limit: "1000" });
    if (cursor) params.set("cursor", cursor);
    const page = await api("GET", "/v1/devices?" + params);
    const hit = page.devices.find((d) => d.eid === eid);
    if (hit) return hit.terminalID;
    if (!page.next) return null;
    cursor = page.next;
  }
  return null;
}

// MARK: Device

async function devicePage(main, terminalID) {
  const detail = await api("GET", "/v1/devices/" + encodeURIComponent(terminalID) + "?limit=200");
  const d = detail.device;
  let bands = [];
  try { bands = (await api("GET", "/v1/count-settings/" + encodeURIComponent(d.model))).bands; } catch (e) { if (e.status !== 404) throw e; }
  const identity = h("dl", { class: "kv", id: "device-identity" });
  for (const [k, v] of [["terminal ID", d.terminalID], ["model", d.model], ["rule", d.ruleName || "–"], ["tags", (d.tags || []).join(", ") || "–"],
    ["heartbeat interval", d.heartbeatIntervalSeconds + " s"], ["history limit", d.historyLimit ?? "–"], ["registered", when(d.lastRegistered)],
    ...Object.entries(d.fields || {}).sort()]) identity.append(h("dt", {}, k), h("dd", {}, v));
  const p = detail.presence;
  const presence = h("div", { class: "card" }, h("h2", {}, "Presence"),
    h("p", {}, pill(p ? p.state : "offline"), " last seen ", p ? when(p.lastSeen) : "never", p ? ` · misses ${p.consecutiveMisses}` : ""),
    detail.presenceChanges.length ? table(["When", "From", "To", "Reason"], detail.presenceChanges.map((c) =>
      h("tr", {}, h("td", {}, when(c.at)), h("td", {}, pill(c.from)), h("td", {}, pill(c.to)), h("td", {}, c.reason))), "presence-table")
      : h("p", { class: "muted" }, "no presence changes recorded"));
  const jobs = h("div", { class: "card" }, h("h2", {}, "Jobs"),
    detail.jobs.length ? table(["Job", "State", "Attempt", "Created", "Updated", "Finished", "Round trips", "ICCID", "Error"],
      detail.jobs.map((j) => h("tr", {}, h("td", { class: "mono" }, j.id), h("td", {}, pill(j.state)), h("td", { class: "num" }, j.attempt),
        h("td", {}, when(j.createdAt)), h("td", {}, when(j.updatedAt)), h("td", {}, when(j.finishedAt)), h("td", { class: "num" }, j.roundTrips),
        h("td", { class: "mono" }, j.iccid || "–"), h("td", {}, j.errorCode ? h("span", { class: "error" }, h("code", {}, j.errorCode), " ", j.errorText || "") : "–"))), "jobs-table")
      : h("p", { class: "muted" }, "no jobs"));
  const profiles = h("div", { class: "card", id: "profiles" }, h("h2", {}, "Profiles on the eUICC"), h("p", { class: "muted" }, "asking the device…"));
  main.replaceChildren(h("h1", {}, "Device ", h("span", { class: "mono" }, d.terminalID)),
    h("div", { class: "grid" }, h("div", { class: "card" }, h("h2", {}, "Identity"), identity), presence),
    h("div", { class: "card" }, h("h2", {}, "Heartbeats per window (count-setting bands shaded)"), heartbeatChart(detail.heartbeats, bands, detail.presenceChanges)),
    jobs, profiles);
  loadProfiles(profiles, d.terminalID);
}

async function loadProfiles(card, terminalID) {
  const head = h("h2", {}, "Profiles on the eUICC");
  let list;
  try { list = await api("GET", "/v1/devices/" + encodeURIComponent(terminalID) + "/profiles"); }
  catch (e) { card.replaceChildren(head); showError(card, e); return; }
  const action = (label, method, suffix, iccid, danger) => h("button", { type: "button", class: danger ? "danger" : "", "data-action": label.toLowerCase(), "data-iccid": iccid,
    on: { click: async () => {
      if (!confirm(`${label} profile ${iccid} on ${terminalID}?`)) return;
      try { await api(method, `/v1/devices/${encodeURIComponent(terminalID)}/profiles/${iccid}${suffix}`); status(`${label}: done`); }
      catch (e) { status(`${label} refused: ${e.message}`); }
      loadProfiles(card, terminalID);
    } } }, label);
  const classes = { 0: "test", 1: "provisioning", 2: "operational" };
  card.replaceChildren(head, list.profiles.length ? table(["ICCID", "State", "Name", "Provider", "Class", ...(can("operate") ? ["Actions"] : [])],
    list.profiles.map((p) => h("tr", {}, h("td", { class: "mono" }, p.iccid), h("td", {}, pill(p.enabled ? "enabled" : "disabled")), h("td", {}, p.profileName || "–"),
      h("td", {}, p.serviceProviderName || "–"), h("td", {}, classes[p.profileClass] ?? (p.profileClass ?? "–")),
      can("operate") ? h("td", { class: "actions" },
        p.enabled ? action("Disable", "POST", "/disable", p.iccid) : action("Enable", "POST", "/enable", p.iccid),
        p.enabled ? null : action("Delete", "DELETE", "", p.iccid, true)) : null)), "profiles-table")
    : h("p", { class: "muted" }, "no profiles"));
}

// MARK: Campaigns

function progressBar(pr) {
  const total = Math.max(1, pr.total);
  return h("div", { class: "bar", title: `${pr.succeeded} succeeded, ${pr.failed} failed, ${pr.running + pr.claimed} running, ${pr.skipped} skipped of ${pr.total}` },
    ["succeeded", "failed", "running", "claimed", "skipped"].map((k) => {
      const s = h("span", { class: k });
      s.style.width = (100 * pr[k] / total) + "%";
      return s;
    }));
}

async function campaignsPage(main) {
  const list = await api("GET", "/v1/campaigns");
  const rows = (cs) => cs.map((c) => h("tr", {}, h("td", {}, h("a", { class: "campaign-link", href: "#/campaign/" + encodeURIComponent(c.id) }, c.name)),
    h("td", {}, pill(c.state)), h("td", {}, progressBar(c.progress)), h("td", { class: "num" }, `${c.progress.succeeded + c.progress.failed}/${c.progress.total}`),
    h("td", { class: "num" }, c.progress.failed), h("td", {}, when(c.createdAt))));
  const tableEl = table(["Campaign", "State", "Progress", "Done#", "Failed#", "Created"], rows(list.campaigns), "campaign-table");
  main.replaceChildren(h("h1", {}, "Campaigns"), can("operate") ? campaignForm() : h("p", { class: "muted", id: "no-create" }, "Your role (read) cannot create campaigns."),
    h("div", { class: "card" }, h("h2", {}, "All campaigns"), tableEl));
  every(3000, async () => {
    if (state.page !== "campaigns") return;
    try { const fresh = await api("GET", "/v1/campaigns"); tableEl.tBodies[0].replaceChildren(...rows(fresh.campaigns)); } catch (e) { status(String(e)); }
  });
}

function campaignForm() {
  const field = (id, label, attrs) => h("div", {}, h("label", { for: id }, label), h("input", Object.assign({ id, name: id }, attrs || {})), h("p", { class: "field-error", "data-for": id, hidden: true }));
  const result = h("p", { id: "c-preview-result", class: "muted" });
  const formError = h("p", { id: "c-form-error", class: "error", hidden: true });
  const fieldFor = { name: "c-name", "selection.tags": "c-tags", "selection.ruleName": "c-rule", "selection.terminalIDs": "c-terminals", startsPerMinute: "c-rate", canaryShare: "c-canary", selection: "c-tags",
    "requirement.smdpAddress": "c-smdp", "requirement.profileType": "c-profile-type", "requirement.matchingID": "c-matching-id", requirement: "c-smdp" };
  const body = () => {
    const split = (v) => v.split(/[\s,]+/).filter(Boolean);
    const b = { name: $("#c-name").value.trim(), selection: {} };
    if ($("#c-tags").value.trim()) b.selection.tags = split($("#c-tags").value);
    if ($("#c-rule").value.trim()) b.selection.ruleName = $("#c-rule").value.trim();
    if ($("#c-terminals").value.trim()) b.selection.terminalIDs = split($("#c-terminals").value);
    if ($("#c-rate").value) b.startsPerMinute = Number($("#c-rate").value);
    if ($("#c-canary").value) b.canaryShare = Number($("#c-canary").value);
    if ($("#c-smdp").value.trim() || $("#c-profile-type").value.trim()) {
      b.requirement = { smdpAddress: $("#c-smdp").value.trim(), profileType: $("#c-profile-type").value.trim() };
      if ($("#c-matching-id").value.trim()) b.requirement.matchingID = $("#c-matching-id").value.trim();
    }
    return b;
  };
  const clearErrors = () => { for (const e of document.querySelectorAll("#campaign-form .field-error")) { e.hidden = true; e.textContent = ""; }
    for (const e of document.querySelectorAll("#campaign-form .invalid")) e.classList.remove("invalid"); formError.hidden = true; };
  const fieldError = (error) => {
    const key = error.field ? Object.keys(fieldFor).sort((a, b) => b.length - a.length).find((k) => error.field === k || error.field.startsWith(k + ".") || error.field.startsWith(k + "[")) : null;
    const target = key ? document.querySelector(`#campaign-form .field-error[data-for="${fieldFor[key]}"]`) : null;
    if (target) { target.textContent = error.message; target.hidden = false; $("#" + fieldFor[key]).classList.add("invalid"); }
    else { formError.textContent = error.message + (error.field ? ` [${error.field}]` : ""); formError.hidden = false; }
  };
  const preview = async () => {
    clearErrors();
    try { const p = await api("POST", "/v1/campaigns/preview", body()); result.textContent = `${p.selected} devices selected (${p.canary} in the canary stage)`; result.dataset.selected = p.selected; }
    catch (e) { result.textContent = ""; fieldError(e); }
  };
  return h("div", { class: "card" }, h("h2", {}, "New campaign"),
    h("form", { id: "campaign-form", on: { submit: async (e) => {
      e.preventDefault(); clearErrors();
      try { const c = await api("POST", "/v1/campaigns", body()); location.hash = "#/campaign/" + encodeURIComponent(c.id); }
      catch (err) { fieldError(err); }
    } } },
      h("div", { class: "row" }, field("c-name", "Name", { required: true, placeholder: "Pilot wave" }), field("c-tags", "Tags (all of)", { placeholder: "pilot" }),
        field("c-rule", "Rule", { placeholder: "rule name" })),
      h("div", { class: "row" }, field("c-terminals", "Terminal IDs", { placeholder: "T-1 T-2 …" }), field("c-rate", "Starts per minute", { type: "number", min: 1 }),
        field("c-canary", "Canary share (0–1)", { type: "number", min: 0, max: 1, step: "0.01" })),
      h("p", { class: "muted" }, "Profile to download: leave empty to use each device's own rule, or name an SM-DP+ and profile type."),
      h("div", { class: "row" }, field("c-smdp", "SM-DP+ address", { placeholder: "smdp.example:443" }), field("c-profile-type", "Profile type", {}),
        field("c-matching-id", "Matching ID", {})),
      formError,
      h("div", { class: "row" }, h("div", {}, h("button", { type: "button", id: "c-preview", on: { click: preview } }, "Preview selection"), " ",
        h("button", { type: "submit", id: "c-create" }, "Create and start")), h("div", {}, result))));
}

async function campaignPage(main, id) {
  const card = h("div", { class: "card", id: "campaign-detail" });
  const outcomes = h("div", { class: "card", id: "campaign-outcomes" });
  const failures = h("div", { class: "card", id: "campaign-failures" });
  let filter = "";
  let last = null;
  const nameEl = h("span", { id: "campaign-name" }, id);
  main.replaceChildren(h("h1", {}, h("a", { href: "#/campaigns" }, "Campaigns"), " / ", nameEl), card, outcomes, failures);
  async function refresh() {
    const params = new URLSearchParams({ limit: "200" });
    if (filter) params.set("state", filter);
    const detail = await api("GET", "/v1/campaigns/" + encodeURIComponent(id) + "?" + params);
    const c = detail.campaign, pr = c.progress;
    const now = Date.now() / 1000;
    const done = pr.succeeded + pr.failed + pr.skipped;
    let rate = "";
    if (last && now > last.t) rate = `${(60 * (done - last.done) / (now - last.t)).toFixed(1)} finished/min`;
    last = { t: now, done };
    nameEl.textContent = c.name;
    const canary = pr.canary || {};
    const canaryTotal = Object.values(canary).reduce((a, b) => a + b, 0);
    const canaryDone = (canary.succeeded || 0) + (canary.failed || 0) + (canary.skipped || 0);
    const stage = canaryTotal === 0 ? "no canary" : canaryDone < canaryTotal ? `canary: ${canaryDone}/${canaryTotal} done` : ((canary.failed || 0) > 0 ? "canary failed" : "canary passed; main stage");
    const ctl = (label, action, enabled) => can("operate") && enabled ? h("button", { type: "button", id: "c-" + action, class: action === "cancel" ? "danger" : "",
      on: { click: async () => {
        if (action === "cancel" && !confirm(`Cancel campaign ${c.name}? Targets not started are skipped.`)) return;
        try { await api("POST", `/v1/campaigns/${encodeURIComponent(id)}/${action}`); status(`${label}: done`); } catch (e) { status(`${label} refused: ${e.message}`); }
        refresh();
      } } }, label) : null;
    card.replaceChildren(
      h("p", {}, "State ", h("span", { id: "campaign-state", "data-state": c.state }, pill(c.state)), c.pauseReason ? ` (${c.pauseReason})` : "",
        " · ", h("span", { id: "campaign-stage" }, stage), " · limit ", c.startsPerMinute, " starts/min", rate ? " · " + rate : ""),
      h("div", { id: "campaign-progress", "data-total": pr.total, "data-succeeded": pr.succeeded, "data-failed": pr.failed }, progressBar(pr)),
      h("div", { class: "stats" }, ["total", "pending", "claimed", "running", "succeeded", "failed", "skipped"].map((k) => stat(k, pr[k] ?? pr.total, "count-" + k))),
      h("div", { class: "actions" }, ctl("Pause", "pause", c.state === "running"), ctl("Resume", "resume", c.state === "paused"),
        ctl("Cancel", "cancel", ["running", "paused", "draft"].includes(c.state)), ctl("Start", "start", c.state === "draft")));
    const select = h("select", { id: "outcome-filter", on: { change: (e) => { filter = e.target.value; refresh(); } } },
      h("option", { value: "" }, "every state"), ["pending", "claimed", "running", "succeeded", "failed", "skipped"].map((s) => h("option", { value: s, selected: s === filter }, s)));
    outcomes.replaceChildren(h("h2", {}, "Per-device outcomes"), h("div", { class: "filters" }, select),
      table(["Terminal", "Phase", "State", "Attempts", "Job", "Last error", "Updated"], detail.targets.map((t) => h("tr", {},
        h("td", {}, h("a", { href: "#/device/" + encodeURIComponent(t.terminalID) }, t.terminalID)), h("td", {}, t.phase), h("td", {}, pill(t.state)),
        h("td", { class: "num" }, t.attempts), h("td", { class: "mono" }, t.jobID || "–"), h("td", {}, t.lastError || "–"), h("td", {}, when(t.updatedAt)))), "outcome-table"));
    // Failures grouped by error code (the code is the first word of lastError).
    const failed = filter === "failed" ? detail.targets : (pr.failed ? (await api("GET", `/v1/campaigns/${encodeURIComponent(id)}?state=failed&limit=1000`)).targets : []);
    const groups = {};
    for (const t of failed) { const code = (t.lastError || "(none)").split(/[:\s]/)[0]; groups[code] = (groups[code] || 0) + 1; }
    failures.replaceChildren(h("h2", {}, "Failures by error code"), Object.keys(groups).length
      ? table(["Code", "Devices#"], Object.entries(groups).sort((a, b) => b[1] - a[1]).map(([k, v]) => h("tr", {}, h("td", {}, h("code", {}, k)), h("td", { class: "num" }, v))), "failure-table")
      : h("p", { class: "muted" }, "no failures"));
    status(`updated ${new Date().toLocaleTimeString()}`);
  }
  await refresh();
  every(2000, () => { if (state.page === "campaign") refresh().catch((e) => status(String(e))); });
}

// MARK: Jobs

async function jobsPage(main) {
  const active = h("div", { class: "card", id: "active-jobs" });
  const failures = h("div", { class: "card", id: "failures" });
  let period = 86400;
  const countsEl = h("div", { class: "stats", id: "job-counts" });
  main.replaceChildren(h("h1", {}, "Jobs"), countsEl, active, failures);
  async function refresh() {
    const [counts, list, report] = await Promise.all([api("GET", "/v1/jobs/counts"), api("GET", "/v1/jobs/active"),
      api("GET", "/v1/jobs/failures?since=" + Math.max(0, Math.floor(Date.now() / 1000) - period))]);
    countsEl.replaceChildren(...Object.entries(counts.counts).filter(([, v]) => v > 0).map(([k, v]) => stat(k, v, "jobs-" + k)));
    const byStep = {};
    for (const j of list.jobs) (byStep[j.state] = byStep[j.state] || []).push(j);
    active.replaceChildren(h("h2", {}, `Active downloads by step (${list.jobs.length})`),
      list.jobs.length ? table(["Step", "Jobs#", "Oldest started", "Examples"], Object.entries(byStep).map(([s, js]) => h("tr", {}, h("td", {}, pill(s)),
        h("td", { class: "num" }, js.length), h("td", {}, ago(Math.min(...js.map((j) => j.createdAt)))),
        h("td", {}, js.slice(0, 3).map((j) => h("a", { href: "#/device/" + encodeURIComponent(j.terminalID), class: "mono" }, j.terminalID + " "))))), "active-table")
        : h("p", { class: "muted" }, "no active downloads"));
    const select = h("select", { id: "failure-period", on: { change: (e) => { period = Number(e.target.value); refresh(); } } },
      [[3600, "last hour"], [86400, "last 24 hours"], [604800, "last 7 days"], [2592000, "last 30 days"]].map(([v, l]) => h("option", { value: v, selected: v === period }, l)));
    failures.replaceChildren(h("h2", {}, "Failures by error code"), h("div", { class: "filters" }, select, h("span", { class: "muted" }, `${report.total} failed jobs${report.truncated ? " (newest only)" : ""}`)),
      report.groups.length ? table(["Code", "Jobs#", "Newest", "Example"], report.groups.map((g) => h("tr", {}, h("td", {}, h("code", {}, g.code)),
        h("td", { class: "num" }, g.count), h("td", {}, when(g.lastAt)), h("td", {}, h("span", { class: "mono" }, g.exampleJobID), " ", g.exampleText || ""))), "failure-code-table")
        : h("p", { class: "muted" }, "no failures in this period"));
  }
  await refresh();
  every(5000, () => { if (state.page === "jobs") refresh().catch((e) => status(String(e))); });
}

// MARK: Libraries

const LIBRARIES = [
  { id: "models", title: "Device models", path: "/v1/device-models", list: "deviceModels", key: "code" },
  { id: "rules", title: "Configuration rules", path: "/v1/configuration-rules", list: "configurationRules", key: "name" },
  { id: "count-settings", title: "Count settings", path: "/v1/count-settings", list: "countSettings", key: "model" },
];

async function librariesPage(main) {
  const editable = can("admin");
  main.replaceChildren(h("h1", {}, "Libraries"),
    h("p", { class: "muted", id: "library-mode" }, editable ? "Your role (admin) may edit; the API validates each change like a library file." : `Read-only: your role (${state.session.role}) cannot change libraries.`));
  for (const lib of LIBRARIES) {
    const data = await api("GET", lib.path);
    const section = h("div", { class: "card", id: "lib-" + lib.id }, h("h2", {}, lib.title));
    for (const entry of data[lib.list]) section.append(libraryEntry(lib, entry, editable));
    if (!data[lib.list].length) section.append(h("p", { class: "muted" }, "none"));
    main.append(section);
  }
}

function libraryEntry(lib, entry, editable) {
  const key = entry[lib.key];
  const view = h("pre", { class: "json" }, JSON.stringify(entry, null, 2));
  const box = h("div", { class: "entry", "data-key": key },
    h("div", { class: "entry-head" }, h("span", { class: "name" }, key),
      editable ? h("button", { type: "button", class: "edit", on: { click: () => box.replaceWith(libraryForm(lib, entry, editable)) } }, "Edit") : null), view);
  return box;
}

// A form with one input per top-level scalar and a JSON text area per nested value; the API's
// error is shown under the input its `field` names.
function libraryForm(lib, entry, editable) {
  const inputs = {};
  const rows = Object.entries(entry).map(([k, v]) => {
    const scalar = v === null || ["string", "number", "boolean"].includes(typeof v);
    const input = scalar
      ? h("input", { name: k, "data-field": k, "data-type": typeof v, value: v === null ? "" : String(v), readonly: k === lib.key })
      : h("textarea", { name: k, "data-field": k, "data-type": "json" }, JSON.stringify(v, null, 2));
    inputs[k] = input;
    return h("div", { class: "form-field" }, h("label", {}, k), input, h("p", { class: "field-error", "data-for": k, hidden: true }));
  });
  const formError = h("p", { class: "error form-error", hidden: true });
  const form = h("form", { class: "library-form", "data-key": entry[lib.key], on: { submit: async (e) => {
    e.preventDefault();
    for (const p of form.querySelectorAll(".field-error")) { p.hidden = true; p.textContent = ""; }
    for (const i of form.querySelectorAll(".invalid")) i.classList.remove("invalid");
    formError.hidden = true;
    const body = {};
    for (const [k, input] of Object.entries(inputs)) {
      const t = input.dataset.type, raw = input.value;
      try {
        body[k] = t === "number" ? (raw.trim() === "" || isNaN(Number(raw)) ? raw : Number(raw)) : t === "boolean" ? raw === "true" : t === "json" ? JSON.parse(raw) : raw;
      } catch (err) { return mark(k, "not valid JSON: " + err.message); }
    }
    try {
      const saved = await api("PUT", `${lib.path}/${encodeURIComponent(entry[lib.key])}`, body);
      form.replaceWith(libraryEntry(lib, saved, editable));
      status(`${lib.title}: '${entry[lib.key]}' saved`);
    } catch (error) {
      if (!(error instanceof APIError)) throw error;
      const top = error.field ? error.field.split(/[.\[]/)[0] : null;
      if (top && inputs[top]) mark(top, (error.field !== top ? error.field + ": " : "") + error.message + (error.code ? ` (${error.code})` : ""));
      else { formError.textContent = `${error.code}: ${error.message}` + (error.field ? ` [${error.field}]` : ""); formError.hidden = false; }
    }
  } } }, rows, formError, h("div", { class: "actions" }, h("button", { type: "submit" }, "Save"),
    h("button", { type: "button", on: { click: () => form.replaceWith(libraryEntry(lib, entry, editable)) } }, "Cancel")));
  function mark(k, message) {
    const p = form.querySelector(`.field-error[data-for="${CSS.escape(k)}"]`);
    p.textContent = message; p.hidden = false; inputs[k].classList.add("invalid");
  }
  return h("div", { class: "entry" }, form);
}

// MARK: Start

document.addEventListener("DOMContentLoaded", async () => {
  $("#signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const token = $("#token").value.trim();
    try {
      await signIn(token);
      showSignedIn();
      if (!location.hash || location.hash === "#/fleet") { history.replaceState(null, "", "#/fleet"); }
      await route();
    }
    catch (error) { signOut(error instanceof APIError && error.status === 401 ? "Unknown token." : String(error.message || error)); }
  });
  $("#signout").addEventListener("click", () => signOut());
  window.addEventListener("hashchange", route);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    try { await signIn(saved); showSignedIn(); await route(); return; } catch (e) { /* fall through to sign-in */ }
  }
  signOut();
});
"""#
}
