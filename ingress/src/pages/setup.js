// The setup page: exchanges the link in the URL's fragment for a session, then works
// through /setup/api (the admin API's share for this directory) and /setup/status.
// Every value from the server is set as text, never as HTML.

import { $, el, table, when, say, copy, request, inspection, show, showError, target, sent, confirming } from "./common.js";

const POLL_MS = 3000;
const IDP_NAMES = {
  okta: "Okta", entra: "Microsoft Entra ID", onelogin: "OneLogin", jumpcloud: "JumpCloud",
  ping: "PingOne or PingFederate", rippling: "Rippling", generic: "your SCIM 2.0 provider",
};

let vendor = { name: null, support: null, logo: false };
let session = null;
let directory = null;
let polling = null;
// The token generated on this page, marked in the table.
let newToken = null;

// A setup call: every change repeats the session's CSRF token.
const call = (method, path, body) =>
  request(method, path, body, method !== "GET" && session ? { "X-CSRF-Token": session.csrf } : {});
const api = (method, path, body) => call(method, "/setup/api/" + path, body);

// --- whose page, and whom to ask -----------------------------------------------------

const product = () => vendor.name || "the product";

async function loadVendor() {
  try { vendor = await request("GET", "/setup/vendor"); } catch { /* the defaults say "the product" */ }
  if (vendor.name) {
    $("title").textContent = `Set up user provisioning for ${vendor.name}`;
    document.title = `Set up user provisioning for ${vendor.name}`;
  }
  if (vendor.logo) {
    $("logo").src = "/setup/logo";
    $("logo").hidden = false;
  }
}

// "Ask … for a new setup link.", with the support contact linked where there is one.
function askFor(what) {
  const line = el("span", { text: `Ask ${product()}'s support ` });
  if (vendor.support) {
    line.append("(", el("a", { href: vendor.support.href, text: vendor.support.text }), ") ");
  } else {
    line.append("(whoever sent you this setup link) ");
  }
  line.append(`for ${what}.`);
  return line;
}

// Shows the gate instead of the page: why, and whom to ask.
function closeWith(message, error = true) {
  clearTimeout(polling);
  session = null;
  $("portal").hidden = true;
  $("sign-out").hidden = true;
  $("expiry").hidden = true;
  $("gate").hidden = false;
  $("gate-message").textContent = message;
  $("gate-message").className = error ? "error" : "";
  $("gate-help").hidden = false;
  $("gate-help").replaceChildren(askFor("a new setup link"));
}

// --- the session -----------------------------------------------------------------

async function start() {
  await loadVendor();
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
    closeWith(e.status === 401 ? sentence(e.message) : `The setup page could not start: ${e.message}`);
    return;
  }
  $("gate").hidden = true;
  $("portal").hidden = false;
  $("sign-out").hidden = false;
  $("directory-name").textContent = `Directory: ${session.directory.name}`;
  $("expiry").hidden = false;
  $("expiry").textContent = `This page stays signed in until ${when(session.expires_at)}; `
    + `your setup link opens it again until ${when(session.link_expires_at)}.`;
  await loadDirectory();
  pollStatus();
}

const sentence = (text) => text.charAt(0).toUpperCase() + text.slice(1) + ".";

async function signOut() {
  try { await call("DELETE", "/setup/session"); } catch { /* the session may be gone already */ }
  closeWith("Signed out. Your setup link opens this page again while it lasts.", false);
}

// --- connection details and provider steps ----------------------------------------

function fill(name, value) {
  for (const node of document.querySelectorAll(`[data-fill=${name}]`)) node.textContent = value;
}

async function loadDirectory() {
  directory = await api("GET", "directory");
  fill("base_url", directory.scim_base_url);
  fill("entra_url", directory.scim_base_url + "?aadOptscim062020");
  const idp = IDP_NAMES[directory.idp] ? directory.idp : "generic";
  document.querySelector(`input[name=idp][value=${idp}]`).checked = true;
  showSteps(idp);
  renderControls();
  renderInspection();
  await Promise.all([loadTokens(), loadTeams(), loadRoles()]);
}

