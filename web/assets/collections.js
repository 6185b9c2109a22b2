// Collections: the list, one collection (rename, delete, members and
// their roles) and its sources (the add form is in sources.js).
import { api, currentUser } from "./api.js";
import { h, clear, errorArea, showError, field, select, table, busy } from "./dom.js";
import { state, page, go, atLeast } from "./app.js";
import { sourcesPanel } from "./sources.js";

const ROLES = [["viewer", "viewer"], ["editor", "editor"], ["admin", "admin"], ["owner", "owner"]];

export async function collectionsPage() {
  const org = state.org;
  const listErr = errorArea();
  const list = h("div", {});
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200 });
  const err = errorArea();
  const btn = h("button", { type: "submit" }, "Create collection");
  const form = h("form", { class: "card", "aria-label": "New collection" },
    h("h2", {}, "New collection"), field("Name", name), err, btn);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(btn, err, async () => {
      const c = await api("POST", "/v1/orgs/" + org.id + "/collections", { name: name.value });
      go("#/c/" + c.id);
    });
  });
  page("Collections in " + org.name, listErr, list, form);
  try {
    const r = await api("GET", "/v1/orgs/" + org.id + "/collections");
    const rows = r.collections.map((c) => h("tr", {},
      h("td", {}, h("a", { href: "#/c/" + c.id }, c.name)), h("td", {}, c.role)));
    list.appendChild(rows.length ? table(["Name", "Your role"], rows, "Collections you may read")
      : h("p", { class: "muted" }, "No collections yet: create one below."));
  } catch (e) {
    showError(listErr, e);
  }
}

function renameForm(c) {
  const name = h("input", { type: "text", name: "name", value: c.name, required: true, maxlength: 200 });
  const err = errorArea();
  const btn = h("button", { type: "submit" }, "Rename");
  const form = h("form", { class: "inline", "aria-label": "Rename collection" },
    field("Name", name), btn, err);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(btn, err, async () => {
      await api("PATCH", "/v1/collections/" + c.id, { name: name.value });
      go("#/c/" + c.id);
    });
  });
  return form;
}

function deleteButton(c) {
  const err = errorArea();
  const btn = h("button", { type: "button", class: "danger" }, "Delete collection");
  btn.addEventListener("click", () => {
    if (!confirm("Delete the collection \u201c" + c.name + "\u201d, its sources and documents?")) return;
    busy(btn, err, async () => {
      await api("DELETE", "/v1/collections/" + c.id);
      go("#/collections");
    });
  });
  return h("div", { class: "actions" }, btn, err);
}

async function membersPanel(c) {
  const panel = h("section", { class: "card", "aria-labelledby": "cm-h" },
    h("h2", { id: "cm-h" }, "Members"));
  const err = errorArea();
  panel.appendChild(err);
  const admin = atLeast(c.role, "admin");
  const me = currentUser();
  let r;
  try {
    r = await api("GET", "/v1/collections/" + c.id + "/members");
  } catch (e) {
    showError(err, e);
    return panel;
  }
  const rows = r.members.map((m) => {
    const cells = [h("td", {}, m.email), h("td", {}, m.role)];
    if (admin) {
      const role = select("role", ROLES, m.role);
      role.setAttribute("aria-label", "Role of " + m.email);
      const rowErr = errorArea();
      const save = h("button", { type: "button" }, "Change role");
      save.addEventListener("click", () => busy(save, rowErr, async () => {
        await api("PATCH", "/v1/collections/" + c.id + "/members/" + m.user_id, { role: role.value });
        go("#/c/" + c.id);
      }));
      const del = h("button", { type: "button", class: "danger" },
        m.user_id === (me && me.id) ? "Leave" : "Remove");
      del.addEventListener("click", () => {
        if (!confirm("Remove " + m.email + " from this collection?")) return;
        busy(del, rowErr, async () => {
          await api("DELETE", "/v1/collections/" + c.id + "/members/" + m.user_id);
          go("#/c/" + c.id);
        });
      });
      cells.push(h("td", { class: "row-actions" }, role, save, del, rowErr));
    }
    return h("tr", {}, cells);
  });
  panel.appendChild(table(admin ? ["E-mail", "Role", "Change"] : ["E-mail", "Role"], rows));
  if (admin) {
    const email = h("input", { type: "email", name: "email", required: true });
    const role = select("role", ROLES, "viewer");
    const addErr = errorArea();
    const btn = h("button", { type: "submit" }, "Add member");
    const form = h("form", { class: "inline", "aria-label": "Add a member" },
      field("E-mail of an organization member", email), field("Role", role), btn, addErr);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy(btn, addErr, async () => {
        await api("POST", "/v1/collections/" + c.id + "/members", { email: email.value, role: role.value });
        go("#/c/" + c.id);
      });
    });
    panel.appendChild(form);
  }
  return panel;
}

export async function collectionPage(id) {
  const c = await api("GET", "/v1/collections/" + id);
  const top = h("section", { class: "card" },
    h("p", {}, "Your role: ", h("strong", {}, c.role)),
    atLeast(c.role, "admin") ? renameForm(c) : null,
    c.role === "owner" ? deleteButton(c) : null);
  const main = page(c.name, h("p", {}, h("a", { href: "#/collections" }, "\u2190 All collections")), top);
  const sources = h("div", {});
  main.appendChild(sources);
  main.appendChild(await membersPanel(c));
  clear(sources).appendChild(await sourcesPanel(c));
}
