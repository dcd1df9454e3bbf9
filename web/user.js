// User page: search by id; recent history with titles and event types (GET /v1/users/{id}),
// current recommendations with reasons and explain weights (GET .../recommendations?explain=true),
// "what changes if this user clicks X" (POST .../recommendations/dry-run), and "forget user"
// (DELETE /v1/users/{id}, admin key, confirmed).
import { api, enc } from "./api.js";
import { h, fill, card, notice, badge, pageLink, fmtNum, fmtTime, fmtInt } from "./dom.js";

const EVENT_TYPES = ["click", "view", "cart", "fav", "purchase", "like", "share", "play", "rating"];
const titles = new Map();  // item id -> title (null when none), shared by the pages of a visit

// Titles of `ids` from GET /v1/items/{id} (cached; unknown or unavailable -> null).
export async function loadTitles(ids) {
  await Promise.all(ids.filter((id) => !titles.has(id)).map(async (id) => {
    try {
      titles.set(id, (await api(`/v1/items/${enc(id)}`)).title ?? null);
    } catch {
      titles.set(id, null);
    }
  }));
}

export function itemLabel(id) {
  const title = titles.get(id);
  return h("span", { class: "item-label" }, pageLink("item", id, title || id),
    title ? h("span", { class: "mono muted" }, " " + id) : null);
}

function weightBar(weight) {
  const bar = h("span", { class: "bar-fill" });
  bar.style.width = `${Math.round(100 * Math.max(0, Math.min(1, weight)))}%`;
  return h("span", { class: "bar", title: fmtNum(weight) }, bar);
}

// One recommended item: rank, title, score, reason, and with explain the seeds and their shares.
export function recommendationRow(item, rank, mark) {
  const ex = item.explanation;
  return h("li", { class: "rec" + (mark ? " " + mark.cls : ""), dataset: { item: item.id } },
    h("span", { class: "rank" }, String(rank)),
    h("div", { class: "rec-main" },
      h("div", { class: "rec-title" }, itemLabel(item.id),
        item.exploration ? badge("exploration", "info") : null,
        mark ? badge(mark.text, mark.cls) : null),
      h("div", { class: "reason" }, item.reason || ""),
      ex ? h("div", { class: "explain" }, badge(ex.source, "muted"),
        h("ul", { class: "because" }, (ex.because || []).map((b) => h("li", {},
          pageLink("item", b.item, titles.get(b.item) || b.item), weightBar(b.weight),
          h("span", { class: "num" }, fmtNum(b.weight)))))) : null),
    h("span", { class: "score num", title: "score" }, fmtNum(item.score)));
}