function renderInspection() {
  const state = inspection(directory.inspect_until);
  $("inspection-state").textContent = state.text;
  $("inspection-toggle").textContent = state.button;
  $("inspection-toggle").dataset.minutes = state.minutes;
}

async function toggleInspection() {
  try {
    directory = await api("PUT", "inspection", { minutes: Number($("inspection-toggle").dataset.minutes) });
    renderInspection();
  } catch (e) { $("inspection-state").textContent = e.message; }
}

// Entra wants the base URL with its SCIM-compliance flag, as its "Tenant URL": the
// field (and its Copy button) holds exactly what the chosen provider is to be given.
function showSteps(idp) {
  for (const list of document.querySelectorAll("ol[data-idp]")) list.hidden = list.dataset.idp !== idp;
  for (const node of document.querySelectorAll(".idp-name")) node.textContent = IDP_NAMES[idp];
  $("guide-link").hidden = false;
  $("guide-link").replaceChildren(el("a", { href: `/setup/guides/${idp}`,
    text: `The full ${idp === "generic" ? "SCIM 2.0" : IDP_NAMES[idp]} guide, with what each error means (plain text)` }));
  if (!directory) return;
  const entra = idp === "entra";
  $("base-url-label").textContent = entra ? "Tenant URL (SCIM base URL with Entra's SCIM 2.0 flag)" : "SCIM base URL";
  $("base-url").value = directory.scim_base_url + (entra ? "?aadOptscim062020" : "");
}

// A Copy button after every value the steps show.
function addCopyButtons() {
  for (const code of document.querySelectorAll("code.copyable")) {
    const dt = code.closest("dd")?.previousElementSibling;
    const what = dt ? dt.textContent.trim() : code.textContent.trim();
    const button = el("button", { type: "button", class: "secondary small", text: "Copy",
      "aria-label": `Copy ${what}` });
    button.addEventListener("click", () => copy(button, code.textContent));
    code.after(" ", button);
  }
}

// --- tokens ------------------------------------------------------------------------

async function loadTokens() {
  const live = (await api("GET", "tokens")).filter((t) => !t.revoked_at);
  show($("tokens"), [live, newToken], () => table("Tokens that work now", [
    ["Token", (t) => el("span", {}, el("code", { text: t.prefix + "…" }),
      ...(t.id === newToken ? [" ", el("b", { class: "tag", text: "new" })] : []))],
    ["Issued", (t) => `${when(t.created_at)}, ${origin(t)}`],
    ["Last used", (t) => when(t.last_used_at)],
    ["Expires", (t) => t.expires_at ? when(t.expires_at) : "never"],
    ["", revokeButton],
  ], live, "No token works now: generate one."));
}

function origin(token) {
  if (token.id === newToken) return "on this page, just now";
  return {
    directory_created: "when the directory was created",
    setup_link: "on this setup page",
    operator: `by ${product()}'s team`,
  }[token.origin] || "earlier";
}

function revokeButton(token) {
  const revoke = el("button", { type: "button", class: "danger", text: "Revoke",
    "aria-label": `Revoke token ${token.prefix}` });
  return confirming(revoke, "Confirm revoke", async () => {
    try {
      await api("DELETE", "tokens/" + token.id);
      say($("token-message"), `Token ${token.prefix}… revoked: it no longer works.`, "ok");
    } catch (e) {
      say($("token-message"), e.message);
    }
    await loadTokens();
    $("generate-token").focus();
  }, `Confirm: revoke token ${token.prefix}`);
}

async function generateToken() {
  say($("token-message"), "");
  try {
    const issued = await api("POST", "tokens");
    newToken = issued.id;
    $("token").value = issued.token;
    $("new-token").hidden = false;
    say($("token-message"), "Copy the token now: it will not be shown again.", "ok");
    await loadTokens();
  } catch (e) {
    say($("token-message"), e.message);
  }
}

// --- status ------------------------------------------------------------------------

