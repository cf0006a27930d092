// The operator console: the admin API (/admin/v1) from a browser tab, authenticated as
// scimctl is, with an operator token in the Authorization header. The token stays in
// this tab's sessionStorage; no cookie carries it, so no other site can make the
// browser send it. One view at a time, chosen by the address's fragment (#overview,
// #directories, #directory/<id>, #requests, #audit, #parked, #dead-letters); only the
// view shown refreshes.

import { $, el, table, when, say, copy, request, inspection, show, target, sent, confirming } from "./common.js";

const TOKEN = "scim-console-token";
const NAME = "scim-console-name";
const REFRESH_MS = 10000;
const PAGE = 100;
let refreshing = null;
// Every directory by id, for names beside ids wherever a directory is shown.
let directories = new Map();

function api(method, path, body) {
  const name = sessionStorage.getItem(NAME) || "operator";
  return request(method, "/admin/v1" + path, body, {
    Authorization: "Bearer " + sessionStorage.getItem(TOKEN),
    "X-Admin-Actor": `${name} (console)`,
  });
}

function seconds(s) {
  if (s < 1) return "none";
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

// A directory as every list names it: its name and the start of its id.
function directoryLabel(id) {
  const d = directories.get(id);
  const short = String(id).slice(0, 8);
  return d ? `${d.name} (${short}…)` : `${short}… (deleted)`;
}

function directoryLink(id) {
  if (!id) return "";
  return directories.has(id) ? el("a", { href: `#directory/${id}`, text: directoryLabel(id) }) : directoryLabel(id);
}

const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();

// --- signing in ----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const message = $("sign-in").querySelector(".message");
  sessionStorage.setItem(TOKEN, $("operator-token").value.trim());
  sessionStorage.setItem(NAME, $("operator-name").value.trim() || "operator");
  $("operator-token").value = "";
  try {
    await enter();
    say(message, "");
  } catch (e) {
    sessionStorage.removeItem(TOKEN);
    say(message, e.status === 401 ? "That operator token is not accepted." : e.message);
    $("operator-token").focus();
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(NAME);
  clearTimeout(refreshing);
  $("console").hidden = true;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("signed-in").textContent = "";
  $("sign-in-section").hidden = false;
  $("operator-token").focus();
}

async function enter() {
  await loadDirectories();
  $("sign-in-section").hidden = true;
  $("console").hidden = false;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("signed-in").textContent = `Signed in as ${sessionStorage.getItem(NAME)}`;
  await route(true);
}

// --- views -----------------------------------------------------------------------------

const VIEWS = {
  overview: () => loadOverview(),
  directories: () => renderDirectories(),
  directory: (id) => loadDirectory(id),
  requests: () => showRequests(),
  audit: () => showAudit(),
  parked: () => loadParked(),
  "dead-letters": () => loadDeadLetters(),
};
// Views that follow the service by themselves while shown.
const LIVE = new Set(["overview", "directory"]);

async function route(focus) {
  clearTimeout(refreshing);
  const [name, arg] = (location.hash.slice(1) || "overview").split("/");
  const view = VIEWS[name] ? name : "overview";
  for (const section of document.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== view;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.getAttribute("href") === `#${view}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  // Focus moves to the view's heading, so keyboard and screen reader users land in it.
  if (focus) document.querySelector(`[data-view="${view}"] h2`).focus();
  try { await VIEWS[view](arg); } catch (e) {
    if (e.status === 401) { signOut(); return; }
  }
  if (LIVE.has(view)) refreshing = setTimeout(() => route(false), REFRESH_MS);
}

// --- overview ----------------------------------------------------------------------------

async function loadOverview() {
  const pipeline = await api("GET", "/pipeline");
  $("outbox-waiting").textContent = pipeline.outbox.waiting;
  $("outbox-oldest").textContent = seconds(pipeline.outbox.oldest_seconds);
  $("outbox-parked").textContent = pipeline.outbox.parked;
  $("dead-letter-count").textContent = pipeline.dead_letters;
  $("consumers").replaceChildren(table("Consumers of the events stream", [
    ["Consumer", (c) => c.name],
    ["Not yet delivered", (c) => c.pending],
    ["Awaiting acknowledgement", (c) => c.ack_pending],
  ], pipeline.consumers, "No consumer yet: is the worker running?"));
}

// --- directories ---------------------------------------------------------------------------

let rates = new Map();

async function loadDirectories() {
  const [all, errorRates] = await Promise.all([api("GET", "/directories"), api("GET", "/error-rates")]);
  directories = new Map(all.map((d) => [d.id, d]));
  rates = new Map(errorRates.map((r) => [r.directory_id, r]));
  for (const select of document.querySelectorAll(".directory-choice")) {
    const keep = select.value;
    const fixed = [...select.options].filter((o) => o.value === "");
    select.replaceChildren(...fixed, ...all.map((d) => el("option", { value: d.id, text: `${d.name} (${d.id})` })));
    if (keep) select.value = keep;
  }
}

function errorRate(id) {
  const r = rates.get(id);
  if (!r || r.requests === 0) return "no requests";
  return `${Math.round((100 * r.errors) / r.requests)}% (${r.errors} of the last ${r.requests})`;
}

async function renderDirectories() {
  await loadDirectories();
  const term = $("directory-search").value.trim().toLowerCase();
  const shown = [...directories.values()].filter((d) => !term || d.name.toLowerCase().includes(term) || d.id.includes(term));
  $("directory-list").replaceChildren(table("Directories", [
    ["Name", (d) => el("a", { href: `#directory/${d.id}`, text: d.name })],
    ["Id", (d) => el("code", { text: d.id })],
    ["Provider", (d) => d.idp],
    ["Users", (d) => `${d.active_users} active of ${d.users}`],
    ["Groups", (d) => d.groups],
    ["Teams", (d) => `${d.teams} (${d.team_mode})`],
    ["Last request", (d) => when(d.last_request_at)],
    ["Errors", (d) => errorRate(d.id)],
  ], shown, term ? "No directory matches." : "No directory yet: create one below."));
}

