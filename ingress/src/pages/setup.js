// The setup page: exchanges the link in the URL's fragment for a session, then works
// through /setup/api (the admin API's share for this directory) and /setup/status.
// Every value from the server is set as text, never as HTML.

import { $, el, table, when, say, copy, request } from "./common.js";

const POLL_MS = 3000;
const IDP_NAMES = { okta: "Okta", entra: "Microsoft Entra ID", generic: "your SCIM 2.0 provider" };

let session = null;
let directory = null;
let polling = null;

// A setup call: every change repeats the session's CSRF token.
const call = (method, path, body) =>
  request(method, path, body, method !== "GET" && session ? { "X-CSRF-Token": session.csrf } : {});
const api = (method, path, body) => call(method, "/setup/api/" + path, body);

// --- the session -----------------------------------------------------------------

async function start() {
  const fragment = location.hash.slice(1);
  try {
    if (fragment.startsWith("setup_")) {
      // The secret leaves the address bar (and the history) before anything else.
      history.replaceState(null, "", location.pathname);
      session = await call("POST", "/setup/session", { link: fragment });
    } else {
      session = await call("GET", "/setup/session");
    }
  } catch (e) {
    $("gate-message").textContent = e.status === 401
      ? e.message
      : `The setup page could not start: ${e.message}`;
    $("gate-message").className = "error";
    return;
  }
  $("gate").hidden = true;
  $("portal").hidden = false;
  $("sign-out").hidden = false;
  $("directory-name").textContent = `Directory: ${session.directory.name}`;
  await loadDirectory();
  pollStatus();
}

async function signOut() {
  try { await call("DELETE", "/setup/session"); } catch { /* the session may be gone already */ }
  clearTimeout(polling);
  session = null;
  $("portal").hidden = true;
  $("sign-out").hidden = true;
  $("gate").hidden = false;
  $("gate-message").textContent = "Signed out. Open your setup link again to come back.";
  $("gate-message").className = "";
}

// --- connection details and provider steps ----------------------------------------

async function loadDirectory() {
  directory = await api("GET", "directory");
  for (const node of document.querySelectorAll("[data-fill=base_url]")) {
    node.textContent = directory.scim_base_url;
  }
  for (const node of document.querySelectorAll("[data-fill=entra_url]")) {
    node.textContent = directory.scim_base_url + "?aadOptscim062020";
  }
  const idp = ["okta", "entra"].includes(directory.idp) ? directory.idp : "generic";
  const radio = document.querySelector(`input[name=idp][value=${idp}]`);
  radio.checked = true;
  showSteps(idp);
  renderControls();
  await Promise.all([loadTokens(), loadTeams()]);
}

// Entra wants the base URL with its SCIM-compliance flag, as its "Tenant URL": the
// field (and its Copy button) holds exactly what the chosen provider is to be given.
function showSteps(idp) {
  for (const list of document.querySelectorAll("ol[data-idp]")) list.hidden = list.dataset.idp !== idp;
  for (const node of document.querySelectorAll(".idp-name")) node.textContent = IDP_NAMES[idp];
  if (!directory) return;
  const entra = idp === "entra";
  $("base-url-label").textContent = entra ? "Tenant URL (SCIM base URL with Entra's SCIM 2.0 flag)" : "SCIM base URL";
  $("base-url").value = directory.scim_base_url + (entra ? "?aadOptscim062020" : "");
}

// --- tokens ------------------------------------------------------------------------

async function loadTokens() {
  const live = (await api("GET", "tokens")).filter((t) => !t.revoked_at);
  $("tokens").replaceChildren(table("Live tokens", [
    ["Token", (t) => el("code", { text: t.prefix + "…" })],
    ["Created", (t) => when(t.created_at)],
    ["Last used", (t) => when(t.last_used_at)],
    ["Expires", (t) => t.expires_at ? when(t.expires_at) : "never"],
    ["", revokeButton],
  ], live, "No live token: generate one."));
}

function revokeButton(token) {
  const button = el("button", { type: "button", class: "danger", text: "Revoke",
    "aria-label": `Revoke token ${token.prefix}` });
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "yes") {
      button.dataset.armed = "yes";
      button.textContent = "Confirm revoke";
      return;
    }
    try {
      await api("DELETE", "tokens/" + token.id);
      say($("token-message"), `Token ${token.prefix}… revoked: it no longer works.`, "ok");
    } catch (e) {
      say($("token-message"), e.message);
    }
    await loadTokens();
  });
  return button;
}

async function generateToken() {
  say($("token-message"), "");
  try {
    const issued = await api("POST", "tokens");
    $("token").value = issued.token;
    $("new-token").hidden = false;
    say($("token-message"), "Copy the token now: it will not be shown again.", "ok");
  } catch (e) {
    say($("token-message"), e.message);
  }
  await loadTokens();
}

// --- status ------------------------------------------------------------------------

const STAGES = {
  waiting: "Waiting for the first request from your identity provider…",
  refused: "Not connected: your identity provider's latest request was refused for its token. Paste the token this page generated into your identity provider, save, and test again.",
  connected: "Connected: your identity provider has reached this directory.",
  provisioning: "Provisioning: users and groups are arriving.",
};