const STAGES = {
  waiting: "Waiting for the first request from your identity provider…",
  refused: "Not connected: your identity provider's latest request was refused for its token. Paste the token this page generated into your identity provider, save, and test again.",
  failing: "Not connected yet: your identity provider reaches this directory, but none of its requests has succeeded. See what was refused below.",
  connected: "Connected: your identity provider's requests succeed.",
  provisioning: "Provisioning: users and groups are arriving.",
};

function requestLine(r) {
  return `${r.method} ${target(r)} → ${r.status}${r.detail ? ": " + r.detail : ""} (${when(r.at)})`;
}

// A request with what to do about it, and whether a later success resolved it.
function requestItem(tag, r, prefix = "") {
  const item = el(tag, { class: r.resolved ? "request resolved" : r.status >= 400 ? "request failed" : "request" },
    el("span", { text: prefix + requestLine(r) }));
  if (r.resolved) item.append(" ", el("b", { class: "tag", text: "resolved" }));
  if (r.advice && !r.resolved) item.append(el("span", { class: "advice", text: r.advice }));
  const body = sent(r);
  if (body) item.append(body);
  return item;
}

// --- the deprovisioning hold --------------------------------------------------------

const CHANGES = { deactivate: "Deactivated", remove: "Deleted", leave_teams: "Removed from teams" };

// The safeguard: its threshold, and the open hold with who keeps access, why, and (when
// this link may) the decision.
async function loadHold() {
  let status;
  try { status = await api("GET", "hold"); } catch (e) { say($("hold-message"), e.message); return; }
  const hold = status.hold;
  $("hold-open").hidden = !hold;
  $("hold-summary").className = hold ? "warning" : "";
  if (!hold) {
    const p = status.policy;
    $("hold-summary").textContent = p
      ? `On: if your identity provider deactivates or deletes more than ${p.min_members} people and more than ${p.share_percent} % of your active people within an hour, the rest keep their access until the change is confirmed. Nothing is held now.`
      : "Off: every deactivation and deletion your identity provider sends takes effect at once.";
    $("hold-note").textContent = "";
    $("hold-actions").replaceChildren();
    return;
  }
  const held = hold.deactivations + hold.removals + hold.team_removals;
  $("hold-summary").textContent = `Held: your identity provider deactivated or deleted more people within an hour than this directory lets through. ${held} of them keep their access until the change is confirmed. Your identity provider was told each change succeeded.`;
  $("hold-reason").textContent = `Since ${when(hold.since)}: ${hold.reason}.`;
  show($("held"), hold.held, () => table(
    hold.next_after ? `The first ${hold.held.length} of ${held} people held` : "People held",
    [
      ["Email", (m) => m.email || "(none)"],
      ["Name", (m) => m.display_name || ""],
      ["Your identity provider", (m) => m.teams.length ? `${CHANGES[m.change]}: ${m.teams.join(", ")}` : CHANGES[m.change]],
      ["Held since", (m) => when(m.held_at)],
    ], hold.held));
  const allowed = session.allow_controls;
  $("hold-note").textContent = allowed
    ? "If this was a mistake (an app unassigned, a scope edited), fix it in your identity provider and keep their access: each person it restores is released as it arrives. If it was meant, apply it."
    : `Ask ${product()}'s support to apply or keep it: this setup link may not decide it. Fixing your identity provider releases each person it restores.`;
  const decide = (how, label, done) => {
    const button = el("button", { type: "button", class: how === "apply" ? "danger" : "", text: label, "data-action": how });
    return confirming(button, `Confirm: ${label.toLowerCase()}`, async () => {
      try {
        await api("POST", `hold/${how}`);
        say($("hold-message"), done, "ok");
      } catch (e) { say($("hold-message"), e.message); }
      await loadHold();
    });
  };
  $("hold-actions").replaceChildren(...(allowed ? [
    decide("keep", "Keep their access", "Kept: the people held keep their access."),
    decide("apply", "Apply: remove their access", "Applied: the people held lost their access."),
  ] : []));
}