function historyTable(user) {
  if (!user.history.length) return h("p", { class: "muted" }, "No events.");
  return h("div", { class: "table-wrap" }, h("table", { class: "table" },
    h("thead", {}, h("tr", {}, ["When", "Type", "Item", "Value"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, user.history.map((e) => h("tr", { dataset: { item: e.item } },
      h("td", { class: "nowrap" }, fmtTime(e.ts)),
      h("td", {}, badge(e.type, "type")),
      h("td", {}, pageLink("item", e.item, e.title || e.item),
        e.title ? h("span", { class: "mono muted" }, " " + e.item) : null),
      h("td", { class: "num" }, fmtNum(e.value)))))));
}

// Marks of the dry-run: new, up/down by n, dropped.
function diffMarks(before, after) {
  const rankBefore = new Map(before.map((it, i) => [it.id, i]));
  const rankAfter = new Map(after.map((it, i) => [it.id, i]));
  const markAfter = after.map((it, i) => {
    if (!rankBefore.has(it.id)) return { cls: "added", text: "new" };
    const d = rankBefore.get(it.id) - i;
    if (d > 0) return { cls: "up", text: `▲ ${d}` };
    if (d < 0) return { cls: "down", text: `▼ ${-d}` };
    return null;
  });
  const markBefore = before.map((it) => (rankAfter.has(it.id) ? null : { cls: "dropped", text: "dropped" }));
  return { markBefore, markAfter };
}

function dryRunCard(id, params) {
  const out = h("div", { class: "dry-run-out", "aria-live": "polite" });
  const item = h("input", { id: "dry-item", name: "item", required: true, placeholder: "item id", autocomplete: "off" });
  const type = h("select", { id: "dry-type", name: "type" }, EVENT_TYPES.map((t) => h("option", { value: t }, t)));
  const run = async (ev) => {
    ev.preventDefault();
    fill(out, h("p", { class: "muted" }, "computing…"));
    try {
      const r = await api(`/v1/users/${enc(id)}/recommendations/dry-run`, { method: "POST",
        body: { event: { item: item.value.trim(), type: type.value }, k: 10, explain: true } });
      const before = r.before.items || [], after = r.after.items || [];
      await loadTitles([...before, ...after].flatMap((it) =>
        [it.id, ...((it.explanation || {}).because || []).map((b) => b.item)]));
      const { markBefore, markAfter } = diffMarks(before, after);
      const changed = markAfter.filter(Boolean).length + markBefore.filter(Boolean).length;
      fill(out, h("p", { class: "muted", dataset: { changed } }, changed
        ? `${changed} change${changed > 1 ? "s" : ""} if ${id} ${type.value}s ${item.value.trim()}; nothing was logged.`
        : "No change to the list; nothing was logged."),
      h("div", { class: "side-by-side" },
        h("div", {}, h("h3", {}, "Now"), h("ol", { class: "recs", id: "dry-before" },
          before.map((it, i) => recommendationRow(it, i + 1, markBefore[i])))),
        h("div", {}, h("h3", {}, `After the ${type.value}`), h("ol", { class: "recs", id: "dry-after" },
          after.map((it, i) => recommendationRow(it, i + 1, markAfter[i]))))));
    } catch (e) {
      fill(out, notice(e.routeMissing ? "warn" : "error", e.routeMissing
        ? "Not available: this server has no dry-run route (POST /v1/users/{id}/recommendations/dry-run)."
        : e.message));
    }
  };
  const form = h("form", { class: "inline-form", onsubmit: run },
      h("label", { for: "dry-type" }, "does"), type,
      h("label", { for: "dry-item" }, "on item"), item,
      h("button", { type: "submit", class: "primary" }, "Preview"));
  // A link can carry the what-if: #/user/<id>?try=<item>&type=<event type>.
  let ran = Promise.resolve();
  if (params && params.get("try")) {
    item.value = params.get("try");
    if (EVENT_TYPES.includes(params.get("type"))) type.value = params.get("type");
    ran = run({ preventDefault() {} });
  }
  return { el: card("What changes if this user…", form, out), ran };
}

export function searchForm(kind, value) {
  const input = h("input", { type: "search", name: "id", id: `${kind}-search`, value: value || "",
    placeholder: `${kind} id`, required: true, autocomplete: "off", "aria-label": `${kind} id` });
  return h("form", { class: "search", role: "search", onsubmit: (ev) => {
    ev.preventDefault();
    location.hash = `#/${kind}/${enc(input.value.trim())}`;
  } }, input, h("button", { type: "submit", class: "primary" }, "Open"));
}

async function forget(id, ctx) {
  const r = await ctx.adminAction({ title: `Forget user ${id}?`,
    text: "Their id, events, model rows and attributes are removed for good (a snapshot is " +
      "written and older log segments holding their events are deleted). This cannot be undone.",
    confirm: "Forget user", danger: true, call: (key) => api(`/v1/users/${enc(id)}`, { method: "DELETE", key }) });
  if (r) {
    ctx.toast(`User ${id} forgotten (snapshot at event ${fmtInt(r.snapshot_seq)}).`);
    ctx.refresh();
  }
}

export function renderUser(root, ctx, id, params) {
  fill(root, h("div", { class: "page-head" }, h("h1", {}, "Users"), searchForm("user", id)));
  if (!id) {
    root.append(h("p", { class: "muted" }, "Type a user id to see their history and recommendations."));
    return { done: Promise.resolve().then(ctx.ready) };
  }
  const recs = h("div", {}, h("p", { class: "muted" }, "loading…"));
  const hist = h("div", {}, h("p", { class: "muted" }, "loading…"));
  const heading = h("div", { class: "entity-head" }, h("h2", { class: "entity" }, id),
    h("button", { type: "button", class: "danger push", onclick: () => forget(id, ctx).catch(ctx.showError) }, "Forget user"));
  const dry = dryRunCard(id, params);
  root.append(heading, h("div", { class: "grid-2" },
    card("Recommendations", recs), card("Recent history", hist)), dry.el);
  const loadRecs = api(`/v1/users/${enc(id)}/recommendations?k=10&explain=true`).then(async (r) => {
    const ids = r.items.flatMap((it) => [it.id, ...((it.explanation || {}).because || []).map((b) => b.item)]);
    await loadTitles(ids);
    heading.querySelector(".push").before(
      badge(r.known_user ? "known user" : "unknown user: popular items", r.known_user ? "ok" : "warn"),
      h("span", { class: "mono muted" }, r.model_version));
    fill(recs, r.items.length ? h("ol", { class: "recs", id: "recs" },
      r.items.map((it, i) => recommendationRow(it, i + 1))) : h("p", { class: "muted" }, "No recommendation."));
  }, (e) => fill(recs, notice("error", e.message)));
  const loadHist = api(`/v1/users/${enc(id)}?limit=50`).then((u) => {
    const attrs = Object.entries(u.attributes || {});
    fill(hist, attrs.length ? h("p", { class: "attributes", id: "user-attributes" },
      attrs.map(([k, v]) => badge(`${k}: ${v}`, "muted"))) : null,
    h("p", { class: "muted" }, `${fmtInt(u.events)} events; the latest ${u.history.length}:`),
    historyTable(u));
  }, (e) => fill(hist, notice(e.routeMissing ? "warn" : e.status === 404 ? "info" : "error",
    e.routeMissing ? "Not available: this server has no GET /v1/users/{id}."
      : e.status === 404 ? `No event from user ${id} yet.` : e.message)));
  return { done: Promise.all([loadRecs, loadHist, dry.ran]).then(ctx.ready) };
}
