// A collection's sources: the list and the add form (one set of fields
// per connector), and one source's page (credential, schedule, sync
// now, job history, progress of a running sync by polling).
// A credential is typed once, sent once and never shown: the API only
// says whether one is set and when it was last replaced.
import { api } from "./api.js";
import { h, clear, errorArea, showError, field, select, table, busy, when } from "./dom.js";
import { state, page, go, atLeast, stillOn } from "./app.js";

const TYPES = [["files", "Files on the server"], ["postgres", "PostgreSQL query"],
  ["http", "Web feed (RSS, Atom, JSON)"], ["imap", "Mailbox (IMAP)"]];
const POLL_MS = 1500;

function input(name, attrs) {
  return h("input", Object.assign({ type: "text", name }, attrs || {}));
}

function list(s) {
  return s.split(",").map((x) => x.trim()).filter((x) => x !== "");
}

// Per type: the fields, and how they become config and credentials.
const CONNECTORS = {
  files: () => {
    const path = input("path", { required: true, placeholder: "/srv/docs" });
    const ext = input("extensions", { placeholder: ".md, .txt" });
    return {
      fields: [field("Folder (absolute, below a sync root of the server)", path),
        field("File extensions", ext, "comma-separated; empty for the default")],
      config: () => Object.assign({ path: path.value }, ext.value ? { extensions: list(ext.value) } : {}),
      credentials: () => undefined,
    };
  },
  postgres: () => {
    const f = { host: input("host", { required: true }), port: input("port", { type: "number", value: "5432" }),
      dbname: input("dbname", { required: true }), user: input("user", { required: true }),
      query: h("textarea", { name: "query", required: true, rows: 3 }),
      id_column: input("id_column", { required: true, value: "id" }),
      title_column: input("title_column"), text_columns: input("text_columns", { required: true }) };
    const pw = input("password", { type: "password", autocomplete: "new-password" });
    return {
      fields: [field("Host", f.host), field("Port", f.port), field("Database", f.dbname),
        field("User", f.user), field("Query", f.query), field("Id column", f.id_column),
        field("Title column", f.title_column), field("Text columns", f.text_columns, "comma-separated"),
        field("Password", pw, "sealed on arrival, never shown again")],
      config: () => {
        const c = { host: f.host.value, port: Number(f.port.value || 5432), dbname: f.dbname.value,
          user: f.user.value, query: f.query.value, id_column: f.id_column.value,
          text_columns: list(f.text_columns.value) };
        if (f.title_column.value) c.title_column = f.title_column.value;
        return c;
      },
      credentials: () => (pw.value ? pw.value : undefined),
      wipe: () => { pw.value = ""; },
    };
  },
  http: () => {
    const url = input("url", { type: "url", required: true, placeholder: "the feed's https address" });
    const format = select("format", [["auto", "auto"], ["rss", "RSS"], ["atom", "Atom"], ["json", "JSON"]], "auto");
    const auth = select("auth", [["none", "none"], ["bearer", "Bearer token"], ["header", "Custom header"]], "none");
    const hdr = input("auth_header", { placeholder: "X-Api-Token" });
    const tok = input("token", { type: "password", autocomplete: "new-password" });
    return {
      fields: [field("Feed URL", url), field("Format", format), field("Authentication", auth),
        field("Header name (custom header)", hdr), field("Token", tok, "sealed on arrival, never shown again")],
      config: () => {
        const c = { url: url.value, format: format.value, auth: auth.value };
        if (auth.value === "header") c.auth_header = hdr.value;
        return c;
      },
      credentials: () => (tok.value ? tok.value : undefined),
      wipe: () => { tok.value = ""; },
    };
  },
  imap: () => {
    const f = { host: input("host", { required: true }), port: input("port", { type: "number", value: "993" }),
      mailbox: input("mailbox", { value: "INBOX" }), username: input("username", { required: true }) };
    const pw = input("password", { type: "password", autocomplete: "new-password" });
    return {
      fields: [field("Host", f.host), field("Port", f.port), field("Mailbox", f.mailbox),
        field("User name", f.username), field("Password", pw, "sealed on arrival, never shown again")],
      config: () => ({ host: f.host.value, port: Number(f.port.value || 993),
        mailbox: f.mailbox.value || "INBOX", username: f.username.value }),
      credentials: () => (pw.value ? pw.value : undefined),
      wipe: () => { pw.value = ""; },
    };
  },
};

function scheduleText(s) {
  if (!s) return "manual";
  if (s % 86400 === 0) return "every " + s / 86400 + " d";
  if (s % 3600 === 0) return "every " + s / 3600 + " h";
  if (s % 60 === 0) return "every " + s / 60 + " min";
  return "every " + s + " s";
}

