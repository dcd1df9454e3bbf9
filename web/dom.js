// DOM and formatting helpers of the dashboard. Every text goes through textContent (never
// innerHTML): ids, titles and reasons come from users of the API and are shown as text only.

// h("div", {class: "card", onclick: f}, child, "text", [more]) -> an element.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) {
      el.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// Replaces the children of `el`.
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

// 12345 -> "12,345"; null -> "–".
export function fmtInt(n) {
  return n === null || n === undefined || Number.isNaN(n) ? "–" : integer.format(n);
}

// A number with about three significant digits: 0.0123 -> "0.0123", 12.34 -> "12.3".
export function fmtNum(n, digits = 3) {
  if (n === null || n === undefined || Number.isNaN(n)) return "–";
  if (Number.isInteger(n)) return integer.format(n);
  const abs = Math.abs(n);
  if (abs >= 1000) return integer.format(n);
  const decimals = Math.max(0, Math.min(4, digits - 1 - Math.floor(Math.log10(abs))));
  return n.toFixed(decimals);
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms >= 1000) return fmtNum(ms / 1000) + " s";
  return fmtNum(ms) + " ms";
}

export function fmtPercent(x) {
  return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + " %";
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? String(v) : fmtNum(v)) + " " + units[i];
}

export function fmtDuration(s) {
  if (s === null || s === undefined) return "–";
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d} d ${hh} h`;
  if (hh > 0) return `${hh} h ${mm} min`;
  if (mm > 0) return `${mm} min ${Math.floor(s % 60)} s`;
  return `${Math.floor(s)} s`;
}

const pad = (n) => String(n).padStart(2, "0");

// Unix milliseconds -> "2026-12-06 18:55:01" (local time).
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return "–";
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtClock(ms, seconds = false) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}` + (seconds ? `:${pad(d.getSeconds())}` : "");
}

// A link to a page of the dashboard.
export function pageLink(kind, id, text) {
  return h("a", { href: `#/${kind}/${encodeURIComponent(id)}` }, text ?? id);
}

// A labelled value: <div class="kpi"><span>label</span><strong data-metric=..>value</strong></div>
export function kpi(label, value, { metric, raw, sub, tone } = {}) {
  return h("div", { class: "kpi" + (tone ? " " + tone : "") },
    h("span", { class: "kpi-label" }, label),
    h("strong", { class: "kpi-value", dataset: metric ? { metric, value: raw ?? "" } : undefined }, value),
    sub ? h("span", { class: "kpi-sub" }, sub) : null);
}

export function card(title, ...children) {
  return h("section", { class: "card", "aria-label": title },
    h("h2", {}, title), ...children);
}

// A notice (kind: info | warn | error) with role=status or alert.
export function notice(kind, ...children) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

export function badge(text, kind = "") {
  return h("span", { class: "badge " + kind }, text);
}
