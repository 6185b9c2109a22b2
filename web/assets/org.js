// The organization's pages: API keys (a new secret shown once), members
// and the audit log.
import { api, currentUser } from "./api.js";
import { h, clear, errorArea, showError, field, select, table, busy, when } from "./dom.js";
import { state, page, go, orgAdmin } from "./app.js";

const ORG_ROLES = [["member", "member"], ["admin", "admin"], ["owner", "owner"]];

// The secret, once: a read-only field, a copy button, and a way out.
function shownOnce(k) {
  const box = h("input", { type: "text", readonly: true, value: k.key, class: "secret", "aria-label": "The new key" });
  const note = h("span", { role: "status", class: "muted" });
  const copy = h("button", { type: "button" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(box.value);
      note.textContent = "Copied.";
    } catch (e) {
      box.select();
      note.textContent = "Select the key and copy it (Ctrl+C).";
    }
  });
  const done = h("button", { type: "button" }, "Done, hide it");
  const panel = h("section", { class: "card once", role: "region", "aria-label": "New API key" },
    h("h2", {}, "Key \u201c" + k.name + "\u201d"),
    h("p", {}, "Copy it now: it is shown this once and cannot be shown again."),
    h("div", { class: "inline" }, box, copy, note), done);
  done.addEventListener("click", () => { box.value = ""; panel.remove(); });
  return panel;
}

function scopeText(k, names) {
  return (k.collection_id ? names[k.collection_id] || "one collection" : "all collections") +
    (k.include_personal ? " + personal" : "");
}

export async function keysPage() {
  const org = state.org;
  const me = currentUser();
  const colls = (await api("GET", "/v1/orgs/" + org.id + "/collections")).collections;
  const names = {};
  colls.forEach((c) => { names[c.id] = c.name; });
  const once = h("div", {});
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 200 });
  const scope = select("collection_id", [["", "All collections of " + org.name]].concat(colls.map((c) => [c.id, c.name])), "");
  const personal = h("input", { type: "checkbox", name: "include_personal", id: "key-personal" });
  const cap = select("cap", [["read", "read only"], ["read-write", "read and write"]], "read");
  const expires = h("input", { type: "date", name: "expires_at" });
  const err = errorArea();
  const btn = h("button", { type: "submit" }, "Create key");
  const form = h("form", { class: "card", "aria-label": "New API key" },
    h("h2", {}, "New API key"), field("Name", name), field("Scope", scope),
    h("div", { class: "check" }, personal, h("label", { for: "key-personal" }, "Include my personal sources")),
    field("Access", cap), field("Expires", expires, "empty: never"), err, btn);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(btn, err, async () => {
      const body = { name: name.value, cap: cap.value, include_personal: personal.checked };
      if (scope.value) body.collection_id = scope.value;
      if (expires.value) body.expires_at = expires.value + "T00:00:00Z";
      const k = await api("POST", "/v1/orgs/" + org.id + "/api-keys", body);
      form.reset();
      await renderList();
      clear(once).appendChild(shownOnce(k));
      once.querySelector("input").focus();
    });
  });
  const listErr = errorArea();
  const listBox = h("div", {});
  const renderList = async () => {
    let r;
    try {
      r = await api("GET", "/v1/orgs/" + org.id + "/api-keys");
    } catch (e) {
      showError(listErr, e);
      return;
    }
    const rows = r.api_keys.map((k) => {
      const rowErr = errorArea();
      const acts = h("td", { class: "row-actions" });
      if (!k.revoked_at) {
        if (me && k.created_by === me.id) {
          const rot = h("button", { type: "button" }, "Rotate");
          rot.addEventListener("click", () => busy(rot, rowErr, async () => {
            const nk = await api("POST", "/v1/orgs/" + org.id + "/api-keys/" + k.id + "/rotate");
            await renderList();
            clear(once).appendChild(shownOnce(nk));
          }));
          acts.appendChild(rot);
        }
        const rev = h("button", { type: "button", class: "danger" }, "Revoke");
        rev.addEventListener("click", () => {
          if (!confirm("Revoke the key \u201c" + k.name + "\u201d? Programs using it stop working at once.")) return;
          busy(rev, rowErr, async () => {
            await api("DELETE", "/v1/orgs/" + org.id + "/api-keys/" + k.id);
            await renderList();
          });
        });
        acts.appendChild(rev);
      }
      acts.appendChild(rowErr);
      return h("tr", {}, h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix)),
        h("td", {}, scopeText(k, names)), h("td", {}, k.cap), h("td", {}, when(k.created_at)),
        h("td", {}, when(k.last_used_at)), h("td", {}, k.expires_at ? when(k.expires_at) : "never"),
        h("td", {}, k.revoked_at ? "revoked " + when(k.revoked_at) : "active"), acts);
    });
    clear(listBox).appendChild(rows.length ? table(["Name", "Prefix", "Scope", "Access", "Created",
      "Last used", "Expires", "State", ""], rows, orgAdmin() ? "Every key of the organization" : "Your keys")
      : h("p", { class: "muted" }, "No keys yet."));
  };
  await renderList();
  page("API keys", once, h("section", { class: "card" }, listErr, listBox), form);
}