function credText(s) {
  if (!s.has_credentials) return "not set";
  return "set, rotated on " + when(s.credentials_rotated_at);
}

function addSourceForm(c) {
  const type = select("type", TYPES, "files");
  const name = input("name", { required: true, maxlength: 200 });
  const personal = h("input", { type: "checkbox", name: "personal" });
  const schedule = input("schedule_seconds", { type: "number", min: 0, max: 604800, value: "0" });
  const extra = h("textarea", { name: "extra", rows: 2, placeholder: "{\"max_file_size\": 1048576}" });
  const typed = h("div", { class: "typed" });
  const err = errorArea();
  const btn = h("button", { type: "submit" }, "Add source");
  let conn = null;
  const choose = () => { conn = CONNECTORS[type.value](); clear(typed); conn.fields.forEach((f) => typed.appendChild(f)); };
  type.addEventListener("change", choose);
  choose();
  const form = h("form", { class: "card", "aria-label": "Add a source" },
    h("h2", {}, "Add a source"), field("Type", type), field("Name", name), typed,
    field("More configuration (JSON object, optional)", extra),
    field("Schedule (seconds between runs)", schedule, "0 = manual only; else 60 to 604800"),
    h("div", { class: "check" }, personal, h("label", { for: personal.id = "personal-" + c.id },
      "Personal: only I can see this source and its documents")),
    err, btn);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(btn, err, async () => {
      let config = conn.config();
      if (extra.value.trim() !== "") {
        let more;
        try { more = JSON.parse(extra.value); } catch (e) { throw new Error("More configuration: not JSON"); }
        if (typeof more !== "object" || more === null || Array.isArray(more))
          throw new Error("More configuration: must be a JSON object");
        config = Object.assign(config, more);
      }
      const body = { type: type.value, name: name.value, config, personal: personal.checked,
        schedule_seconds: Number(schedule.value || 0) };
      const cred = conn.credentials();
      if (cred !== undefined) body.credentials = cred;
      try {
        const s = await api("POST", "/v1/collections/" + c.id + "/sources", body);
        go("#/s/" + s.id);
      } finally {
        if (conn.wipe) conn.wipe();
        body.credentials = undefined;
      }
    });
  });
  return form;
}

export async function sourcesPanel(c) {
  const panel = h("section", { class: "card", "aria-labelledby": "src-h" }, h("h2", { id: "src-h" }, "Sources"));
  const err = errorArea();
  panel.appendChild(err);
  try {
    const r = await api("GET", "/v1/collections/" + c.id + "/sources");
    const rows = r.sources.map((s) => h("tr", {},
      h("td", {}, h("a", { href: "#/s/" + s.id }, s.name)), h("td", {}, s.type),
      h("td", {}, s.personal ? "personal" : "shared"), h("td", {}, scheduleText(s.schedule_seconds)),
      h("td", {}, s.last_job ? s.last_job.state : "never run")));
    panel.appendChild(rows.length ? table(["Name", "Type", "Visibility", "Schedule", "Last sync"], rows)
      : h("p", { class: "muted" }, "No sources yet."));
  } catch (e) {
    showError(err, e);
  }
  const wrap = h("div", {}, panel);
  if (atLeast(c.role, "editor")) wrap.appendChild(addSourceForm(c));
  return wrap;
}

function jobRow(j, editor, reload) {
  const cells = [h("td", {}, h("span", { class: "state " + j.state }, j.state)), h("td", {}, j.trigger),
    h("td", {}, when(j.created_at)), h("td", {}, when(j.finished_at)),
    h("td", { class: "num" }, j.added), h("td", { class: "num" }, j.updated),
    h("td", { class: "num" }, j.unchanged), h("td", { class: "num" }, j.deleted),
    h("td", { class: "num" }, j.failed), h("td", { class: "err-text" }, j.error || "")];
  if (editor) {
    const td = h("td", {});
    if (j.state === "pending" || j.state === "running") {
      const e = errorArea();
      const b = h("button", { type: "button" }, j.cancel_requested ? "Cancelling…" : "Cancel");
      b.disabled = j.cancel_requested;
      b.addEventListener("click", () => busy(b, e, async () => {
        await api("POST", "/v1/jobs/" + j.id + "/cancel");
        reload();
      }));
      td.append(b, e);
    }
    cells.push(td);
  }
  return h("tr", {}, cells);
}

function progressOf(jobs) {
  const live = jobs.find((j) => j.state === "pending" || j.state === "running");
  if (!live) return null;
  const done = live.added + live.updated + live.unchanged + live.deleted;
  return h("div", { class: "progress", role: "status" },
    h("progress", { "aria-label": "Sync in progress" }),
    " Sync " + live.state + (live.state === "running" ? ": " + done + " documents so far (" +
      live.added + " added, " + live.updated + " updated, " + live.failed + " failed)" : "…"));
}