// --- what arrived: the request history, users and groups, a page at a time -----------

const PAGE = 50;

// A list that loads a page at a time: `load(after)` returns rows, `after(row)` the
// cursor of the next page.
function pager(box, more, render, load, after) {
  let rows = [];
  // Only the newest load renders: a refresh that started earlier never paints over it.
  let loads = 0;
  const load_ = async (reset) => {
    const mine = ++loads;
    const page = await load(reset || rows.length === 0 ? null : after(rows[rows.length - 1]));
    if (mine !== loads) return;
    rows = reset ? page : rows.concat(page);
    show(box, rows, () => render(rows));
    more.hidden = page.length < PAGE;
  };
  more.addEventListener("click", () => load_(false).catch((e) => showError(box, e.message)));
  return (reset = true) => load_(reset).catch((e) => showError(box, e.message));
}

const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();

const showHistory = pager($("history"), $("history-more"),
  (rows) => table("Requests, newest first", [
    ["Time", (r) => when(r.at)],
    ["Request", (r) => `${r.method} ${target(r)}`],
    ["Status", (r) => String(r.status)],
    ["What happened", (r) => {
      const box = el("span", { text: r.detail || (r.status < 400 ? "done" : "") });
      if (r.advice) box.append(el("span", { class: "advice", text: r.advice }));
      const body = sent(r);
      if (body) box.append(body);
      return box;
    }],
  ], rows, "No requests yet."),
  (before) => api("GET", "requests?" + query({ status: $("history-status").value, before, limit: PAGE })),
  (r) => r.at);

const showUsers = pager($("users-list"), $("users-more"),
  (rows) => table("Users your identity provider sent", [
    ["userName", (u) => u.user_name],
    ["State", (u) => u.active ? "active" : "deactivated"],
    ["Last change", (u) => when(u.updated_at)],
  ], rows, "No users match."),
  (after) => api("GET", "users?" + query({ search: $("users-query").value.trim(), after, limit: PAGE })),
  (u) => u.user_name);

const showGroups = pager($("groups-list"), $("groups-more"),
  (rows) => table("Groups your identity provider pushed", [
    ["Name", (g) => g.display_name],
    ["Last change", (g) => when(g.updated_at)],
  ], rows, "No groups match."),
  (after) => api("GET", "groups?" + query({ search: $("groups-query").value.trim(), after, limit: PAGE })),
  (g) => g.id);

// An open list follows what arrives; a closed one is read when opened.
function refreshOpenLists() {
  if ($("history-block").open) showHistory();
  if ($("users-block").open) showUsers();
  if ($("groups-block").open) showGroups();
}

let lastSeen = null;
let teamCount = null;
// Members held by the deprovisioning hold: the panel is read again when it changes.
let heldCount = null;
// The names offered when mapping: refreshed whenever the number of groups changes.
let groupCount = null;

async function pollStatus() {
  try {
    const s = await call("GET", "/setup/status");
    $("stage").textContent = STAGES[s.stage];
    $("stage").dataset.stage = s.stage;
    $("count-users").textContent = s.users;
    $("count-active").textContent = s.active_users;
    $("count-groups").textContent = s.groups;
    $("count-teams").textContent = s.teams;
    if (heldCount !== s.held) { heldCount = s.held; await loadHold(); }
    $("paused-note").hidden = !s.paused;
    $("paused-note").textContent = s.paused
      ? `Paused by ${product()}'s team: your identity provider's requests are answered and recorded, but access in ${product()} does not change until provisioning resumes.`
      : "";
    $("last-request").textContent = when(s.last_request_at);
    const first = $("first-request");
    first.hidden = !s.first_request;
    if (s.first_request) {
      first.textContent = `First request (usually the connection test): ${requestLine(s.first_request)}`;
    }
    const latest = $("latest-request");
    latest.hidden = !s.last_request;
    if (s.last_request) show(latest, s.last_request, () => requestItem("p", s.last_request, "Latest request: "));
    $("errors-block").hidden = s.recent_errors.length === 0;
    show($("errors"), s.recent_errors, () => s.recent_errors.map((r) => requestItem("li", r)));
    // What other requests changed: tokens' last use, teams made elsewhere, pushed names.
    if (groupCount !== null && groupCount !== s.groups) await loadGroupNames();
    groupCount = s.groups;
    if (teamCount !== null && teamCount !== s.teams) await loadTeams();
    teamCount = s.teams;
    if (lastSeen !== s.last_request_at) {
      lastSeen = s.last_request_at;
      await loadTokens();
      refreshOpenLists();
    }
  } catch (e) {
    if (e.status === 401) { closeWith(sentence(e.message)); return; }
  }
  polling = setTimeout(pollStatus, POLL_MS);
}

