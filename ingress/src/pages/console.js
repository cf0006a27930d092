// The operator console: the admin API (/admin/v1) from a browser tab, authenticated as
// scimctl is, with an operator token in the Authorization header. The token stays in
// this tab's sessionStorage; no cookie carries it, so no other site can make the
// browser send it.

import { $, el, table, when, say, copy, request } from "./common.js";

const TOKEN = "scim-console-token";
const NAME = "scim-console-name";
const REFRESH_MS = 10000;
let refreshing = null;

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

// --- signing in ----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const message = $("sign-in").querySelector(".message");
  sessionStorage.setItem(TOKEN, $("operator-token").value.trim());
  sessionStorage.setItem(NAME, $("operator-name").value.trim() || "operator");
  $("operator-token").value = "";
  try {
    await show();
    say(message, "");
  } catch (e) {
    sessionStorage.removeItem(TOKEN);
    say(message, e.status === 401 ? "That operator token is not accepted." : e.message);
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(NAME);
  clearTimeout(refreshing);
  $("console").hidden = true;
  $("sign-out").hidden = true;
  $("signed-in").textContent = "";
  $("sign-in-section").hidden = false;
}

async function show() {
  await refresh();
  $("sign-in-section").hidden = true;
  $("console").hidden = false;
  $("sign-out").hidden = false;
  $("signed-in").textContent = `Signed in as ${sessionStorage.getItem(NAME)}`;
  loadDeadLetters();
}

// --- pipeline and directories ---------------------------------------------------------

async function refresh() {
  clearTimeout(refreshing);
  const [pipeline, directories, rates] = await Promise.all([
    api("GET", "/pipeline"), api("GET", "/directories"), api("GET", "/error-rates"),
  ]);
  $("outbox-waiting").textContent = pipeline.outbox.waiting;
  $("outbox-oldest").textContent = seconds(pipeline.outbox.oldest_seconds);
  $("outbox-parked").textContent = pipeline.outbox.parked;
  $("dead-letter-count").textContent = pipeline.dead_letters;
  $("consumers").replaceChildren(table("Consumers of the events stream", [
    ["Consumer", (c) => c.name],
    ["Not yet delivered", (c) => c.pending],
    ["Awaiting acknowledgement", (c) => c.ack_pending],
  ], pipeline.consumers, "No consumer yet: is the worker running?"));

  const rate = new Map(rates.map((r) => [r.directory_id, r]));
  const errors = (d) => {
    const r = rate.get(d.id);
    if (!r || r.requests === 0) return "no requests";
    return `${Math.round((100 * r.errors) / r.requests)}% (${r.errors} of the last ${r.requests})`;
  };
  $("directory-list").replaceChildren(table("Directories", [
    ["Name", (d) => d.name],
    ["Provider", (d) => d.idp],
    ["Users", (d) => `${d.active_users} active of ${d.users}`],
    ["Groups", (d) => d.groups],
    ["Teams", (d) => `${d.teams} (${d.team_mode})`],
    ["Last request", (d) => when(d.last_request_at)],
    ["Errors", errors],
    ["Id", (d) => el("code", { text: d.id })],
  ], directories, "No directory yet: create one below."));

  for (const select of document.querySelectorAll(".directory-choice")) {
    const keep = select.value;
    const fixed = [...select.options].filter((o) => o.value === "");
    select.replaceChildren(...fixed, ...directories.map((d) => el("option", { value: d.id, text: d.name })));
    if (keep) select.value = keep;
  }
  refreshing = setTimeout(() => refresh().catch(() => {}), REFRESH_MS);
}

async function createDirectory(event) {
  event.preventDefault();
  const message = $("create-directory").querySelector(".message");
  say(message, "");
  try {
    const created = await api("POST", "/directories", { name: $("new-name").value.trim(), idp: $("new-idp").value });
    $("created-url").value = created.scim_base_url;
    $("created-token").value = created.token.token;
    $("created").hidden = false;
    say(message, `Directory ${created.name} created. Copy the token now: it is shown only once.`, "ok");
    $("new-name").value = "";
    await refresh();
  } catch (e) { say(message, e.message); }
}

async function issueLink(event) {
  event.preventDefault();
  const message = $("issue-link").querySelector(".message");
  say(message, "");
  const hours = Number($("link-hours").value || 72);
  const expires = new Date(Date.now() + hours * 3600 * 1000).toISOString();
  try {
    const issued = await api("POST", `/directories/${$("link-directory").value}/setup-links`,
      { expires_at: expires, allow_controls: $("link-controls").checked });
    $("issued-url").value = issued.url;
    $("issued").hidden = false;
    say(message, `Expires ${when(issued.expires_at)}. Shown only now.`, "ok");
  } catch (e) { say(message, e.message); }
}

// --- logs ------------------------------------------------------------------------------

async function showRequests(event) {
  event.preventDefault();
  const message = $("requests").querySelector(".message");
  say(message, "");
  const status = $("requests-status").value;
  const query = status ? `?status=${encodeURIComponent(status)}` : "";
  try {
    const rows = await api("GET", `/directories/${$("requests-directory").value}/requests${query}`);
    $("request-list").replaceChildren(table("Requests, newest first", [
      ["Time", (r) => when(r.at)],
      ["Request", (r) => `${r.method} ${r.path}`],
      ["Status", (r) => r.status],
      ["ms", (r) => r.duration_ms.toFixed(1)],
      ["Detail", (r) => r.detail || ""],
    ], rows, "No request matches."));
  } catch (e) { say(message, e.message); }
}

async function showAudit(event) {
  event.preventDefault();
  const message = $("audit").querySelector(".message");
  say(message, "");
  const dir = $("audit-directory").value;
  try {
    const rows = await api("GET", `/audit${dir ? `?directory=${dir}` : ""}`);
    $("audit-list").replaceChildren(table("Admin actions, newest first", [
      ["Time", (r) => when(r.at)],
      ["Actor", (r) => r.actor],
      ["Action", (r) => r.action],
      ["Details", (r) => el("code", { text: JSON.stringify(r.details) })],
    ], rows, "No action recorded."));
  } catch (e) { say(message, e.message); }
}

async function loadDeadLetters() {
  const message = $("dead-letters").querySelector(".message");
  try {
    const letters = await api("GET", "/dead-letters");
    $("dead-letter-list").replaceChildren(table("Dead letters, oldest first", [
      ["#", (l) => l.seq],
      ["Event", (l) => l.event_type || l.subject],
      ["Directory", (l) => l.directory_id || ""],
      ["Reason", (l) => l.reason],
      ["Attempts", (l) => l.attempts],
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
  await Promise.all([loadDeadLetters(), refresh()]);
}

// --- wiring ----------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("refresh").addEventListener("click", () => refresh());
  $("create-directory").addEventListener("submit", createDirectory);
  $("issue-link").addEventListener("submit", issueLink);
  $("request-filter").addEventListener("submit", showRequests);
  $("audit-filter").addEventListener("submit", showAudit);
  for (const b of document.querySelectorAll("button[data-copy]")) b.addEventListener("click", () => copy(b));
  if (sessionStorage.getItem(TOKEN)) show().catch(signOut);
});
