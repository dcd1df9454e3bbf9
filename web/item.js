// Item page: its content (GET /v1/items/{id}), how often it was recommended and clicked after
// that, and its similar items (GET /v1/items/{id}/similar).
import { api, enc } from "./api.js";
import { h, fill, card, notice, badge, kpi, fmtInt, fmtPercent, fmtTime } from "./dom.js";
import { loadTitles, recommendationRow, searchForm } from "./user.js";

function contentCard(item) {
  const attrs = Object.entries(item.attributes || {});
  const row = (label, ...value) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, ...value));
  return card("Content", h("table", { class: "table kv" }, h("tbody", {},
    row("Title", h("span", { id: "item-title" }, item.title ?? "(no title)")),
    row("Categories", (item.categories || []).length ? item.categories.map((c) => badge(c)) : "–"),
    row("Tags", (item.tags || []).length ? item.tags.map((t) => badge(t, "muted")) : "–"),
    row("Created", item.created ? fmtTime(item.created) : "–"),
    attrs.map(([k, v]) => row(k, String(v))))));
}

function countsOf(item) {
  const ctr = item.recommended ? item.clicked_after_recommended / item.recommended : null;
  return h("div", { class: "kpis" },
    kpi("Interactions", fmtInt(item.events), { metric: "item_events", raw: item.events }),
    kpi("Recommended", fmtInt(item.recommended), { metric: "recommended", raw: item.recommended,
      sub: "times in a served list" }),
    kpi("Clicked after", fmtInt(item.clicked_after_recommended), { metric: "clicked_after_recommended",
      raw: item.clicked_after_recommended, sub: "by a user whose last list held it" }),
    kpi("Click-through", fmtPercent(ctr), { metric: "ctr", raw: ctr ?? "" }));
}

export function renderItem(root, ctx, id) {
  fill(root, h("div", { class: "page-head" }, h("h1", {}, "Items"), searchForm("item", id)));
  if (!id) {
    root.append(h("p", { class: "muted" }, "Type an item id to see its content and similar items."));
    return { done: Promise.resolve().then(ctx.ready) };
  }
  const heading = h("div", { class: "entity-head" }, h("h2", { class: "entity" }, id));
  const info = h("div", {}, h("p", { class: "muted" }, "loading…"));
  const similar = h("div", {}, h("p", { class: "muted" }, "loading…"));
  root.append(heading, info, h("div", { class: "grid-2" }, h("div", { id: "item-content" }),
    card("Similar items", similar)));
  const content = root.querySelector("#item-content");
  const loadItem = api(`/v1/items/${enc(id)}`).then((item) => {
    fill(heading, h("h2", { class: "entity" }, item.title || id), h("span", { class: "mono muted" }, id),
      item.deleted ? badge("deleted", "warn") : null);
    fill(info, countsOf(item));
    fill(content, contentCard(item));
  }, (e) => fill(info, notice(e.routeMissing ? "warn" : "error", e.routeMissing
    ? "Not available: this server has no GET /v1/items/{id}."
    : e.status === 404 ? `No item ${id} in the catalogue.` : e.message)));
  const loadSimilar = api(`/v1/items/${enc(id)}/similar?k=10`).then(async (r) => {
    await loadTitles(r.items.map((it) => it.id));
    fill(similar, r.items.length ? h("ol", { class: "recs", id: "similar" },
      r.items.map((it, i) => recommendationRow(it, i + 1))) : h("p", { class: "muted" }, "None yet."),
    h("p", { class: "mono muted" }, r.model_version));
  }, (e) => fill(similar, notice(e.status === 404 ? "info" : "error", e.message)));
  return { done: Promise.all([loadItem, loadSimilar]).then(ctx.ready) };
}