function requestLine(r) {
  return `${r.method} ${r.path} → ${r.status}${r.detail ? ": " + r.detail : ""} (${when(r.at)})`;
}

async function pollStatus() {
  try {
    const s = await call("GET", "/setup/status");
    $("stage").textContent = STAGES[s.stage];
    $("stage").dataset.stage = s.stage;
    $("count-users").textContent = s.users;
    $("count-active").textContent = s.active_users;
    $("count-groups").textContent = s.groups;
    if (groupCount !== null && groupCount !== s.groups) await loadGroupNames();
    groupCount = s.groups;
    $("last-request").textContent = when(s.last_request_at);
    const first = $("first-request");
    first.hidden = !s.first_request;
    if (s.first_request) {
      first.textContent = `First request (usually the connection test): ${requestLine(s.first_request)}`;
    }
    const latest = $("latest-request");
    latest.hidden = !s.last_request;
    if (s.last_request) {
      latest.textContent = `Latest request: ${requestLine(s.last_request)}`;
    }
    $("errors-block").hidden = s.recent_errors.length === 0;
    $("errors").replaceChildren(...s.recent_errors.map((r) => el("li", { text: requestLine(r) })));
  } catch (e) {
    if (e.status === 401) { await signOut(); return; }
  }
  polling = setTimeout(pollStatus, POLL_MS);
}

// --- teams -------------------------------------------------------------------------

const MODES = {
  mapped: "Each team takes the members of the groups mapped to it. Type a group name exactly as your identity provider spells it (pushed groups are offered), preview who joins and leaves, then save.",
  mirrored: "Every group your identity provider pushes is a team of the same name, with the same members. Nothing to map here.",
  attribute: "Each user's team comes from an attribute your identity provider sends. Map each value to a team, preview, then save.",
};

async function loadTeams() {
  $("team-mode").textContent = MODES[directory.team_mode] || "";
  const [teams] = await Promise.all([api("GET", "teams"), loadGroupNames()]);
  $("team-list").replaceChildren(...teams.map((t) => teamCard(t)));
  if (teams.length === 0) {
    $("team-list").append(el("p", { class: "muted", text: "No teams yet." }));
  }
  $("value-table").hidden = directory.team_mode !== "attribute";
  if (directory.team_mode === "attribute") await loadValues(teams);
}

// The names offered when mapping: refreshed whenever the number of groups changes.
let groupCount = null;

async function loadGroupNames() {
  const groups = await api("GET", "groups");
  $("group-names").replaceChildren(...groups.map((g) => el("option", { value: g.display_name })));
}

function previewList(p) {
  const items = [];
  for (const name of p.created) items.push(`Team ${name} is created`);
  for (const r of p.renamed) items.push(`Team ${r.from} is renamed ${r.to}`);
  for (const name of p.deleted) items.push(`Team ${name} is deleted`);
  for (const [team, who] of Object.entries(p.joined)) items.push(`${team}: ${who.length} join (${who.join(", ")})`);
  for (const [team, who] of Object.entries(p.left)) items.push(`${team}: ${who.length} leave (${who.join(", ")})`);
  for (const [team, who] of Object.entries(p.manual_kept || {})) items.push(`${team}: ${who.length} added by hand stay (${who.join(", ")})`);
  if (items.length === 0) return el("p", { text: "No one joins or leaves." });
  return el("ul", {}, ...items.map((text) => el("li", { text })));
}

function teamCard(team) {
  let names = [...team.groups];
  const card = el("div", { class: "team", "data-team": team.name });
  const heading = el("h3", { text: team.name });
  const chips = el("ul", { class: "chips", "aria-label": `Groups mapped to ${team.name}` });
  const preview = el("div", { class: "preview", "aria-live": "polite" });
  const message = el("p", { class: "message", role: "alert" });
  const members = el("div", { class: "members" });
  const drawChips = () => chips.replaceChildren(...names.map((n) => el("li", {},
    el("span", { text: n }),
    el("button", { type: "button", "aria-label": `Remove ${n}`, text: "×",
      on: { click: () => { names = names.filter((x) => x !== n); drawChips(); preview.replaceChildren(); } } }),
  )));
  drawChips();
  const body = () => ({ groups: names });
  const input = el("input", { id: `group-${team.id}`, list: "group-names", autocomplete: "off" });
  const add = () => {
    const name = input.value.trim();
    if (name && !names.includes(name)) names.push(name);
    input.value = "";
    drawChips();
    preview.replaceChildren();
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); add(); } });
  const path = `teams/${team.id}/groups`;
  card.append(heading);
  if (directory.team_mode === "mapped") {
    card.append(
      chips,
      el("label", { for: input.id, text: `Add group name to ${team.name}` }),
      el("div", { class: "copy" }, input,
        el("button", { type: "button", class: "secondary", "data-action": "add", text: "Add", on: { click: add } })),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", "data-action": "preview", text: "Preview", on: { click: async () => {
          say(message, "");
          try { preview.replaceChildren(previewList(await api("POST", path + "/preview", body()))); }
          catch (e) { say(message, e.message); }
        } } }),
        el("button", { type: "button", "data-action": "save", text: "Save", on: { click: async () => {
          say(message, "");
          try {
            const saved = await api("PUT", path, body());
            names = [...saved.groups];
            drawChips();
            say(message, "Saved: members follow within seconds.", "ok");
          } catch (e) { say(message, e.message); }
        } } })),
      preview, message);
  } else if (team.groups.length > 0) {
    card.append(el("p", { class: "muted", text: `Follows group ${team.groups.join(", ")}` }));
  }
  card.append(el("button", { type: "button", class: "secondary", "data-action": "members", text: "Show members",
    "aria-expanded": "false", on: { click: (e) => toggleMembers(e.target, team, members) } }), members);
  return card;
}