async function createDirectory(event) {
  event.preventDefault();
  const message = $("create-directory").querySelector(".message");
  say(message, "");
  try {
    const created = await api("POST", "/directories", { name: $("new-name").value.trim(), idp: $("new-idp").value });
    $("new-name").value = "";
    await loadDirectories();
    // The new directory's own page: its one-time token, and its setup link form.
    location.hash = `#directory/${created.id}`;
    $("created-url").value = created.scim_base_url;
    $("created-token").value = created.token.token;
    $("created").hidden = false;
    $("created").dataset.directory = created.id;
  } catch (e) { say(message, e.message); }
}

// --- one directory ---------------------------------------------------------------------------

let current = null;
// Loads of the directory's page under way: only the newest one renders, so a slow
// refresh started earlier never paints over a newer one.
let loads = 0;

async function loadDirectory(id) {
  const load = ++loads;
  if (current !== id) {
    current = id;
    for (const node of ["issued"]) $(node).hidden = true;
    for (const form of ["issue-link", "delete-directory"]) say($(form).querySelector(".message"), "");
    say($("link-message"), "");
    say($("token-message"), "");
    say($("pause-message"), "");
    say($("reconcile-message"), "");
    $("reconcile-result").replaceChildren();
    say($("hold-message"), "");
    $("delete-confirm").value = "";
  }
  $("created").hidden = $("created").dataset.directory !== id;
  const [d, hold, tokens, links, teams, roles, roleMappings, errors, parked, audit, errorRates] = await Promise.all([
    api("GET", `/directories/${id}`), api("GET", `/directories/${id}/hold`),
    api("GET", `/directories/${id}/tokens`),
    api("GET", `/directories/${id}/setup-links`), api("GET", `/directories/${id}/teams`),
    api("GET", `/directories/${id}/roles`), api("GET", `/directories/${id}/role-mappings`),
    api("GET", `/directories/${id}/requests?status=errors&limit=10`),
    api("GET", `/outbox/parked?directory=${id}`), api("GET", `/audit?directory=${id}&limit=10`),
    api("GET", "/error-rates"),
  ]);
  if (load !== loads) return;
  directories.set(d.id, d);
  rates = new Map(errorRates.map((r) => [r.directory_id, r]));
  $("directory-heading").textContent = `Directory ${d.name}`;
  $("directory-id").textContent = `Id ${d.id} · ${d.idp} · created ${when(d.created_at)} · SCIM base URL ${d.scim_base_url}`;
  $("directory-counts").replaceChildren(...[
    ["Users", `${d.active_users} active of ${d.users}`], ["Groups", d.groups], ["Teams", d.teams],
    ["Last request", when(d.last_request_at)], ["Errors", errorRate(d.id)],
  ].map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: String(v) }))));
  $("directory-settings").textContent = `Team mode ${d.team_mode}`
    + (d.team_attribute ? ` (attribute ${d.team_attribute})` : "")
    + (d.mirror_pattern ? ` (groups matching ${d.mirror_pattern})` : "")
    + ` · trusted domains: ${d.trusted_domains.join(", ") || "any"} · seat limit: ${d.seat_limit ?? "none"}`
    + ` · hold: ${d.hold_policy ? `past ${d.hold_policy.min_members} members and ${d.hold_policy.share_percent} %` : "off"}`;
  const state = inspection(d.inspect_until);
  $("inspection-state").textContent = state.text;
  $("inspection-toggle").textContent = state.button;
  $("inspection-toggle").dataset.minutes = state.minutes;
  $("all-requests").href = "#requests";
  $("all-requests").dataset.directory = d.id;

  renderHold(d, hold);
  $("pause-state").textContent = d.paused_at
    ? `Paused since ${when(d.paused_at)}: the identity provider is answered and the directory records what it sends, but members and teams stay as they are until resumed.`
    : "Running: what the identity provider sends reaches members and teams.";
  $("pause-state").className = d.paused_at ? "warning" : "";
  $("pause-toggle").textContent = d.paused_at ? "Resume provisioning" : "Pause provisioning";

  show($("link-list"), links, () => table("Setup links", [
    ["Link", (l) => el("code", { text: l.id })],
    ["State", linkState],
    ["Expires", (l) => when(l.expires_at)],
    ["First opened", (l) => when(l.first_used_at)],
    ["Controls", (l) => l.allow_controls ? "may change access rules and team mode, decide holds" : "teams and tokens only"],
    ["", (l) => linkState(l) === "live" ? confirming(
      el("button", { type: "button", class: "danger", text: "Revoke", "aria-label": `Revoke setup link ${l.id}` }),
      "Confirm revoke", () => revokeLink(d.id, l)) : ""],
  ], links, "No setup link issued."));

  show($("token-list"), tokens, () => table("Tokens", [
    ["Token", (t) => el("code", { text: t.prefix + "…" })],
    ["Origin", (t) => ({ directory_created: "with the directory", operator: "by an operator", setup_link: "on the setup page" }[t.origin] || "earlier")],
    ["Created", (t) => when(t.created_at)],
    ["Last used", (t) => when(t.last_used_at)],
    ["Expires", (t) => t.expires_at ? when(t.expires_at) : "never"],
    ["State", (t) => t.revoked_at ? `revoked ${when(t.revoked_at)}` : "live"],
    ["", (t) => t.revoked_at ? "" : confirming(
      el("button", { type: "button", class: "danger", text: "Revoke", "aria-label": `Revoke token ${t.prefix}` }),
      "Confirm revoke", () => revokeToken(d.id, t))],
  ], tokens, "No token."));

  show($("team-list"), teams, () => table("Teams", [
    ["Team", (t) => t.name],
    ["Groups", (t) => t.groups.join(", ") || (t.mirrors ? "mirrors its group" : "none")],
  ], teams, "No teams."));
  const mapped = (role) => Object.entries(roleMappings.groups).filter(([, r]) => r === role).map(([g]) => g);
  show($("role-list"), roles.roles, () => table("Roles, highest first", [
    ["Role", (r) => r.display_name + (r.id === roles.default_role ? " (default)" : "")],
    ["Value", (r) => el("code", { text: r.id })],
    ["Groups", (r) => mapped(r.id).join(", ") || "none"],
  ], roles.roles, "No roles."));
  show($("recent-errors"), errors, () => requestTable("Newest errors", errors, "No errors."));
  show($("directory-parked"), parked, () => parkedTable(parked, "Nothing set aside."));
  show($("directory-audit"), audit, () => auditTable("Newest admin actions", audit, "No action recorded."));
}

