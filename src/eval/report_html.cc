#include "eval/report_html.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "base/strings.h"
#include "base/time_util.h"
#include "eval/report_html_internal.h"

namespace flywheel::eval::html {

// ----- JSON access that never throws ---------------------------------------------------------

const json* Field(const json* obj, const char* key) {
  if (obj == nullptr || !obj->is_object()) {
    return nullptr;
  }
  const auto it = obj->find(key);
  return it == obj->end() ? nullptr : &*it;
}

// The value as a finite double, or nullopt for missing, null, NaN, infinities and non-numbers.
std::optional<double> Number(const json* value) {
  if (value == nullptr || !value->is_number()) {
    return std::nullopt;
  }
  const double number = value->get<double>();
  return std::isfinite(number) ? std::optional<double>(number) : std::nullopt;
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Plain text of a scalar (strings unquoted); compact JSON for objects and arrays; "" if missing.
std::string Text(const json* value) {
  if (value == nullptr || value->is_null()) {
    return "";
  }
  if (value->is_string()) {
    return value->get_ref<const std::string&>();
  }
  return Dump(*value);
}

// The result objects of doc["results"], in order (non-objects are skipped).
std::vector<const json*> Results(const json& doc) {
  std::vector<const json*> results;
  const json* list = Field(&doc, "results");
  if (list == nullptr || !list->is_array()) {
    return results;
  }
  for (const json& result : *list) {
    if (result.is_object()) {
      results.push_back(&result);
    }
  }
  return results;
}

// ----- Text formatting -----------------------------------------------------------------------

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, value);
  return buf;
}

constexpr const char* kMissing = "&ndash;";

std::string Fixed(std::optional<double> value, int decimals) {
  if (!value) {
    return kMissing;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, *value);
  return buf;
}

// 1234567 -> "1,234,567" (rounded to an integer).
std::string Count(double value) {
  if (!std::isfinite(value) || std::fabs(value) >= 9e15) {
    return Fmt("%.3g", value);
  }
  const std::string digits = Fmt("%.0f", std::fabs(value));
  std::string out = value <= -0.5 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return out;
}

// Milliseconds since the epoch -> "YYYY-MM-DD" (UTC).
std::string Date(double ts_ms) {
  if (!std::isfinite(ts_ms) || std::fabs(ts_ms) > 1e15) {
    return "?";
  }
  return base::FormatIso8601(static_cast<TimestampMs>(ts_ms)).substr(0, 10);
}

// Bucket bounds and latencies in ms: "0.0316", "1.78", "562", "10000".
std::string Ms(double ms) {
  return ms >= 100 ? Fmt("%.0f", ms) : Fmt("%.3g", ms);
}

// {"a": 1, "b": "x"} -> "a=1, b=x" (escaped); other values -> their escaped text.
std::string KeyValues(const json* value) {
  if (value == nullptr || !value->is_object()) {
    return Escape(Text(value));
  }
  std::string out;
  for (const auto& [key, item] : value->items()) {
    out += (out.empty() ? "" : ", ") + Escape(key) + "=" + Escape(Text(&item));
  }
  return out;
}

// "itemknn (online)": the name used for a result in tables, legends and tooltips (unescaped).
std::string ResultLabel(const json& result) {
  std::string label = Text(Field(&result, "model"));
  const std::string update = Text(Field(&result, "update"));
  if (label.empty()) {
    label = "?";
  }
  return update.empty() ? label : label + " (" + update + ")";
}

// ----- Metric keys ---------------------------------------------------------------------------

// Sort key: known metric families first in a fixed order, then by the cutoff after '@'.
std::tuple<int, std::string, double, std::string> MetricSortKey(const std::string& key) {
  static constexpr std::string_view kFamilies[] = {
      "hr", "precision", "recall", "f1", "ndcg", "mrr", "coverage", "popularity_percentile"};
  const size_t at = key.find('@');
  const std::string family = key.substr(0, at);
  int rank = static_cast<int>(std::size(kFamilies));
  for (size_t i = 0; i < std::size(kFamilies); ++i) {
    if (family == kFamilies[i]) {
      rank = static_cast<int>(i);
    }
  }
  const double cutoff = at == std::string::npos ? 0.0 : std::atof(key.c_str() + at + 1);
  return {rank, family, cutoff, key};
}