// --- teams -------------------------------------------------------------------------

const MODES = {
  mapped: "Each team takes the members of the groups mapped to it. Create the teams you need, type a group name exactly as your identity provider spells it (pushed groups are offered), preview who joins and leaves, then save.",
  mirrored: "Every group your identity provider pushes is a team of the same name, with the same members. Nothing to create or map here: push the groups.",
  attribute: "Each user's team comes from an attribute your identity provider sends. Create the teams, map each value to a team, preview, then save.",
};

let teams = [];

async function loadTeams() {
  const mode = directory.team_mode;
  $("team-mode").textContent = MODES[mode] || "";
  $("create-team").hidden = mode === "mirrored";
  const attribute = mode === "attribute" ? directory.team_attribute : null;
  $("team-attribute").hidden = !attribute;
  if (attribute) {
    const split = attribute.lastIndexOf(":");
    fill("attribute", attribute);
    fill("attribute_name", attribute.slice(split + 1));
    fill("attribute_namespace", attribute.slice(0, split));
  }
  [teams] = await Promise.all([api("GET", "teams"), loadGroupNames()]);
  teamCount = teams.length;
  $("team-list").replaceChildren(...teams.map((t) => teamCard(t)));
  if (teams.length === 0) {
    $("team-list").append(el("p", { class: "muted", text: mode === "mirrored"
      ? "No teams yet: they appear as your identity provider pushes groups."
      : "No teams yet: create one above." }));
  }
  $("value-table").hidden = mode !== "attribute";
  if (mode === "attribute") await loadValues();
  renderModeForm();
}

async function loadGroupNames() {
  const groups = await api("GET", "groups");
  $("group-names").replaceChildren(...groups.map((g) => el("option", { value: g.display_name })));
}

async function createTeam(event) {
  event.preventDefault();
  const message = $("create-team").querySelector(".message");
  const name = $("new-team").value.trim();
  say(message, "");
  if (!name) { say(message, "Type the new team's name."); $("new-team").focus(); return; }
  try {
    await api("POST", "teams", { name });
    $("new-team").value = "";
    await loadTeams();
    say(message, `Team ${name} created.`, "ok");
    document.querySelector(`.team[data-team="${CSS.escape(name)}"] input`)?.focus();
  } catch (e) { say(message, e.message); }
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
  const mode = directory.team_mode;
  const card = el("div", { class: "team", "data-team": team.name });
  const heading = el("h3", { text: team.name });
  const chips = el("ul", { class: "chips", "aria-label": `Groups mapped to ${team.name}` });
  const preview = el("div", { class: "preview", "aria-live": "polite" });
  const message = el("p", { class: "message", role: "alert" });
  const members = el("div", { class: "members" });
  const input = el("input", { id: `group-${team.id}`, list: "group-names", autocomplete: "off" });
  const drawChips = () => chips.replaceChildren(...names.map((n) => el("li", {},
    el("span", { text: n }),
    el("button", { type: "button", "aria-label": `Remove ${n}`, text: "×",
      on: { click: () => {
        names = names.filter((x) => x !== n);
        drawChips();
        preview.replaceChildren();
        input.focus();
      } } }),
  )));
  drawChips();
  // A name typed but not added yet counts: what the admin sees is what is previewed.
  const add = () => {
    const name = input.value.trim();
    if (name && !names.includes(name)) names.push(name);
    input.value = "";
    drawChips();
    preview.replaceChildren();
  };
  const body = () => { add(); return { groups: names }; };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); add(); } });
  const path = `teams/${team.id}/groups`;
  card.append(heading);
  if (mode === "mapped") {
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
            preview.replaceChildren();
            say(message, "Saved: members follow within seconds.", "ok");
          } catch (e) { say(message, e.message); }
        } } })),
      preview, message);
  } else if (team.groups.length > 0) {
    card.append(el("p", { class: "muted", text: `Follows group ${team.groups.join(", ")}` }));
  }
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", class: "secondary", "data-action": "members", text: "Show members",
      "aria-expanded": "false", on: { click: (e) => toggleMembers(e.target, team, members) } }));
  // A mirrored team is its group's: renamed and deleted there.
  if (!(mode === "mirrored" && team.mirrors)) actions.append(...teamChanges(team, card, message));
  card.append(actions, members);
  if (mode !== "mapped") card.append(message);
  return card;
}

