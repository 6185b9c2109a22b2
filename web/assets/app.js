// The Ballast web console: a page per hash route, built with dom.js and
// talking to the REST API through api.js.  The server decides every
// request; the console only hides the controls a role cannot use.
import { api, login, logout, refresh, currentUser, signedIn } from "./api.js";
import { h, clear, errorArea, showError, field, select, table, busy, when } from "./dom.js";
import { collectionsPage, collectionPage } from "./collections.js";
import { sourcePage } from "./sources.js";
import { searchPage, documentPage } from "./search.js";
import { keysPage, membersPage, auditPage } from "./org.js";

const main = document.getElementById("main");
const header = document.getElementById("top");
const nav = document.getElementById("nav");
const orgSelect = document.getElementById("org-select");

// What every page may read: who is signed in, in which organization.
export const state = {
  me: null,        // GET /v1/me
  org: null,       // {id, name, role} of the chosen organization
  seq: 0,          // bumped on every navigation: stale pollers stop
};

export const ORG_ADMIN = new Set(["owner", "admin"]);
const RANK = { viewer: 1, editor: 2, admin: 3, owner: 4 };
export function atLeast(role, want) { return (RANK[role] || 0) >= RANK[want]; }
export function orgAdmin() { return state.org !== null && ORG_ADMIN.has(state.org.role); }

export function go(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

export function page(title, ...kids) {
  document.title = title + " · Ballast";
  clear(main);
  main.appendChild(h("h1", {}, title));
  for (const k of kids) if (k) main.appendChild(k);
  return main;
}

export function stillOn(seq) { return seq === state.seq; }

async function loadMe() {
  state.me = await api("GET", "/v1/me");
  const saved = localStorage.getItem("ballast.org");
  const orgs = state.me.orgs || [];
  state.org = orgs.find((o) => o.id === saved) || orgs[0] || null;
  clear(orgSelect);
  for (const o of orgs)
    orgSelect.appendChild(h("option", { value: o.id, selected: state.org && o.id === state.org.id },
      o.name + " (" + o.role + ")"));
  document.getElementById("who").textContent = state.me.user.email;
}

function navigation() {
  const links = [["#/collections", "Collections"], ["#/search", "Search"],
    ["#/keys", "API keys"], ["#/members", "Members"]];
  if (orgAdmin()) links.push(["#/audit", "Audit log"]);
  clear(nav);
  const cur = location.hash.split("/").slice(0, 2).join("/");
  nav.appendChild(h("ul", {}, links.map(([href, label]) =>
    h("li", {}, h("a", { href, "aria-current": href === cur ? "page" : null }, label)))));
}

function signinPage() {
  header.hidden = true;
  const err = errorArea();
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const pw = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const btn = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "card narrow", "aria-label": "Sign in" },
    field("E-mail address", email), field("Password", pw), err, btn);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(btn, err, async () => {
      await login(email.value, pw.value);
      pw.value = "";
      await loadMe();
      const back = sessionStorage.getItem("ballast.back");
      sessionStorage.removeItem("ballast.back");
      go(back && back !== "#/signin" ? back : "#/collections");
    });
  });
  page("Sign in to Ballast", form);
  email.focus();
}

const routes = [
  [/^#\/collections$/, () => collectionsPage()],
  [/^#\/c\/([0-9a-f-]{36})$/, (m) => collectionPage(m[1])],
  [/^#\/s\/([0-9a-f-]{36})$/, (m) => sourcePage(m[1])],
  [/^#\/search$/, () => searchPage()],
  [/^#\/d\/([0-9a-f-]{36})\/([0-9a-f-]{36})$/, (m) => documentPage(m[1], m[2])],
  [/^#\/keys$/, () => keysPage()],
  [/^#\/members$/, () => membersPage()],
  [/^#\/audit$/, () => auditPage()],
];

async function render() {
  state.seq++;
  const hash = location.hash || "#/collections";
  if (!signedIn() || state.me === null) {
    if (hash !== "#/signin") sessionStorage.setItem("ballast.back", hash);
    if (hash !== "#/signin") { location.hash = "#/signin"; return; }
    signinPage();
    return;
  }
  if (hash === "#/signin") { location.hash = "#/collections"; return; }
  header.hidden = false;
  navigation();
  if (state.org === null) {
    page("No organization", h("p", {}, "You are not a member of any organization yet."));
    return;
  }
  for (const [rx, fn] of routes) {
    const m = hash.match(rx);
    if (m) {
      try {
        await fn(m);
      } catch (e) {
        const err = errorArea();
        showError(err, e);
        page("Something went wrong", err);
      }
      main.focus({ preventScroll: true });
      return;
    }
  }
  page("Not found", h("p", {}, "There is no such page. "),
    h("a", { href: "#/collections" }, "Go to collections"));
}

orgSelect.addEventListener("change", () => {
  const o = (state.me.orgs || []).find((x) => x.id === orgSelect.value);
  if (!o) return;
  state.org = o;
  localStorage.setItem("ballast.org", o.id);
  go(location.hash.startsWith("#/c/") || location.hash.startsWith("#/s/") ||
    location.hash.startsWith("#/d/") ? "#/collections" : location.hash);
});

document.getElementById("signout").addEventListener("click", async () => {
  try { await logout(); } catch (e) { /* signed out here anyway */ }
  state.me = null;
  state.org = null;
  sessionStorage.removeItem("ballast.back");
  location.hash = "#/signin";
  render();
});

window.addEventListener("hashchange", render);

async function boot() {
  try {
    await refresh();
    await loadMe();
  } catch (e) {
    state.me = null;
  }
  render();
}

// Re-exported for the pages.
export { api, currentUser, h, clear, errorArea, showError, field, select, table, busy, when };
boot();