// The directory's deprovisioning hold: its policy, and an open hold's members with the
// decision.
function renderHold(d, status) {
  const h = status.hold;
  const p = status.policy;
  $("hold-state").className = h ? "warning" : "";
  $("hold-state").textContent = h
    ? `Held since ${when(h.since)}: ${h.deactivations} deactivations, ${h.removals} deletions and ${h.team_removals} members leaving teams wait for a decision. Why: ${h.reason}.`
    : p ? `Nothing held. Deprovisioning is held past more than ${p.min_members} members and more than ${p.share_percent} % of the active members within ${status.window_minutes} minutes.`
      : "Nothing held. The hold is off: every deactivation and deletion takes effect.";
  show($("held-list"), h && h.held, () => h ? table(
    h.next_after ? `The first ${h.held.length} of ${h.deactivations + h.removals + h.team_removals} members held` : "Members held", [
      ["Email", (m) => m.email || "(none)"],
      ["SCIM user", (m) => el("code", { text: m.scim_user_id })],
      ["Identity provider asked", (m) => ({ remove: "delete", deactivate: "deactivate", leave_teams: `leave ${m.teams.join(", ")}` })[m.change]],
      ["Held since", (m) => when(m.held_at)],
    ], h.held) : []);
  const decide = (how, label, done) => confirming(
    el("button", { type: "button", class: how === "apply" ? "danger" : "", text: label, "data-action": how }),
    `Confirm: ${label.toLowerCase()}`, async () => {
      try {
        await api("POST", `/directories/${d.id}/hold/${how}`);
        say($("hold-message"), done, "ok");
      } catch (e) { say($("hold-message"), e.message); }
      await loadDirectory(d.id);
    });
  show($("hold-actions"), Boolean(h), () => h ? [
    decide("keep", "Keep their access", "Kept: the held members keep their access."),
    decide("apply", "Apply the held changes", "Applied: the held members were deprovisioned."),
  ] : []);
}

