// Building the page without HTML strings: every text goes in as a text
// node, so nothing a server or a user typed is ever parsed as markup.

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function")
      el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  add(el, kids);
  return el;
}

function add(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) add(el, k);
    else if (k instanceof Node) el.appendChild(k);
    else el.appendChild(document.createTextNode(String(k)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// The API's snippet is escaped text with <mark>...</mark> around matched
// words.  Rebuild it: the pieces between the tags are un-escaped into
// text nodes, the marked ones into <mark> elements.  Anything else that
// looks like a tag stays visible text.
const ENTITIES = { "&lt;": "<", "&gt;": ">", "&quot;": "\"", "&#39;": "'", "&amp;": "&" };

export function unescapeText(s) {
  return s.replace(/&(lt|gt|quot|#39|amp);/g, (m) => ENTITIES[m]);
}

export function snippet(html) {
  const out = h("span", { class: "snippet" });
  const parts = String(html || "").split(/(<mark>|<\/mark>)/);
  let marked = false;
  for (const p of parts) {
    if (p === "<mark>") { marked = true; continue; }
    if (p === "</mark>") { marked = false; continue; }
    if (p === "") continue;
    const text = unescapeText(p);
    out.appendChild(marked ? h("mark", {}, text) : document.createTextNode(text));
  }
  return out;
}

// Only web links become links: never javascript: or data: URLs.
export function safeUrl(u) {
  if (typeof u !== "string" || u === "") return null;
  try {
    const url = new URL(u, location.origin);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

export function when(t) {
  if (!t) return "—";
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toLocaleString();
}

// An error shown where it happened: a live region inside the form/panel.
export function errorArea() {
  return h("p", { class: "error", role: "alert", hidden: true });
}

export function showError(area, e) {
  area.textContent = e ? (e.message || String(e)) : "";
  area.hidden = !e;
}

export function field(label, input, hint) {
  const id = input.id || ("f" + Math.random().toString(36).slice(2));
  input.id = id;
  return h("div", { class: "field" },
    h("label", { for: id }, label), input,
    hint ? h("small", { class: "hint" }, hint) : null);
}

export function select(name, options, value) {
  return h("select", { name },
    options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}

export function table(headers, rows, caption) {
  return h("div", { class: "table-wrap" },
    h("table", {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
      h("tbody", {}, rows)));
}

// Run an action from a button, showing progress and errors beside it.
export async function busy(button, area, fn) {
  button.disabled = true;
  showError(area, null);
  try {
    return await fn();
  } catch (e) {
    showError(area, e);
    return undefined;
  } finally {
    button.disabled = false;
  }
}