// Union of the keys of the objects (null pointers and non-objects skipped), minus `skip`,
// restricted to array values when `arrays_only`; in metric order.
std::vector<std::string> UnionKeys(const std::vector<const json*>& objects,
                                   const std::set<std::string>& skip, bool arrays_only) {
  std::set<std::string> keys;
  for (const json* object : objects) {
    if (object == nullptr || !object->is_object()) {
      continue;
    }
    for (const auto& [key, value] : object->items()) {
      if (!skip.count(key) && (!arrays_only || value.is_array())) {
        keys.insert(key);
      }
    }
  }
  std::vector<std::string> sorted(keys.begin(), keys.end());
  std::sort(sorted.begin(), sorted.end(), [](const std::string& a, const std::string& b) {
    return MetricSortKey(a) < MetricSortKey(b);
  });
  return sorted;
}

std::vector<const json*> Children(const std::vector<const json*>& results, const char* key) {
  std::vector<const json*> children;
  children.reserve(results.size());
  for (const json* result : results) {
    children.push_back(Field(result, key));
  }
  return children;
}

// A table cell for a metric value: 4 decimals for numbers, escaped text otherwise.
std::string MetricCell(const json* value) {
  if (value != nullptr && value->is_number()) {
    return Fixed(Number(value), 4);
  }
  return value == nullptr || value->is_null() ? kMissing : Escape(Text(value));
}