// Rename and delete, each asked for before it is done.
function teamChanges(team, card, message) {
  const rename = el("button", { type: "button", class: "secondary", "data-action": "rename", text: "Rename" });
  const remove = el("button", { type: "button", class: "danger", "data-action": "delete", text: "Delete team" });
  rename.addEventListener("click", () => {
    const field = el("input", { id: `rename-${team.id}`, value: team.name, autocomplete: "off", maxlength: "200" });
    const form = el("form", { class: "inline-form" },
      el("label", { for: field.id, text: `New name for ${team.name}` }),
      el("div", { class: "copy" }, field,
        el("button", { type: "submit", text: "Rename" }),
        el("button", { type: "button", class: "secondary", text: "Cancel", on: { click: () => { form.remove(); rename.focus(); } } })));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await api("PATCH", `teams/${team.id}`, { name: field.value.trim() });
        await loadTeams();
      } catch (err) { say(message, err.message); }
    });
    card.querySelector(".inline-form")?.remove();
    card.insertBefore(form, card.querySelector(".members"));
    field.focus();
  });
  remove.addEventListener("click", () => {
    const confirm = el("div", { class: "confirm", role: "group", "aria-label": `Delete ${team.name}` },
      el("p", { text: `Delete team ${team.name}? Everyone in it leaves it; this cannot be undone.` }),
      el("div", { class: "actions" },
        el("button", { type: "button", class: "danger", "data-action": "confirm-delete", text: "Delete", on: { click: async () => {
          try { await api("DELETE", `teams/${team.id}`); await loadTeams(); $("new-team").focus(); }
          catch (err) { say(message, err.message); }
        } } }),
        el("button", { type: "button", class: "secondary", text: "Cancel", on: { click: () => { confirm.remove(); remove.focus(); } } })));
    card.querySelector(".confirm")?.remove();
    card.insertBefore(confirm, card.querySelector(".members"));
    confirm.querySelector("button").focus();
  });
  return [rename, remove];
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

let rows = 0;

// A table of mappings (attribute value → team, group → role): a row per mapping, its
// text field and its choice; previewed and saved whole.
function mappingRow({ label, value, choice, options, chosen, add, list }) {
  const n = ++rows;
  const select = el("select", { "aria-label": choice }, ...options);
  if (chosen) select.value = chosen;
  const field = el("input", { "aria-label": label, value, id: `mapping-${n}`, autocomplete: "off" });
  if (list) field.setAttribute("list", list);
  const row = el("tr", {},
    el("td", {}, field),
    el("td", {}, select),
    el("td", {}, el("button", { type: "button", class: "danger", text: "Remove",
      on: { click: () => { row.remove(); $(add).focus(); } } })));
  return row;
}

// Each row's text (trimmed, rows without one left out) with its choice.
function mappingRows(box) {
  const out = {};
  for (const row of $(box).querySelectorAll("tbody tr")) {
    const key = row.querySelector("input").value.trim();
    if (key) out[key] = row.querySelector("select").value;
  }
  return out;
}