async function toggleMembers(button, team, box) {
  if (button.getAttribute("aria-expanded") === "true") {
    box.replaceChildren();
    button.setAttribute("aria-expanded", "false");
    button.textContent = "Show members";
    return;
  }
  const rows = await api("GET", `teams/${team.id}/members`);
  const source = (m) => m.source === "manual" ? "added by hand" : `from ${m.via.join(", ") || "provisioning"}`;
  box.replaceChildren(table(`Members of ${team.name}`, [
    ["Email", (m) => m.email || m.display_name],
    ["Source", source],
    ["State", (m) => m.suspended ? "suspended (inactive)" : "active"],
  ], rows, "No members yet."));
  button.setAttribute("aria-expanded", "true");
  button.textContent = "Hide members";
}

// --- the attribute value table ------------------------------------------------------

let teamNames = [];
let rows = 0;

async function loadValues(teams) {
  teamNames = teams.map((t) => t.name);
  const saved = await api("GET", "team-values");
  const body = $("value-table").querySelector("tbody");
  body.replaceChildren(...Object.entries(saved.values).map(([v, t]) => valueRow(v, t)));
}

function valueRow(value = "", team = "") {
  const n = ++rows;
  const select = el("select", { "aria-label": "Team" }, ...teamNames.map((name) => el("option", { value: name, text: name })));
  if (team) select.value = team;
  const row = el("tr", {},
    el("td", {}, el("input", { "aria-label": "Attribute value", value, id: `value-${n}` })),
    el("td", {}, select),
    el("td", {}, el("button", { type: "button", class: "danger", text: "Remove",
      on: { click: () => row.remove() } })));
  return row;
}

function valueBody() {
  const values = {};
  for (const row of document.querySelectorAll("#value-table tbody tr")) {
    const value = row.querySelector("input").value.trim();
    if (value) values[value] = row.querySelector("select").value;
  }
  return { values };
}

async function valueAction(save) {
  const box = $("value-table");
  const message = box.querySelector(".message");
  say(message, "");
  try {
    if (save) {
      await api("PUT", "team-values", valueBody());
      say(message, "Saved: members follow within seconds.", "ok");
    } else {
      box.querySelector(".preview").replaceChildren(previewList(await api("POST", "team-values/preview", valueBody())));
    }
  } catch (e) { say(message, e.message); }
}

// --- access rules ------------------------------------------------------------------

function renderControls() {
  $("trusted-domains").value = directory.trusted_domains.join(", ");
  $("seat-limit").value = directory.seat_limit ?? "";
  const allowed = session.allow_controls;
  for (const id of ["trusted-domains", "seat-limit", "save-controls"]) $(id).disabled = !allowed;
  $("controls-note").textContent = allowed
    ? "Users outside the trusted domains, or past the seat limit, are refused with an error your identity provider shows."
    : "Shown for reference: this setup link may not change them. Ask the product's support to.";
}

async function saveControls(event) {
  event.preventDefault();
  const message = $("controls-form").querySelector(".message");
  say(message, "");
  const domains = $("trusted-domains").value.split(",").map((d) => d.trim()).filter(Boolean);
  const raw = $("seat-limit").value.trim();
  try {
    await api("PUT", "trusted-domains", { domains });
    await api("PUT", "seat-limit", { seat_limit: raw === "" ? null : Number(raw) });
    directory = await api("GET", "directory");
    renderControls();
    say(message, "Saved.", "ok");
  } catch (e) { say(message, e.message); }
}

// --- wiring ------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("sign-out").addEventListener("click", signOut);
  $("generate-token").addEventListener("click", generateToken);
  for (const b of document.querySelectorAll("button[data-copy]")) b.addEventListener("click", () => copy(b));
  for (const r of document.querySelectorAll("input[name=idp]")) r.addEventListener("change", () => showSteps(r.value));
  $("add-value").addEventListener("click", () => $("value-table").querySelector("tbody").append(valueRow()));
  $("preview-values").addEventListener("click", () => valueAction(false));
  $("save-values").addEventListener("click", () => valueAction(true));
  $("controls-form").addEventListener("submit", saveControls);
  start();
});