export async function membersPage() {
  const org = state.org;
  const admin = orgAdmin();
  const r = await api("GET", "/v1/orgs/" + org.id + "/members");
  const roles = org.role === "owner" ? ORG_ROLES : ORG_ROLES.slice(0, 2);
  const rows = r.members.map((m) => {
    const cells = [h("td", {}, m.email), h("td", {}, m.name || ""), h("td", {}, m.role)];
    if (admin) {
      const rowErr = errorArea();
      const role = select("role", ORG_ROLES, m.role);
      role.setAttribute("aria-label", "Role of " + m.email);
      const save = h("button", { type: "button" }, "Change role");
      save.addEventListener("click", () => busy(save, rowErr, async () => {
        await api("PATCH", "/v1/orgs/" + org.id + "/members/" + m.user_id, { role: role.value });
        go("#/members");
      }));
      const del = h("button", { type: "button", class: "danger" }, "Remove");
      del.addEventListener("click", () => {
        if (!confirm("Remove " + m.email + " from " + org.name + "?")) return;
        busy(del, rowErr, async () => {
          await api("DELETE", "/v1/orgs/" + org.id + "/members/" + m.user_id);
          go("#/members");
        });
      });
      cells.push(h("td", { class: "row-actions" }, role, save, del, rowErr));
    }
    return h("tr", {}, cells);
  });
  const list = table(admin ? ["E-mail", "Name", "Role", "Change"] : ["E-mail", "Name", "Role"], rows);
  let form = null;
  if (admin) {
    const email = h("input", { type: "email", name: "email", required: true });
    const role = select("role", roles, "member");
    const name = h("input", { type: "text", name: "name" });
    const pw = h("input", { type: "password", name: "password", autocomplete: "new-password" });
    const err = errorArea();
    const btn = h("button", { type: "submit" }, "Add member");
    form = h("form", { class: "card", "aria-label": "Add a member" }, h("h2", {}, "Add a member"),
      field("E-mail", email), field("Role", role),
      field("Name (new users)", name), field("Password (new users)", pw, "only to create an account that does not exist"),
      err, btn);
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      busy(btn, err, async () => {
        const body = { email: email.value, role: role.value };
        if (pw.value) body.password = pw.value;
        if (name.value) body.name = name.value;
        try {
          await api("POST", "/v1/orgs/" + org.id + "/members", body);
        } finally {
          pw.value = "";
        }
        go("#/members");
      });
    });
  }
  page("Members of " + org.name, h("section", { class: "card" }, list), form);
}

export async function auditPage() {
  const org = state.org;
  if (!orgAdmin()) {
    page("Audit log", h("p", {}, "Only the organization's owners and admins read its audit log."));
    return;
  }
  const action = h("input", { type: "text", name: "action", placeholder: "auth.login", list: "audit-actions" });
  const outcome = select("outcome", [["", "any"], ["ok", "ok"], ["denied", "denied"]], "");
  const limit = select("limit", [["50", "50"], ["100", "100"], ["200", "200"]], "50");
  const err = errorArea();
  const btn = h("button", { type: "submit" }, "Show");
  const out = h("div", {});
  const more = h("button", { type: "button", hidden: true }, "Older entries");
  const ops = ["auth.login", "auth.logout", "auth.logout_refresh", "org.create", "member.add",
    "member.update", "member.remove", "collection.create", "collection.update", "collection.delete",
    "cmember.add", "cmember.update", "cmember.remove", "apikey.create", "apikey.revoke", "apikey.rotate"];
  const form = h("form", { class: "card inline", "aria-label": "Audit filters" },
    field("Action", action), h("datalist", { id: "audit-actions" }, ops.map((o) => h("option", { value: o }))),
    field("Outcome", outcome), field("Entries", limit), btn, err);
  let before = null;
  let rows = [];
  const load = async (reset) => {
    if (reset) { before = null; rows = []; }
    let q = "?limit=" + encodeURIComponent(limit.value);
    if (before) q += "&before=" + encodeURIComponent(before);
    if (action.value.trim()) q += "&action=" + encodeURIComponent(action.value.trim());
    const r = await api("GET", "/v1/orgs/" + org.id + "/audit" + q);
    if (r.entries.length) before = r.entries[r.entries.length - 1].id;
    more.hidden = r.entries.length < Number(limit.value);
    rows = rows.concat(r.entries.filter((e) => !outcome.value || e.outcome === outcome.value).map((e) =>
      h("tr", { class: e.outcome === "denied" ? "denied" : null }, h("td", {}, when(e.at)),
        h("td", {}, e.actor_user || "—"), h("td", {}, e.actor_key || ""), h("td", {}, e.action),
        h("td", {}, e.target || ""), h("td", {}, e.outcome), h("td", {}, e.client || ""))));
    clear(out).appendChild(rows.length ? table(["When", "User", "Key", "Action", "Target", "Outcome", "Client"], rows)
      : h("p", { class: "muted" }, "No entries."));
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); busy(btn, err, () => load(true)); });
  more.addEventListener("click", () => busy(more, err, () => load(false)));
  page("Audit log", form, h("section", { class: "card" }, out, more));
  await load(true);
}
