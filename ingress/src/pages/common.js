// What the setup page and the operator console share: JSON calls whose errors carry the
// server's message, and building the page from server values as text, never as HTML.

export const $ = (id) => document.getElementById(id);

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// A JSON request; its parsed answer, or an ApiError with the answer's `error`.
export async function request(method, url, body, headers = {}) {
  const all = { Accept: "application/json", ...headers };
  if (body !== undefined) all["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(url, {
      method, headers: all, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    // Offline, or the service is unreachable: nothing was done.
    throw new ApiError(0, "Could not reach the service: check your connection, then try again. Nothing was changed.");
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || `the server answered ${res.status}`);
  }
  return data;
}

// An element with attributes (`text` sets its text, `on` its listeners) and children.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else if (k === "on") for (const [ev, f] of Object.entries(v)) node.addEventListener(ev, f);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// A table of `rows`: `columns` are [heading, cell(row) → text or node].
export function table(caption, columns, rows, empty = "Nothing yet.") {
  if (rows.length === 0) return el("p", { class: "muted", text: empty });
  return el("table", {},
    el("caption", { text: caption }),
    // An action column's heading is read out, not shown.
    el("thead", {}, el("tr", {}, ...columns.map(([h]) => h
      ? el("th", { scope: "col", text: h })
      : el("th", { scope: "col" }, el("span", { class: "visually-hidden", text: "Action" }))))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...columns.map(([h, cell]) => {
      const v = cell(r);
      // The label a narrow screen shows before the value; none for an action column.
      const td = el("td", h ? { "data-label": h } : {});
      if (v instanceof Node) td.append(v); else td.textContent = v ?? "";
      return td;
    })))));
}

export function when(iso) {
  if (!iso) return "never";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function say(node, text, kind = "error") {
  node.textContent = text;
  node.className = "message " + (text ? kind : "");
}

// Copies the value of the input `button.dataset.copy` names, or else `text`.
export async function copy(button, text) {
  const input = button.dataset.copy ? $(button.dataset.copy) : null;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(input ? input.value : text);
    button.textContent = "Copied";
  } catch {
    if (input) {
      input.select();
      button.textContent = "Selected: press Ctrl+C";
    } else {
      button.textContent = "Copy failed: select the text";
    }
  }
  setTimeout(() => { button.textContent = label; }, 2500);
}

// How many minutes the request inspector keeps every request's body when asked.
export const INSPECT_MINUTES = 30;

// The request inspector window's state, and what its button does next.
export function inspection(until) {
  const open = until && new Date(until) > new Date();
  return open
    ? { text: `Keeping what every request sends (secrets hidden) until ${when(until)}.`, button: "Stop keeping them", minutes: 0 }
    : { text: "Keeping what failed requests send (secrets hidden). To see what a request that succeeded sent, keep every request's for a while.",
      button: `Keep every request's for ${INSPECT_MINUTES} minutes`, minutes: INSPECT_MINUTES };
}

// Puts what `build()` makes (a node or a list of nodes) in `box`, unless `data` is what
// it shows already: a refresh that changes nothing leaves the page as its user left it
// (a confirm step under way, an opened "What was sent"), and one that changes it keeps
// what was opened open.
export function show(box, data, build) {
  const key = JSON.stringify(data);
  if (box.dataset.shown === key) return;
  const open = new Set([...box.querySelectorAll("details[open][data-key]")].map((d) => d.dataset.key));
  box.replaceChildren(...[].concat(build()));
  box.dataset.shown = key;
  for (const d of box.querySelectorAll("details[data-key]")) d.open = open.has(d.dataset.key);
}

// An error in place of what `box` showed (the next [`show`] draws again).
export function showError(box, message) {
  delete box.dataset.shown;
  box.replaceChildren(el("p", { class: "error", text: message }));
}

// A logged SCIM request's path below its directory's base URL, with the user or group
// it was about.
export function target(r) {
  const path = r.path.replace(/^\/scim\/v2\/[0-9a-f-]{36}/, "") || "/";
  return r.resource ? `${path} (${r.resource})` : path;
}

// What a request sent (the request inspector), pretty-printed where it is JSON; null
// when nothing was kept.
export function sent(r) {
  if (!r.body) return null;
  let text = r.body;
  try { text = JSON.stringify(JSON.parse(r.body), null, 2); } catch { /* cut or described: as kept */ }
  return el("details", { class: "sent", "data-key": `${r.at} ${r.method} ${r.path}` },
    el("summary", { text: "What was sent" }), el("pre", {}, el("code", { text })));
}

// A confirm step in place of `button`: `action` runs only after a second, explicit
// click on a button labelled `label` (read out as `confirmLabel`); Cancel puts the
// button back.
export function confirming(button, label, action, confirmLabel = label) {
  const box = el("span", { class: "actions inline" });
  const yes = el("button", { type: "button", class: "danger", text: label, "aria-label": confirmLabel });
  const no = el("button", { type: "button", class: "secondary", text: "Cancel" });
  const arm = (armed) => { box.replaceChildren(...(armed ? [yes, no] : [button])); (armed ? yes : button).focus(); };
  button.addEventListener("click", () => arm(true));
  no.addEventListener("click", () => arm(false));
  yes.addEventListener("click", action);
  box.append(button);
  return box;
}
