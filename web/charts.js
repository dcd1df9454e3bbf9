// SVG line charts drawn by the dashboard itself (no library): a time axis, a y axis with round
// ticks, one path per series (gaps where a sample is null), a legend and a hover read-out.
import { h, fmtClock, fmtTime } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 200, ML = 52, MR = 14, MT = 12, MB = 24;

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// The smallest of 1, 2, 2.5, 5 x 10^k at least x.
function niceCeil(x) {
  if (!(x > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

// One SVG path "d" for values on the chart, with a new sub-path after each null.
function pathOf(t, values, x, y) {
  let d = "";
  let pen = false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined || Number.isNaN(v)) {
      pen = false;
      continue;
    }
    d += (pen ? "L" : "M") + x(t[i]).toFixed(1) + "," + y(v).toFixed(1);
    pen = true;
  }
  return d;
}

// Points with no sample on either side: drawn as dots (a path of one point is invisible).
function isolated(values) {
  const ok = (i) => i >= 0 && i < values.length && values[i] !== null && values[i] !== undefined;
  const out = [];
  for (let i = 0; i < values.length; i++) if (ok(i) && !ok(i - 1) && !ok(i + 1)) out.push(i);
  return out;
}

// Axis labels: at most three significant digits, no trailing zeros (0.075, 50, 1.2k).
function tick(v) {
  if (v >= 10000) return Number((v / 1000).toPrecision(3)) + "k";
  return String(Number(v.toPrecision(3)));
}

// lineChart({title, t: [unix ms], series: [{label, values, cls}], format: v => text,
//            axis: v => y-axis label, yMax: optional fixed top, empty: text when there is no sample})
export function lineChart({ title, t, series, format, axis, yMax, empty }) {
  const values = series.flatMap((se) => se.values).filter((v) => v !== null && v !== undefined);
  const last = (se) => {
    for (let i = se.values.length - 1; i >= 0; i--) if (se.values[i] !== null) return se.values[i];
    return null;
  };
  const readout = h("span", { class: "chart-readout" },
    series.map((se) => `${se.label} ${last(se) === null ? "–" : format(last(se))}`).join(" · "));
  const figure = h("figure", { class: "chart", dataset: { chart: title } },
    h("figcaption", {}, h("span", { class: "chart-title" }, title), readout));
  if (t.length < 2 || values.length === 0) {
    figure.append(h("div", { class: "chart-empty" }, t.length < 2
      ? "collecting: one sample every 2 s" : empty || "no data in the last hour yet"));
    return figure;
  }
  const t0 = t[0], t1 = t[t.length - 1];
  const top = yMax ?? 4 * niceCeil((Math.max(...values) * 1.1) / 4);  // round quarters
  const x = (ts) => ML + ((ts - t0) / Math.max(1, t1 - t0)) * (W - ML - MR);
  const y = (v) => MT + (1 - Math.min(v, top) / top) * (H - MT - MB);
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img",
    "aria-label": `${title}, last value ${readout.textContent}`,
  });
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    svg.append(s("line", { x1: ML, x2: W - MR, y1: y(v), y2: y(v), class: "grid" }),
      s("text", { x: ML - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" }, (axis || tick)(v)));
  }
  const step = (t1 - t0) > 20 * 60e3 ? 10 * 60e3 : (t1 - t0) > 4 * 60e3 ? 60e3 : 15e3;
  for (let ts = Math.ceil(t0 / step) * step; ts <= t1; ts += step) {
    svg.append(s("line", { x1: x(ts), x2: x(ts), y1: MT, y2: H - MB, class: "grid" }),
      s("text", { x: x(ts), y: H - 6, class: "axis", "text-anchor": "middle" },
        fmtClock(ts, step < 60e3)));
  }
  for (const se of series) {
    svg.append(s("path", { d: pathOf(t, se.values, x, y), class: "line " + (se.cls || "") }));
    for (const i of isolated(se.values)) {
      svg.append(s("circle", { cx: x(t[i]), cy: y(se.values[i]), r: 2.5, class: "dot " + (se.cls || "") }));
    }
  }
  const cursor = s("line", { x1: 0, x2: 0, y1: MT, y2: H - MB, class: "cursor hidden" });
  const hit = s("rect", { x: ML, y: MT, width: W - ML - MR, height: H - MT - MB, class: "hit" });
  svg.append(cursor, hit);
  hit.addEventListener("mousemove", (ev) => {
    const box = svg.getBoundingClientRect();
    const ts = t0 + ((((ev.clientX - box.left) / box.width) * W - ML) / (W - ML - MR)) * (t1 - t0);
    let i = 0;
    while (i < t.length - 1 && t[i + 1] <= ts) i++;
    cursor.setAttribute("x1", x(t[i]));
    cursor.setAttribute("x2", x(t[i]));
    cursor.classList.remove("hidden");
    readout.textContent = fmtTime(t[i]) + "  " + series
      .map((se) => `${se.label} ${se.values[i] === null ? "–" : format(se.values[i])}`).join(" · ");
  });
  hit.addEventListener("mouseleave", () => cursor.classList.add("hidden"));
  const legend = series.length > 1
    ? h("div", { class: "legend" }, series.map((se) => h("span", { class: "key " + (se.cls || "") }, se.label)))
    : null;
  figure.append(svg);
  if (legend) figure.append(legend);
  return figure;
}
