// HTML rendering of the evaluation JSON document written by the harness (schema: see
// shared/guides/evaluation.md, "Reporting", plus the optional splits/series/latency blocks).
//
// The page is one self-contained HTML5 file: inline CSS, inline SVG, no JavaScript, no external
// resources, so it can be attached to a review or opened from disk. It holds:
//   - a title with dataset, protocol and K, and a summary (filters, warmup, events, commit,
//     machine, wall time, notes);
//   - a metrics table: one row per result (model, update, params), one column per metric key
//     found in any result (4 decimals), plus events/s and recommend latency p50/p99;
//   - a splits table (cold_user / cold_item / warm ...) when any result has "splits";
//   - one SVG line chart per metric found in any result's "series" (one polyline per result);
//     x is stream time (ts_ms, labelled YYYY-MM-DD) or, when no result has a non-zero ts_ms,
//     the "events" count, or else the window index;
//   - one SVG histogram per latency kind ("recommend", "observe", ...), bars grouped per bucket,
//     one colour per result, bar height = share of that result's calls in the bucket.
//
// Every string taken from the document is HTML-escaped. Missing fields, wrong types, null/NaN
// values and empty arrays are skipped rather than reported: the renderer shows what is there.
//
// Thread safety: both functions are pure apart from the file write and may run concurrently.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "flywheel/status.h"

namespace flywheel::eval {

// Returns the HTML page for `doc`. Never throws: a section that fails to render is replaced by
// a short error paragraph and the rest of the page is still produced.
std::string RenderHtmlReport(const nlohmann::json& doc);

// Renders `doc` and writes it to `path` (created or truncated).
// Errors: kIoError naming `path` when the file cannot be opened, written or closed.
Status WriteHtmlReport(const nlohmann::json& doc, const std::string& path);

}  // namespace flywheel::eval