namespace {

// ----- HTML building blocks ------------------------------------------------------------------

constexpr std::string_view kStyle = R"(<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;
color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
.sub{color:#666;margin-top:0}
table{border-collapse:collapse;margin:8px 0}
th,td{padding:4px 10px;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.summary th{background:none;font-weight:600;color:#555}
figure{margin:16px 0}figcaption{font-weight:600;margin-bottom:4px}
svg{max-width:100%;height:auto}.error{color:#b00}
</style>
)";

std::string Cell(const std::string& html, bool numeric, const char* tag = "td") {
  return std::string("<") + tag + (numeric ? " class=\"num\">" : ">") + html + "</" + tag + ">";
}

std::string HeaderRow(const std::vector<std::string>& names, size_t first_numeric) {
  std::string row = "<tr>";
  for (size_t i = 0; i < names.size(); ++i) {
    row += Cell(Escape(names[i]), i >= first_numeric, "th");
  }
  return row + "</tr>\n";
}

void AppendSummaryRow(const char* name, const std::string& html, std::string* out) {
  if (!html.empty()) {
    *out += "<tr><th>" + std::string(name) + "</th><td>" + html + "</td></tr>\n";
  }
}

std::string Title(const json& doc) {
  std::string title = "Flywheel evaluation";
  const std::string dataset = Text(Field(&doc, "dataset"));
  return dataset.empty() ? title : title + ": " + dataset;
}

void AppendHeading(const json& doc, std::string* out) {
  *out += "<h1>" + Escape(Title(doc)) + "</h1>\n<p class=\"sub\">";
  const std::string protocol = Text(Field(&doc, "protocol"));
  const std::string k = Text(Field(&doc, "k"));
  if (!protocol.empty()) {
    *out += "protocol <b>" + Escape(protocol) + "</b>";
  }
  if (!k.empty()) {
    *out += (protocol.empty() ? "" : " &middot; ") + std::string("K = <b>") + Escape(k) + "</b>";
  }
  *out += "</p>\n";
}

std::string EventsScored(const json& doc) {
  const std::optional<double> scored = Number(Field(&doc, "events_scored"));
  const std::optional<double> total = Number(Field(&doc, "events_total"));
  if (!scored) {
    return Escape(Text(Field(&doc, "events_scored")));
  }
  if (!total || *total <= 0) {
    return Count(*scored);
  }
  return Count(*scored) + " (" + Fmt("%.1f", 100.0 * *scored / *total) + "% of total)";
}

void AppendNotes(const json& doc, std::string* out) {
  const json* notes = Field(&doc, "notes");
  if (notes == nullptr || notes->is_null() || (notes->is_array() && notes->empty())) {
    return;
  }
  *out += "<h2>Notes</h2>\n<ul>\n";
  if (!notes->is_array()) {
    *out += "<li>" + Escape(Text(notes)) + "</li>\n";
  } else {
    for (const json& note : *notes) {
      *out += "<li>" + Escape(Text(&note)) + "</li>\n";
    }
  }
  *out += "</ul>\n";
}

void AppendSummary(const json& doc, std::string* out) {
  *out += "<h2>Run</h2>\n<table class=\"summary\">\n";
  AppendSummaryRow("Dataset", Escape(Text(Field(&doc, "dataset"))), out);
  AppendSummaryRow("Protocol", Escape(Text(Field(&doc, "protocol"))), out);
  AppendSummaryRow("K", Escape(Text(Field(&doc, "k"))), out);
  AppendSummaryRow("Filters", KeyValues(Field(&doc, "filters")), out);
  AppendSummaryRow("Warmup", Escape(Text(Field(&doc, "warmup"))), out);
  const std::optional<double> total = Number(Field(&doc, "events_total"));
  AppendSummaryRow("Events total", total ? Count(*total) : "", out);
  AppendSummaryRow("Events scored", EventsScored(doc), out);
  AppendSummaryRow("Commit", Escape(Text(Field(&doc, "commit"))), out);
  AppendSummaryRow("Machine", Escape(Text(Field(&doc, "machine"))), out);
  const std::optional<double> seconds = Number(Field(&doc, "seconds"));
  AppendSummaryRow("Wall time", seconds ? Fmt("%.1f s", *seconds) : "", out);
  *out += "</table>\n";
  AppendNotes(doc, out);
}

// ----- Tables --------------------------------------------------------------------------------

// Recommend latency percentile from the flat field or, failing that, from "latency".
std::optional<double> RecommendMs(const json& result, const char* flat, const char* nested) {
  const std::optional<double> value = Number(Field(&result, flat));
  return value ? value : Number(Field(Field(Field(&result, "latency"), "recommend"), nested));
}

std::string MetricsRow(const json& result, const std::vector<std::string>& keys) {
  std::string row = "<tr>" + Cell(Escape(Text(Field(&result, "model"))), false) +
                    Cell(Escape(Text(Field(&result, "update"))), false) +
                    Cell(KeyValues(Field(&result, "params")), false);
  const json* metrics = Field(&result, "metrics");
  for (const std::string& key : keys) {
    row += Cell(MetricCell(Field(metrics, key.c_str())), true);
  }
  const std::optional<double> rate = Number(Field(&result, "events_per_second"));
  row += Cell(rate ? Count(*rate) : kMissing, true);
  row += Cell(Fixed(RecommendMs(result, "recommend_ms_p50", "p50_ms"), 3), true);
  row += Cell(Fixed(RecommendMs(result, "recommend_ms_p99", "p99_ms"), 3), true);
  row += Cell(Fixed(Number(Field(&result, "seconds")), 2), true);
  return row + "</tr>\n";
}

void AppendMetricsTable(const std::vector<const json*>& results, std::string* out) {
  *out += "<h2>Metrics</h2>\n";
  if (results.empty()) {
    *out += "<p>No results.</p>\n";
    return;
  }
  const std::vector<std::string> keys = UnionKeys(Children(results, "metrics"), {}, false);
  std::vector<std::string> names = {"model", "update", "params"};
  names.insert(names.end(), keys.begin(), keys.end());
  names.insert(names.end(), {"events/s", "rec p50 ms", "rec p99 ms", "seconds"});
  *out += "<table class=\"metrics\">\n" + HeaderRow(names, 3);
  for (const json* result : results) {
    *out += MetricsRow(*result, keys);
  }
  *out += "</table>\n";
}

// The "splits" object of a result, or nullptr.
const json* SplitsOf(const json* result) {
  const json* splits = Field(result, "splits");
  return splits != nullptr && splits->is_object() ? splits : nullptr;
}

void AppendSplitRows(const json& result, const std::vector<std::string>& keys, std::string* out) {
  for (const auto& [name, split] : SplitsOf(&result)->items()) {
    const std::optional<double> count = Number(Field(&split, "count"));
    *out += "<tr>" + Cell(Escape(Text(Field(&result, "model"))), false) +
            Cell(Escape(Text(Field(&result, "update"))), false) + Cell(Escape(name), false) +
            Cell(count ? Count(*count) : kMissing, true);
    for (const std::string& key : keys) {
      *out += Cell(MetricCell(Field(&split, key.c_str())), true);
    }
    *out += "</tr>\n";
  }
}

void AppendSplitsTable(const std::vector<const json*>& results, std::string* out) {
  std::vector<const json*> splits;  // every split object of every result
  for (const json* result : results) {
    const json* by_name = SplitsOf(result);
    if (by_name == nullptr) {
      continue;
    }
    for (const json& split : *by_name) {
      splits.push_back(&split);
    }
  }
  if (splits.empty()) {
    return;
  }
  const std::vector<std::string> keys = UnionKeys(splits, {"count"}, false);
  std::vector<std::string> names = {"model", "update", "split", "count"};
  names.insert(names.end(), keys.begin(), keys.end());
  *out += "<h2>Splits</h2>\n<table class=\"splits\">\n" + HeaderRow(names, 3);
  for (const json* result : results) {
    if (SplitsOf(result) != nullptr) {
      AppendSplitRows(*result, keys, out);
    }
  }
  *out += "</table>\n";
}

// ----- Page ----------------------------------------------------------------------------------

// Runs one section renderer; if it throws, the section becomes an error paragraph.
template <typename Render>
void AppendSection(const char* name, Render render, std::string* out) {
  std::string html;
  try {
    render(&html);
    *out += html;
  } catch (const std::exception& e) {
    *out += "<p class=\"error\">" + std::string(name) +
            " could not be rendered: " + Escape(e.what()) + "</p>\n";
  }
}

std::string RenderPage(const json& doc) {
  const std::vector<const json*> results = Results(doc);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<title>" + Escape(Title(doc)) + "</title>\n" + std::string(kStyle) + "</head>\n<body>\n";
  AppendSection(
      "heading", [&](std::string* html) { AppendHeading(doc, html); }, &out);
  AppendSection(
      "summary", [&](std::string* html) { AppendSummary(doc, html); }, &out);
  AppendSection(
      "metrics", [&](std::string* html) { AppendMetricsTable(results, html); }, &out);
  AppendSection(
      "splits", [&](std::string* html) { AppendSplitsTable(results, html); }, &out);
  AppendSection(
      "series", [&](std::string* html) { AppendSeriesCharts(results, html); }, &out);
  AppendSection(
      "latency", [&](std::string* html) { AppendLatencyHistograms(results, html); }, &out);
  return out + "</body>\n</html>\n";
}

}  // namespace
}  // namespace flywheel::eval::html

namespace flywheel::eval {

using html::RenderPage;

std::string RenderHtmlReport(const nlohmann::json& doc) {
  try {
    return RenderPage(doc);
  } catch (const std::exception&) {
    // Only reachable when memory runs out while assembling the page.
    return "<!DOCTYPE html>\n<html><body><p>report could not be rendered</p></body></html>\n";
  }
}

Status WriteHtmlReport(const nlohmann::json& doc, const std::string& path) {
  const std::string html = RenderHtmlReport(doc);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return Status::IoError("eval: cannot open html report '" + path +
                           "': " + base::ErrnoString(errno));
  }
  const bool written = std::fwrite(html.data(), 1, html.size(), file) == html.size();
  const int write_errno = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    return Status::IoError("eval: cannot write html report '" + path +
                           "': " + base::ErrnoString(written ? errno : write_errno));
  }
  return Status::Ok();
}

}  // namespace flywheel::eval