// Previews the table's mappings (`render` shows what they would do), or saves them.
async function mappingAction(box, path, body, render, saved, save) {
  const message = $(box).querySelector(".message");
  const preview = $(box).querySelector(".preview");
  say(message, "");
  try {
    if (save) {
      await api("PUT", path, body);
      preview.replaceChildren();
      say(message, saved, "ok");
    } else {
      preview.replaceChildren(render(await api("POST", path + "/preview", body)));
    }
  } catch (e) { say(message, e.message); }
}

async function loadValues() {
  const saved = await api("GET", "team-values");
  const body = $("value-table").querySelector("tbody");
  body.replaceChildren(...Object.entries(saved.values).map(([v, t]) => valueRow(v, t)));
}

function valueRow(value = "", team = "") {
  return mappingRow({ label: "Attribute value", value, choice: "Team", chosen: team, add: "add-value",
    options: teams.map((t) => el("option", { value: t.name, text: t.name })) });
}

function valueAction(save) {
  mappingAction("value-table", "team-values", { values: mappingRows("value-table") }, previewList,
    "Saved: members follow within seconds.", save);
}

// --- roles -------------------------------------------------------------------------

let roles = { roles: [], default_role: "" };

async function loadRoles() {
  const [catalogue, mappings] = await Promise.all([api("GET", "roles"), api("GET", "role-mappings")]);
  roles = catalogue;
  $("role-list").querySelector("tbody").replaceChildren(...roles.roles.map((r) => el("tr", {},
    el("td", { text: r.display_name + (r.id === roles.default_role ? " (default)" : "") }),
    el("td", {}, el("code", { text: r.id })),
    el("td", { text: r.description || "" }))));
  $("role-mappings").querySelector("tbody").replaceChildren(
    ...Object.entries(mappings.groups).map(([g, r]) => roleMappingRow(g, r)));
}

function roleMappingRow(group = "", role = "") {
  return mappingRow({ label: "Group name", value: group, choice: "Role", chosen: role,
    add: "add-role-mapping", list: "group-names",
    options: roles.roles.map((r) => el("option", { value: r.id, text: r.display_name })) });
}

function rolePreviewList(p) {
  if (p.changed === 0) return el("p", { text: "No one's role changes." });
  const name = (id) => roles.roles.find((r) => r.id === id)?.display_name || id;
  const items = p.changes.map((c) => `${c.email || c.member_id}: ${c.from ? name(c.from) : "no role yet"} → ${name(c.to)}`);
  if (p.changed > p.changes.length) items.push(`and ${p.changed - p.changes.length} more`);
  return el("div", {}, el("p", { text: `${p.changed} ${p.changed === 1 ? "person's role changes" : "people's roles change"}:` }),
    el("ul", {}, ...items.map((text) => el("li", { text }))));
}

function roleMappingAction(save) {
  mappingAction("role-mappings", "role-mappings", { groups: mappingRows("role-mappings") },
    rolePreviewList, "Saved: roles follow within seconds.", save);
}

// --- the team mode -----------------------------------------------------------------

function chosenMode() {
  return document.querySelector("input[name=team-mode]:checked")?.value || directory.team_mode;
}

function renderModeForm() {
  for (const r of document.querySelectorAll("input[name=team-mode]")) r.checked = r.value === directory.team_mode;
  $("mirror-pattern").value = directory.mirror_pattern || "";
  $("team-attribute-urn").value = directory.team_attribute || "";
  $("unmapped-values").value = directory.unmapped_values || "create";
  showModeFields();
  const allowed = session.allow_controls;
  for (const node of $("mode-form").querySelectorAll("input, select, button")) node.disabled = !allowed;
  $("mode-note").textContent = allowed
    ? "Preview shows who would join and leave which team; switching recomputes every member's teams at once."
    : `Shown for reference: this setup link may not change the team mode. Ask ${product()}'s support to.`;
}

