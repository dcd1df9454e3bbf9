// Overview page: the server's numbers (GET /v1/stats) and charts over the last hour
// (GET /v1/stats/history). One request per poll: polls alternate between the two routes, every
// POLL_MS, and stop while the tab is hidden.
import { api } from "./api.js";
import { lineChart } from "./charts.js";
import { h, fill, card, kpi, notice, fmtInt, fmtNum, fmtMs, fmtPercent, fmtBytes,
  fmtDuration } from "./dom.js";

export const POLL_MS = 2500;

function lastValue(values) {
  for (let i = (values || []).length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

function kpis(stats, history) {
  const rec = (stats.latency_ms || {}).recommendations || {};
  const fresh = stats.freshness_ms || {};
  const live = stats.live_quality;
  const eps = history ? lastValue(history.events_per_s) : null;
  const hr = live ? live["hr@10"] : null;
  return h("div", { class: "kpis" },
    kpi("Events", fmtInt(stats.events), { metric: "events", raw: stats.events,
      sub: `${fmtInt(stats.duplicates)} duplicates` }),
    kpi("Events / s", fmtNum(eps), { metric: "events_per_s", raw: eps ?? "", sub: "last 2 s interval" }),
    kpi("Users", fmtInt(stats.users), { metric: "users", raw: stats.users }),
    kpi("Items", fmtInt(stats.items), { metric: "items", raw: stats.items,
      sub: `${fmtInt(stats.deleted_items)} deleted` }),
    kpi("Recommend p99", fmtMs(rec.p99), { metric: "recommend_latency", raw: rec.p99 ?? "",
      sub: `p50 ${fmtMs(rec.p50)} · ${fmtInt(rec.count || 0)} lists served` }),
    kpi("Freshness p99", fmtMs(fresh.p99), { metric: "freshness_p99", raw: fresh.p99 ?? "",
      sub: "event acknowledged → visible" }),
    kpi("Live HR@10", live ? (hr === null ? "no lists yet" : fmtPercent(hr)) : "not available",
      { metric: "live_hr10", raw: hr ?? "",
        sub: live ? `${fmtInt(live.hits)} hits of ${fmtInt(live.lists)} lists` : "server without live quality" }),
    kpi("Uptime", fmtDuration(stats.uptime_s), { metric: "uptime", raw: stats.uptime_s ?? "" }));
}

function modelsCard(stats) {
  const versions = stats.model_versions ||
    (stats.models || []).map((name) => ({ name, version: `${name}@${stats.applied_seq}` }));
  return card("Models",
    h("table", { class: "table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Model"), h("th", { scope: "col" }, "Version"))),
      h("tbody", {}, versions.map((m, i) => h("tr", { dataset: { model: m.name } },
        h("td", {}, m.name, i === 0 ? h("span", { class: "badge" }, "default") : null),
        h("td", { class: "mono" }, m.version))))),
    h("p", { class: "muted" }, "The version is the model at the last applied event (model@sequence)."));
}

function storageCard(stats) {
  const st = stats.storage;
  const row = (label, value, metric) => h("tr", {}, h("th", { scope: "row" }, label),
    h("td", { class: "num", dataset: metric ? { metric } : undefined }, value));
  return card("Storage",
    h("table", { class: "table kv" }, h("tbody", {},
      row("Event log", st ? fmtBytes(st.log_bytes) : "not available", "log_bytes"),
      row("Snapshots", st ? `${fmtInt(st.snapshots)} · ${fmtBytes(st.snapshot_bytes)}` : "not available",
        "snapshot_bytes"),
      row("Last snapshot at", `event ${fmtInt(stats.snapshot_seq)}`),
      row("Durable / applied", `${fmtInt(stats.durable_seq)} / ${fmtInt(stats.applied_seq)}`),
      row("Vector index", `${fmtInt((stats.vector_index || {}).items)} items`))));
}

function chartsOf(history) {
  const t = history.t || [];
  const perS = (v) => fmtNum(v);
  return h("div", { class: "charts" },
    lineChart({ title: "Events / s", t, series: [{ label: "events/s", values: history.events_per_s || [] }],
      format: perS }),
    lineChart({ title: "Recommendations / s", t,
      series: [{ label: "lists/s", values: history.recommendations_per_s || [] }], format: perS }),
    lineChart({ title: "Recommend latency (ms)", t, format: fmtNum, series: [
      { label: "p50", values: history.recommend_p50_ms || [] },
      { label: "p99", values: history.recommend_p99_ms || [], cls: "alt" }] }),
    lineChart({ title: "Freshness p99 (ms)", t, format: fmtNum,
      series: [{ label: "p99", values: history.freshness_p99_ms || [] }] }),
    lineChart({ title: "Live HR@10", t, yMax: 1, format: (v) => (100 * v).toFixed(1) + "%",
      axis: (v) => (100 * v).toFixed(0) + "%",
      series: [{ label: "HR@10", values: history.live_hr10 || [] }],
      empty: "no recommended list followed by an event yet" }));
}

export function renderOverview(root, ctx) {
  const state = { stats: null, history: null, historyError: null, tick: 0, busy: false };
  const head = h("div", { class: "page-head" }, h("h1", {}, "Overview"),
    h("span", { class: "muted", id: "updated" }, "loading…"));
  const body = h("div", { class: "overview" });
  fill(root, head, body);

  const draw = () => {
    if (!state.stats) return;
    const charts = state.history ? chartsOf(state.history)
      : notice(state.historyError && state.historyError.routeMissing ? "warn" : "error",
        state.historyError && state.historyError.routeMissing
          ? "Charts are not available: this server has no GET /v1/stats/history."
          : `Charts: ${state.historyError ? state.historyError.message : "loading"}`);
    fill(body, kpis(state.stats, state.history),
      card("Last hour", charts),
      h("div", { class: "grid-3" }, modelsCard(state.stats), storageCard(state.stats),
        card("Experiments", h("p", { class: "muted" },
          "Experiments and gate decisions are not part of this version of Flywheel; " +
          "they will appear here once the server reports them."))));
    fill(head.querySelector("#updated"), "updated " + new Date().toLocaleTimeString("en-GB"));
  };
  const loadStats = async () => { state.stats = await api("/v1/stats"); };
  const loadHistory = async () => {
    try {
      state.history = await api("/v1/stats/history");
      state.historyError = null;
    } catch (e) {
      state.historyError = e;
    }
  };
  const poll = async () => {
    if (document.hidden || state.busy) return;
    state.busy = true;
    try {
      await (state.tick++ % 2 === 0 ? loadStats() : loadHistory());
      draw();
      head.querySelector("#updated").classList.remove("stale");
    } catch (e) {
      if (e.status === 401) return ctx.showError(e);  // back to the sign-in form
      const updated = head.querySelector("#updated");
      fill(updated, `update failed at ${new Date().toLocaleTimeString("en-GB")}: ${e.message}`);
      updated.classList.add("stale");
    } finally {
      state.busy = false;
    }
  };
  const first = Promise.all([loadStats(), loadHistory()]).then(() => {
    draw();
    ctx.ready();
  }, (e) => ctx.fail(e));
  const timer = setInterval(poll, POLL_MS);
  return { done: first, stop: () => clearInterval(timer) };
}