function linkState(l) {
  if (l.revoked_at) return "revoked";
  return new Date(l.expires_at) <= new Date() ? "expired" : "live";
}

async function revokeLink(dir, link) {
  try {
    await api("DELETE", `/directories/${dir}/setup-links/${link.id}`);
    say($("link-message"), `Setup link ${link.id} revoked: it opens nothing, and pages open with it are signed out.`, "ok");
  } catch (e) { say($("link-message"), e.message); }
  await loadDirectory(dir);
  $("issue-link").querySelector("button").focus();
}

async function revokeToken(dir, token) {
  try {
    await api("DELETE", `/directories/${dir}/tokens/${token.id}`);
    say($("token-message"), `Token ${token.prefix}… revoked: it no longer works.`, "ok");
  } catch (e) { say($("token-message"), e.message); }
  await loadDirectory(dir);
}

const MEMBER_CHANGES = { created: "create", updated: "update", deactivated: "deactivate", reactivated: "reactivate", removed: "remove" };

// A reconciliation: what differed (or would), member by member, and in teams.
function reconciliationView(r) {
  const nodes = [el("p", { text: r.changed === 0
    ? `Every member record matches the directory${r.dry_run ? ": nothing would change" : ""}.`
    : `${r.changed} member records ${r.dry_run ? "differ" : "differed"} from the directory (${r.held} held by the hold).` })];
  if (r.members.length) {
    nodes.push(table(r.dry_run ? "Members that would change" : "Members changed", [
      ["Email", (m) => m.email || "(none)"],
      ["Change", (m) => MEMBER_CHANGES[m.change] + (m.held ? " (held)" : "")],
      ["SCIM user", (m) => el("code", { text: m.scim_user_id })],
    ], r.members));
  }
  const teams = [
    ...Object.entries(r.teams.joined).map(([t, who]) => `join ${t}: ${who.join(", ")}`),
    ...Object.entries(r.teams.left).map(([t, who]) => `leave ${t}: ${who.join(", ")}`),
  ];
  nodes.push(teams.length ? el("ul", {}, ...teams.map((t) => el("li", { text: t })))
    : el("p", { text: "No team membership changes." }));
  return nodes;
}

async function previewReconcile() {
  const dir = current;
  say($("reconcile-message"), "");
  try {
    const r = await api("POST", `/directories/${dir}/reconcile/preview`);
    const apply = confirming(el("button", { type: "button", class: "danger", text: "Apply reconcile" }),
      "Confirm: apply reconcile", async () => {
        try {
          const done = await api("POST", `/directories/${dir}/reconcile`);
          $("reconcile-result").replaceChildren(...reconciliationView(done));
          say($("reconcile-message"), "Reconciled: members and teams now follow the directory.", "ok");
        } catch (e) { say($("reconcile-message"), e.message); }
      });
    $("reconcile-result").replaceChildren(...reconciliationView(r), ...(r.changed || Object.keys(r.teams.joined).length || Object.keys(r.teams.left).length ? [apply] : []));
  } catch (e) { say($("reconcile-message"), e.message); }
}

