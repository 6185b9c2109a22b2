// Search: query, mode, collection and filters; results with their
// highlighted snippets (dom.js snippet(): the <mark> tags rebuilt as
// elements, every other byte text) and links.  And one document.
import { api } from "./api.js";
import { h, clear, errorArea, showError, field, select, busy, snippet, safeUrl, when } from "./dom.js";
import { state, page } from "./app.js";

let last = null;   // the last search of this tab, to come back to

function isoDay(v, end) {
  if (!v) return undefined;
  return v + (end ? "T23:59:59Z" : "T00:00:00Z");
}

function resultItem(r, names) {
  const url = safeUrl(r.url);
  const title = r.title || r.external_id || "(untitled)";
  return h("li", { class: "result" },
    h("h3", {}, url ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, title) : title),
    h("p", { class: "meta" }, (names[r.collection_id] || "collection") +
      (r.source ? " \u00b7 " + r.source : "") + " \u00b7 " + r.external_id),
    h("p", {}, snippet(r.snippet)),
    h("p", {}, h("a", { href: "#/d/" + r.collection_id + "/" + r.document_id }, "Open the document")));
}

export async function searchPage() {
  const org = state.org;
  const colls = (await api("GET", "/v1/orgs/" + org.id + "/collections")).collections;
  const names = {};
  colls.forEach((c) => { names[c.id] = c.name; });
  const q = h("input", { type: "search", name: "query", required: true, maxlength: 1024 });
  const mode = select("mode", [["hybrid", "Hybrid"], ["keyword", "Keyword"], ["vector", "Meaning (vector)"]], "hybrid");
  const coll = select("collection", [["", "All collections of " + org.name]].concat(colls.map((c) => [c.id, c.name])), "");
  const source = h("input", { type: "text", name: "source" });
  const after = h("input", { type: "date", name: "after" });
  const before = h("input", { type: "date", name: "before" });
  const meta = h("input", { type: "text", name: "metadata", placeholder: "{\"team\": \"ops\"}" });
  const limit = select("limit", [["10", "10"], ["25", "25"], ["50", "50"]], "10");
  const err = errorArea();
  const btn = h("button", { type: "submit", class: "primary" }, "Search");
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card search", role: "search", "aria-label": "Search" },
    h("div", { class: "search-row" }, field("Search for", q), field("Mode", mode), btn),
    h("details", {}, h("summary", {}, "Filters"),
      h("div", { class: "grid" }, field("Collection", coll), field("Source", source, "a source's id or name tag"),
        field("Updated on or after", after), field("Updated before", before),
        field("Metadata contains (JSON)", meta), field("Results", limit))),
    err);
  const run = async () => {
    const body = { query: q.value, mode: mode.value, limit: Number(limit.value) };
    const filters = {};
    if (source.value) filters.source = source.value;
    if (after.value) filters.updated_after = isoDay(after.value, false);
    if (before.value) filters.updated_before = isoDay(before.value, false);
    if (meta.value.trim()) {
      try { filters.metadata = JSON.parse(meta.value); } catch (e) { throw new Error("Metadata: not JSON"); }
    }
    if (Object.keys(filters).length) body.filters = filters;
    const path = coll.value ? "/v1/collections/" + coll.value + "/search" : "/v1/search";
    const r = await api("POST", path, body);
    last = { query: q.value, mode: mode.value, coll: coll.value };
    clear(out);
    out.appendChild(h("p", { class: "muted" }, r.results.length + " result" +
      (r.results.length === 1 ? "" : "s") + " in " + r.took_ms + " ms"));
    if (r.results.length)
      out.appendChild(h("ol", { class: "results" }, r.results.map((x) => resultItem(x, names))));
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); busy(btn, err, run); });
  page("Search", form, out);
  if (last) {
    q.value = last.query;
    mode.value = last.mode;
    coll.value = last.coll;
  }
  q.focus();
}

export async function documentPage(cid, id) {
  const d = await api("GET", "/v1/collections/" + cid + "/documents/" + id);
  const url = safeUrl(d.url);
  page(d.title || d.external_id,
    h("p", {}, h("a", { href: "#/search" }, "\u2190 Search")),
    h("section", { class: "card" },
      h("dl", { class: "facts" },
        h("dt", {}, "External id"), h("dd", {}, d.external_id),
        h("dt", {}, "Source"), h("dd", {}, d.source || "—"),
        h("dt", {}, "Link"), h("dd", {}, url ? h("a", { href: url, rel: "noopener noreferrer", target: "_blank" }, d.url) : (d.url || "—")),
        h("dt", {}, "Updated"), h("dd", {}, when(d.updated_at)),
        h("dt", {}, "Metadata"), h("dd", {}, h("pre", {}, JSON.stringify(d.metadata || {}, null, 2)))),
      h("pre", { class: "doc-text" }, d.text)));
}