function showModeFields() {
  const mode = chosenMode();
  for (const box of $("mode-form").querySelectorAll("[data-mode]")) box.hidden = box.dataset.mode !== mode;
}

function modeBody() {
  const mode = chosenMode();
  if (mode === "mirrored") {
    const pattern = $("mirror-pattern").value.trim();
    return pattern ? { team_mode: mode, mirror_pattern: pattern } : { team_mode: mode };
  }
  if (mode === "attribute") {
    return { team_mode: mode, team_attribute: $("team-attribute-urn").value.trim(), unmapped_values: $("unmapped-values").value };
  }
  return { team_mode: mode };
}

async function modeAction(save) {
  const form = $("mode-form");
  const message = form.querySelector(".message");
  const preview = form.querySelector(".preview");
  say(message, "");
  try {
    if (save) {
      directory = await api("PUT", "team-mapping", modeBody());
      preview.replaceChildren();
      await loadTeams();
      say(message, `Switched to ${directory.team_mode} teams: members follow within seconds.`, "ok");
    } else {
      preview.replaceChildren(previewList(await api("POST", "team-mapping/preview", modeBody())));
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
    : `Shown for reference: this setup link may not change them. Ask ${product()}'s support to.`;
}

// The values saved last time a limit below the active users was confirmed.
let confirmedLimit = null;

async function saveControls(event) {
  event.preventDefault();
  const message = $("controls-form").querySelector(".message");
  say(message, "");
  const domains = $("trusted-domains").value.split(",").map((d) => d.trim()).filter(Boolean);
  const raw = $("seat-limit").value.trim();
  const limit = raw === "" ? null : Number(raw);
  const active = Number($("count-active").textContent);
  if (limit !== null && limit < active && confirmedLimit !== limit) {
    confirmedLimit = limit;
    say(message, `${active} users are active, more than a limit of ${limit}: no one loses access, but no new user is accepted until fewer are active. Press Save again to set it.`, "warning");
    return;
  }
  confirmedLimit = null;
  try {
    directory = await api("PUT", "access-rules", { trusted_domains: domains, seat_limit: limit });
    renderControls();
    say(message, "Saved.", "ok");
  } catch (e) { say(message, e.message); }
}

// --- wiring ------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  addCopyButtons();
  $("sign-out").addEventListener("click", signOut);
  $("generate-token").addEventListener("click", generateToken);
  for (const b of document.querySelectorAll("button[data-copy]")) b.addEventListener("click", () => copy(b));
  for (const r of document.querySelectorAll("input[name=idp]")) r.addEventListener("change", () => showSteps(r.value));
  $("create-team").addEventListener("submit", createTeam);
  $("add-value").addEventListener("click", () => {
    const row = valueRow();
    $("value-table").querySelector("tbody").append(row);
    row.querySelector("input").focus();
  });
  $("add-role-mapping").addEventListener("click", () => {
    const row = roleMappingRow();
    $("role-mappings").querySelector("tbody").append(row);
    row.querySelector("input").focus();
  });
  $("preview-role-mappings").addEventListener("click", () => roleMappingAction(false));
  $("save-role-mappings").addEventListener("click", () => roleMappingAction(true));
  $("preview-values").addEventListener("click", () => valueAction(false));
  $("save-values").addEventListener("click", () => valueAction(true));
  for (const r of document.querySelectorAll("input[name=team-mode]")) r.addEventListener("change", showModeFields);
  $("preview-mode").addEventListener("click", () => modeAction(false));
  $("mode-form").addEventListener("submit", (e) => { e.preventDefault(); modeAction(true); });
  $("controls-form").addEventListener("submit", saveControls);
  $("inspection-toggle").addEventListener("click", toggleInspection);
  for (const [block, form, show] of [["history-block", "history-filter", showHistory],
    ["users-block", "users-search", showUsers], ["groups-block", "groups-search", showGroups]]) {
    $(block).addEventListener("toggle", () => { if ($(block).open) show(); });
    $(form).addEventListener("submit", (e) => { e.preventDefault(); show(); });
  }
  start();
});