async function togglePause() {
  const d = directories.get(current);
  const how = d && d.paused_at ? "resume" : "pause";
  try {
    await api("POST", `/directories/${current}/${how}`);
    say($("pause-message"), how === "pause"
      ? "Paused: members and teams stay as they are."
      : "Resumed: members and teams are being recomputed from the directory.", "ok");
  } catch (e) { say($("pause-message"), e.message); }
  await loadDirectory(current);
}

async function toggleInspection() {
  try {
    await api("PUT", `/directories/${current}/inspection`, { minutes: Number($("inspection-toggle").dataset.minutes) });
  } catch (e) { $("inspection-state").textContent = e.message; return; }
  await loadDirectory(current);
}

async function issueLink(event) {
  event.preventDefault();
  const message = $("issue-link").querySelector(".message");
  say(message, "");
  const hours = Number($("link-hours").value || 72);
  const expires = new Date(Date.now() + hours * 3600 * 1000).toISOString();
  try {
    const issued = await api("POST", `/directories/${current}/setup-links`,
      { expires_at: expires, allow_controls: $("link-controls").checked });
    $("issued-url").value = issued.url;
    $("issued").hidden = false;
    say(message, `Setup link for ${directoryLabel(current)}, expires ${when(issued.expires_at)}. Shown only now.`, "ok");
    await loadDirectory(current);
  } catch (e) { say(message, e.message); }
}

async function deleteDirectory(event) {
  event.preventDefault();
  const message = $("delete-directory").querySelector(".message");
  const d = directories.get(current);
  if (!d || $("delete-confirm").value.trim() !== d.name) {
    say(message, `Type ${d ? d.name : "the directory's name"} exactly to delete it.`);
    $("delete-confirm").focus();
    return;
  }
  try {
    const deleted = await api("DELETE", `/directories/${current}`);
    const removed = deleted.removed || {};
    await loadDirectories();
    location.hash = "#directories";
    say($("create-directory").querySelector(".message"),
      `Directory ${d.name} deleted: ${removed.users ?? 0} users deprovisioned, ${removed.groups ?? 0} groups and ${removed.teams ?? 0} teams removed.`, "ok");
  } catch (e) { say(message, e.message); }
}

// --- logs --------------------------------------------------------------------------------

function requestTable(caption, rows, empty) {
  return table(caption, [
    ["Time", (r) => when(r.at)],
    ["Request", (r) => `${r.method} ${target(r)}`],
    ["Status", (r) => String(r.status)],
    ["ms", (r) => r.duration_ms.toFixed(1)],
    ["Detail", (r) => {
      const box = el("span", { text: r.detail || "" });
      const body = sent(r);
      if (body) box.append(body);
      return box;
    }],
  ], rows, empty);
}

let requestRows = [];

async function showRequests(more = false) {
  const message = $("requests").querySelector(".message");
  say(message, "");
  const dir = $("requests-directory").value;
  if (!dir) { $("request-list").replaceChildren(); return; }
  const before = more && requestRows.length ? requestRows[requestRows.length - 1].at : null;
  try {
    const rows = await api("GET", `/directories/${dir}/requests?` + query({
      status: $("requests-status").value, search: $("requests-search").value.trim(), before, limit: PAGE,
    }));
    requestRows = more ? requestRows.concat(rows) : rows;
    $("request-list").replaceChildren(requestTable(`Requests of ${directoryLabel(dir)}, newest first`, requestRows, "No request matches."));
    $("requests-more").hidden = rows.length < PAGE;
  } catch (e) { say(message, e.message); }
}

function auditTable(caption, rows, empty) {
  return table(caption, [
    ["Time", (r) => when(r.at)],
    ["Directory", (r) => directoryLink(r.directory_id)],
    ["Actor", (r) => r.actor],
    ["Action", (r) => r.action],
    ["Details", (r) => el("code", { text: JSON.stringify(r.details) })],
  ], rows, empty);
}

let auditRows = [];

async function showAudit(more = false) {
  const message = $("audit").querySelector(".message");
  say(message, "");
  const before = more && auditRows.length ? auditRows[auditRows.length - 1].id : null;
  try {
    const rows = await api("GET", "/audit?" + query({
      directory: $("audit-directory").value, search: $("audit-search").value.trim(), before, limit: PAGE,
    }));
    auditRows = more ? auditRows.concat(rows) : rows;
    $("audit-list").replaceChildren(auditTable("Admin actions, newest first", auditRows, "No action recorded."));
    $("audit-more").hidden = rows.length < PAGE;
  } catch (e) { say(message, e.message); }
}