async function jobsPanel(s, editor, seq) {
  const panel = h("section", { class: "card", "aria-labelledby": "jobs-h" });
  const status = h("div", { "aria-live": "polite" });
  const body = h("div", {});
  const err = errorArea();
  panel.append(h("h2", { id: "jobs-h" }, "Sync history"), status, err, body);
  const load = async () => {
    if (!stillOn(seq)) return;
    let r;
    try {
      r = await api("GET", "/v1/sources/" + s.id + "/jobs?limit=20");
      showError(err, null);
    } catch (e) {
      showError(err, e);
      return;
    }
    if (!stillOn(seq)) return;
    clear(status);
    const p = progressOf(r.jobs);
    if (p) status.appendChild(p);
    clear(body).appendChild(r.jobs.length ? table(["State", "Trigger", "Started", "Finished", "Added",
      "Updated", "Unchanged", "Deleted", "Failed", "Error"].concat(editor ? [""] : []),
    r.jobs.map((j) => jobRow(j, editor, load))) : h("p", { class: "muted" }, "No runs yet."));
    if (p) setTimeout(load, POLL_MS);
  };
  await load();
  return { panel, load };
}

function settingsForm(s) {
  const name = input("name", { value: s.name, required: true, maxlength: 200 });
  const sched = input("schedule_seconds", { type: "number", min: 0, max: 604800, value: String(s.schedule_seconds) });
  const err = errorArea();
  const btn = h("button", { type: "submit" }, "Save");
  const form = h("form", { class: "inline", "aria-label": "Source settings" },
    field("Name", name), field("Schedule (seconds; 0 = manual)", sched), btn, err);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(btn, err, async () => {
      await api("PATCH", "/v1/sources/" + s.id, { name: name.value, schedule_seconds: Number(sched.value || 0) });
      go("#/s/" + s.id);
    });
  });
  return form;
}

function credentialForm(s) {
  const cred = input("credential", { type: "password", autocomplete: "new-password", required: true });
  const err = errorArea();
  const btn = h("button", { type: "submit" }, s.has_credentials ? "Replace credential" : "Set credential");
  const form = h("form", { class: "inline", "aria-label": "Credential" },
    field("New credential", cred, "sealed on arrival, never shown again"), btn, err);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(btn, err, async () => {
      try {
        await api("PUT", "/v1/sources/" + s.id + "/credentials", { credentials: cred.value });
      } finally {
        cred.value = "";
      }
      go("#/s/" + s.id);
    });
  });
  return form;
}

export async function sourcePage(id) {
  const seq = state.seq;
  const s = await api("GET", "/v1/sources/" + id);
  const c = await api("GET", "/v1/collections/" + s.collection_id);
  const editor = atLeast(c.role, "editor");
  const facts = h("dl", { class: "facts" },
    h("dt", {}, "Type"), h("dd", {}, s.type),
    h("dt", {}, "Collection"), h("dd", {}, h("a", { href: "#/c/" + c.id }, c.name)),
    h("dt", {}, "Visibility"), h("dd", {}, s.personal ? "personal (only you)" : "shared with the collection"),
    h("dt", {}, "Schedule"), h("dd", {}, scheduleText(s.schedule_seconds)),
    h("dt", {}, "Credential"), h("dd", { class: "cred" }, credText(s)),
    h("dt", {}, "Configuration"), h("dd", {}, h("pre", {}, JSON.stringify(s.config, null, 2))));
  const jobs = await jobsPanel(s, editor, seq);
  const actions = h("section", { class: "card" });
  if (editor) {
    const err = errorArea();
    const sync = h("button", { type: "button", class: "primary" }, "Sync now");
    sync.addEventListener("click", () => busy(sync, err, async () => {
      await api("POST", "/v1/sources/" + s.id + "/sync");
      await jobs.load();
    }));
    const del = h("button", { type: "button", class: "danger" }, "Delete source");
    del.addEventListener("click", () => {
      if (!confirm("Delete the source \u201c" + s.name + "\u201d and every document it synced?")) return;
      busy(del, err, async () => {
        await api("DELETE", "/v1/sources/" + s.id);
        go("#/c/" + c.id);
      });
    });
    actions.append(h("div", { class: "actions" }, sync, del), err, settingsForm(s), credentialForm(s));
  }
  page(s.name, h("p", {}, h("a", { href: "#/c/" + c.id }, "\u2190 " + c.name)),
    h("section", { class: "card" }, facts), editor ? actions : null, jobs.panel);
}