// --- what did not reach subscribers ------------------------------------------------------------

function parkedTable(rows, empty) {
  return table("Parked events, oldest first", [
    ["#", (p) => String(p.seq)],
    ["Event", (p) => p.subject.split(".").slice(3).join(".")],
    ["Directory", (p) => directoryLink(p.directory_id)],
    ["Size", (p) => `${Math.round(p.bytes / 1024)} KiB`],
    ["Set aside", (p) => when(p.parked_at)],
    ["Reason", (p) => p.reason],
    ["", (p) => el("span", { class: "actions inline" },
      el("button", { type: "button", class: "secondary", text: "Republish", "aria-label": `Republish parked event ${p.seq}`,
        on: { click: () => parkedAction(p, "POST", "republish", "put back in the outbox") } }),
      confirming(el("button", { type: "button", class: "danger", text: "Discard", "aria-label": `Discard parked event ${p.seq}` }),
        "Confirm discard", () => parkedAction(p, "DELETE", "", "discarded: subscribers will never see it")))],
  ], rows, empty);
}

async function loadParked() {
  const parked = await api("GET", "/outbox/parked");
  $("parked-list").replaceChildren(parkedTable(parked, "Nothing set aside."));
}

async function parkedAction(p, method, action, done) {
  const message = location.hash.startsWith("#directory/")
    ? $("directory-parked-message") : $("parked").querySelector(".message");
  try {
    await api(method, `/outbox/parked/${p.seq}${action ? "/" + action : ""}`);
    say(message, `Event ${p.seq} ${done}.`, "ok");
  } catch (e) { say(message, e.message); }
  await route(false);
}

async function loadDeadLetters() {
  const message = $("dead-letters").querySelector(".message");
  try {
    const letters = await api("GET", "/dead-letters");
    $("dead-letter-list").replaceChildren(table("Dead letters, oldest first", [
      ["#", (l) => String(l.seq)],
      ["Event", (l) => l.event_type || l.subject],
      ["Directory", (l) => directoryLink(l.directory_id)],
      ["Reason", (l) => l.reason],
      ["Attempts", (l) => String(l.attempts)],
      ["", (l) => el("button", { type: "button", class: "secondary", text: "Replay",
        "aria-label": `Replay dead letter ${l.seq}`, on: { click: () => replay(l) } })],
    ], letters, "No dead letters."));
  } catch (e) { say(message, e.message); }
}

async function replay(letter) {
  const message = $("dead-letters").querySelector(".message");
  try {
    await api("POST", `/dead-letters/${letter.seq}/replay`);
    say(message, `Dead letter ${letter.seq} replayed.`, "ok");
  } catch (e) { say(message, e.message); }
  await loadDeadLetters();
}

// --- wiring ----------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  for (const id of ["refresh", "directory-refresh"]) $(id).addEventListener("click", () => route(false));
  $("directory-filter").addEventListener("submit", (e) => { e.preventDefault(); renderDirectories(); });
  $("create-directory").addEventListener("submit", createDirectory);
  $("issue-link").addEventListener("submit", issueLink);
  $("inspection-toggle").addEventListener("click", toggleInspection);
  $("pause-toggle").addEventListener("click", togglePause);
  $("reconcile-preview").addEventListener("click", previewReconcile);
  $("delete-directory").addEventListener("submit", deleteDirectory);
  $("request-filter").addEventListener("submit", (e) => { e.preventDefault(); showRequests(); });
  $("requests-more").addEventListener("click", () => showRequests(true));
  $("audit-filter").addEventListener("submit", (e) => { e.preventDefault(); showAudit(); });
  $("audit-more").addEventListener("click", () => showAudit(true));
  // From a directory's page to its requests: the log opens on that directory.
  $("all-requests").addEventListener("click", () => { $("requests-directory").value = $("all-requests").dataset.directory; });
  for (const b of document.querySelectorAll("button[data-copy]")) b.addEventListener("click", () => copy(b));
  window.addEventListener("hashchange", () => { if (!$("console").hidden) route(true); });
  if (sessionStorage.getItem(TOKEN)) enter().catch(signOut);
});
