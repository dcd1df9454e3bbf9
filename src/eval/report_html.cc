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

namespace flywheel::eval {
namespace {

using nlohmann::json;

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

// ----- SVG plumbing --------------------------------------------------------------------------

constexpr double kLeft = 70;  // plot area inside the SVG
constexpr double kTop = 20;
constexpr double kPlotWidth = 520;
constexpr double kPlotHeight = 230;
constexpr double kLegendX = kLeft + kPlotWidth + 24;
constexpr double kLegendCharWidth = 6.5;  // rough width of one 11px character

std::string Colour(size_t index) {
  static constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  return kPalette[index % std::size(kPalette)];
}

// Past ten results the colours repeat; a dash pattern keeps lines apart.
std::string DashAttribute(size_t index) {
  static constexpr const char* kDashes[] = {"", " stroke-dasharray=\"6 3\"",
                                            " stroke-dasharray=\"2 2\""};
  return kDashes[index / 10 % std::size(kDashes)];
}

std::string Coord(double value) {
  return Fmt("%.1f", value);
}

// Opens an <svg> sized for the plot plus a legend with one row per label. Styling is given as
// attributes, so the SVG also renders on its own (copied out of the page).
std::string SvgOpen(const std::string& title, const std::vector<std::string>& legend) {
  size_t longest = 10;
  for (const std::string& label : legend) {
    longest = std::max(longest, label.size());
  }
  const double width = kLegendX + 30 + kLegendCharWidth * static_cast<double>(longest);
  const double height =
      std::max(kTop + kPlotHeight + 60, kTop + 20 + 18.0 * static_cast<double>(legend.size()));
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Coord(width) + "\" height=\"" +
         Coord(height) + "\" viewBox=\"0 0 " + Coord(width) + " " + Coord(height) +
         "\" role=\"img\" font-family=\"sans-serif\" font-size=\"11\"><title>" + Escape(title) +
         "</title>\n";
}

std::string SvgText(double x, double y, const std::string& html, const char* anchor,
                    const char* css_class = nullptr) {
  return "<text x=\"" + Coord(x) + "\" y=\"" + Coord(y) + "\" text-anchor=\"" + anchor + "\"" +
         (css_class ? std::string(" class=\"") + css_class + "\" font-size=\"12\"" : "") + ">" +
         html + "</text>\n";
}

// Linear map from data to SVG coordinates; ranges are never empty.
struct Plot {
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double X(double x) const { return kLeft + (x - x_min) / (x_max - x_min) * kPlotWidth; }
  double Y(double y) const {
    return kTop + kPlotHeight - (y - y_min) / (y_max - y_min) * kPlotHeight;
  }
};

// The smallest "nice" step (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten) >= raw.
double NiceStep(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) {
    return 1.0;
  }
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double mantissa : {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0}) {
    if (mantissa * magnitude >= raw * (1 - 1e-9)) {
      return mantissa * magnitude;
    }
  }
  return 10.0 * magnitude;
}

// Raises y_max so that the four gridline intervals are nice round steps.
void RoundUpYRange(Plot* plot) {
  plot->y_max = plot->y_min + 4 * NiceStep((plot->y_max - plot->y_min) / 4);
}

// Gridlines and labels at 0, 1/4, ..., 1 of the y range (so 0 and the max are always ticked),
// the axis lines, and the axis titles.
void AppendAxes(const Plot& plot, const std::string& x_label, const std::string& y_label,
                std::string (*format_y)(double), std::string* out) {
  for (int i = 0; i <= 4; ++i) {
    const double value = plot.y_min + (plot.y_max - plot.y_min) * i / 4.0;
    const std::string y = Coord(plot.Y(value));
    *out += "<line class=\"grid\" stroke=\"#e6e6e6\" x1=\"" + Coord(kLeft) + "\" x2=\"";
    *out += Coord(kLeft + kPlotWidth) + "\" y1=\"" + y + "\" y2=\"" + y + "\"/>\n";
    *out += SvgText(kLeft - 6, plot.Y(value) + 4, format_y(value), "end");
  }
  *out += "<path class=\"axis\" fill=\"none\" stroke=\"#666\" d=\"M" + Coord(kLeft) + "," +
          Coord(kTop) + " V" + Coord(kTop + kPlotHeight) + " H" + Coord(kLeft + kPlotWidth) +
          "\"/>\n";
  *out +=
      SvgText(kLeft + kPlotWidth / 2, kTop + kPlotHeight + 52, Escape(x_label), "middle", "label");
  *out += "<text transform=\"translate(16," + Coord(kTop + kPlotHeight / 2) +
          ") rotate(-90)\" text-anchor=\"middle\" class=\"label\" font-size=\"12\">" +
          Escape(y_label) + "</text>\n";
}

void AppendLegendEntry(size_t row, size_t colour_index, const std::string& label, bool bar,
                       std::string* out) {
  const double y = kTop + 10 + 18.0 * static_cast<double>(row);
  const std::string colour = Colour(colour_index);
  if (bar) {
    *out += "<rect x=\"" + Coord(kLegendX) + "\" y=\"" + Coord(y - 9) +
            "\" width=\"18\" height=\"10\" fill=\"" + colour + "\" fill-opacity=\"0.85\"/>\n";
  } else {
    *out += "<line x1=\"" + Coord(kLegendX) + "\" x2=\"" + Coord(kLegendX + 18) + "\" y1=\"" +
            Coord(y - 4) + "\" y2=\"" + Coord(y - 4) + "\" stroke=\"" + colour +
            "\" stroke-width=\"2\"" + DashAttribute(colour_index) + "/>\n";
  }
  *out += SvgText(kLegendX + 24, y, Escape(label), "start");
}

std::string FormatValue(double value) {
  return Fmt("%.4g", value);
}
std::string FormatPercent(double share) {
  return Fmt("%.3g%%", 100.0 * share);
}

// ----- Line charts of "series" ---------------------------------------------------------------

enum class XAxis { kTime, kEvents, kIndex };

struct Point {
  double x;
  double y;
};

struct Line {
  std::string label;
  size_t index;  // position in results: picks the colour
  std::vector<Point> points;
};

bool AnyNumberInArrays(const std::vector<const json*>& series, const char* key, bool positive) {
  for (const json* one : series) {
    const json* values = Field(one, key);
    for (size_t i = 0; values != nullptr && values->is_array() && i < values->size(); ++i) {
      const std::optional<double> value = Number(&(*values)[i]);
      if (value && (!positive || *value != 0)) {
        return true;
      }
    }
  }
  return false;
}

// Time when any result has a non-zero ts_ms; else events; else the window index.
XAxis ChooseXAxis(const std::vector<const json*>& series) {
  if (AnyNumberInArrays(series, "ts_ms", true)) {
    return XAxis::kTime;
  }
  return AnyNumberInArrays(series, "events", false) ? XAxis::kEvents : XAxis::kIndex;
}

std::string XAxisLabel(const std::vector<const json*>& series, XAxis axis) {
  if (axis == XAxis::kTime) {
    for (const json* one : series) {
      const json* label = Field(one, "x_label");
      if (label != nullptr && label->is_string() && !label->get_ref<const std::string&>().empty()) {
        return label->get_ref<const std::string&>() + " (UTC)";
      }
    }
    return "stream time (UTC)";
  }
  return axis == XAxis::kEvents ? "events replayed" : "window";
}

std::optional<double> XValue(const json& series, XAxis axis, size_t i) {
  if (axis == XAxis::kIndex) {
    return static_cast<double>(i);
  }
  const json* xs = Field(&series, axis == XAxis::kTime ? "ts_ms" : "events");
  if (xs == nullptr || !xs->is_array() || i >= xs->size()) {
    return std::nullopt;
  }
  return Number(&(*xs)[i]);
}

// One line per result that has `metric` in its series; points with a missing x or y skipped.
std::vector<Line> CollectLines(const std::vector<const json*>& results, const std::string& metric,
                               XAxis axis) {
  std::vector<Line> lines;
  for (size_t r = 0; r < results.size(); ++r) {
    const json* series = Field(results[r], "series");
    const json* ys = Field(series, metric.c_str());
    if (ys == nullptr || !ys->is_array()) {
      continue;
    }
    Line line{ResultLabel(*results[r]), r, {}};
    for (size_t i = 0; i < ys->size(); ++i) {
      const std::optional<double> x = XValue(*series, axis, i);
      const std::optional<double> y = Number(&(*ys)[i]);
      if (x && y) {
        line.points.push_back({*x, *y});
      }
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

// Covers every point, includes y = 0, and never has an empty range.
Plot FitPlot(const std::vector<Line>& lines, XAxis axis) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Plot plot{kInf, -kInf, 0.0, -kInf};
  for (const Line& line : lines) {
    for (const Point& p : line.points) {
      plot.x_min = std::min(plot.x_min, p.x);
      plot.x_max = std::max(plot.x_max, p.x);
      plot.y_min = std::min(plot.y_min, p.y);
      plot.y_max = std::max(plot.y_max, p.y);
    }
  }
  const double x_pad = axis == XAxis::kTime ? 86400000.0 : 1.0;  // a day, or one unit
  if (!(plot.x_min < plot.x_max)) {
    const double centre = std::isfinite(plot.x_min) ? plot.x_min : 0.0;
    plot.x_min = centre - x_pad;
    plot.x_max = centre + x_pad;
  }
  if (!(plot.y_min < plot.y_max)) {
    plot.y_max = plot.y_min + 1.0;
  }
  RoundUpYRange(&plot);
  return plot;
}

std::string FormatX(double x, XAxis axis) {
  if (axis == XAxis::kTime) {
    return Date(x);
  }
  return axis == XAxis::kEvents ? Count(x) : Fmt("%.0f", x);
}

// Ticks at both ends and the middle; a single distinct x gets one tick at that value.
void AppendXTicks(const Plot& plot, const std::vector<Line>& lines, XAxis axis, std::string* out) {
  std::set<double> xs;
  for (const Line& line : lines) {
    for (const Point& p : line.points) {
      xs.insert(p.x);
    }
  }
  std::vector<double> ticks = {plot.x_min, (plot.x_min + plot.x_max) / 2, plot.x_max};
  if (xs.size() == 1) {
    ticks = {*xs.begin()};
  }
  const double bottom = kTop + kPlotHeight;
  for (const double tick : ticks) {
    const std::string x = Coord(plot.X(tick));
    *out += "<line class=\"axis\" stroke=\"#666\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"";
    *out += Coord(bottom) + "\" y2=\"" + Coord(bottom + 5) + "\"/>\n";
    *out += SvgText(plot.X(tick), bottom + 18, Escape(FormatX(tick, axis)), "middle");
  }
}

void AppendLine(const Plot& plot, const Line& line, std::string* out) {
  if (line.points.empty()) {
    return;
  }
  const std::string colour = Colour(line.index);
  *out += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"1.8\"" +
          DashAttribute(line.index) + " points=\"";
  for (size_t i = 0; i < line.points.size(); ++i) {
    *out +=
        (i ? " " : "") + Coord(plot.X(line.points[i].x)) + "," + Coord(plot.Y(line.points[i].y));
  }
  *out += "\"><title>" + Escape(line.label) + "</title></polyline>\n";
  constexpr size_t kMaxMarkers = 40;  // markers (with tooltips) only on short series
  for (size_t i = 0; line.points.size() <= kMaxMarkers && i < line.points.size(); ++i) {
    const Point& p = line.points[i];
    *out += "<circle cx=\"" + Coord(plot.X(p.x)) + "\" cy=\"" + Coord(plot.Y(p.y)) +
            "\" r=\"2.5\" fill=\"" + colour + "\"><title>" + Escape(line.label) + ": " +
            FormatValue(p.y) + "</title></circle>\n";
  }
}

void AppendLineChart(const std::string& metric, const std::vector<Line>& lines, XAxis axis,
                     const std::string& x_label, std::string* out) {
  const Plot plot = FitPlot(lines, axis);
  std::vector<std::string> legend;
  legend.reserve(lines.size());
  for (const Line& line : lines) {
    legend.push_back(line.label);
  }
  *out += "<figure><figcaption>" + Escape(metric) + " over " + Escape(x_label) + "</figcaption>\n" +
          SvgOpen(metric, legend);
  AppendAxes(plot, x_label, metric, FormatValue, out);
  AppendXTicks(plot, lines, axis, out);
  for (size_t i = 0; i < lines.size(); ++i) {
    AppendLine(plot, lines[i], out);
    AppendLegendEntry(i, lines[i].index, lines[i].label, false, out);
  }
  *out += "</svg></figure>\n";
}

void AppendSeriesCharts(const std::vector<const json*>& results, std::string* out) {
  const std::vector<const json*> series = Children(results, "series");
  const std::vector<std::string> metrics =
      UnionKeys(series, {"x_label", "ts_ms", "events"}, /*arrays_only=*/true);
  if (metrics.empty()) {
    return;
  }
  const XAxis axis = ChooseXAxis(series);
  const std::string x_label = XAxisLabel(series, axis);
  *out += "<h2>Metrics over the stream</h2>\n";
  for (const std::string& metric : metrics) {
    AppendLineChart(metric, CollectLines(results, metric, axis), axis, x_label, out);
  }
}

// ----- Latency histograms --------------------------------------------------------------------

struct Histogram {
  std::string label;
  size_t index;                    // position in results: picks the colour
  std::map<double, double> count;  // bucket upper bound (ms) -> calls
  double total = 0;
};

std::optional<Histogram> ReadHistogram(const json& result, size_t index, const std::string& kind) {
  const json* latency = Field(Field(&result, "latency"), kind.c_str());
  const json* hist = Field(latency, "hist");
  const json* bounds = Field(hist, "bounds_ms");
  const json* counts = Field(hist, "counts");
  if (bounds == nullptr || counts == nullptr || !bounds->is_array() || !counts->is_array()) {
    return std::nullopt;
  }
  Histogram histogram{ResultLabel(result), index, {}, 0.0};
  const std::optional<double> p50 = Number(Field(latency, "p50_ms"));
  const std::optional<double> p99 = Number(Field(latency, "p99_ms"));
  if (p50 && p99) {
    histogram.label += "  p50 " + Ms(*p50) + " / p99 " + Ms(*p99) + " ms";
  }
  for (size_t i = 0; i < std::min(bounds->size(), counts->size()); ++i) {
    const std::optional<double> bound = Number(&(*bounds)[i]);
    const std::optional<double> count = Number(&(*counts)[i]);
    if (bound && count) {
      histogram.count[*bound] += std::max(*count, 0.0);
      histogram.total += std::max(*count, 0.0);
    }
  }
  return histogram.total > 0 ? std::optional<Histogram>(std::move(histogram)) : std::nullopt;
}

bool AnyCalls(const std::vector<Histogram>& histograms, double bound) {
  for (const Histogram& histogram : histograms) {
    const auto it = histogram.count.find(bound);
    if (it != histogram.count.end() && it->second > 0) {
      return true;
    }
  }
  return false;
}

// All bucket bounds, ascending, without the empty buckets at either end.
std::vector<double> Buckets(const std::vector<Histogram>& histograms) {
  std::set<double> bounds;
  for (const Histogram& histogram : histograms) {
    for (const auto& [bound, count] : histogram.count) {
      bounds.insert(bound);
    }
  }
  std::vector<double> buckets(bounds.begin(), bounds.end());
  while (!buckets.empty() && !AnyCalls(histograms, buckets.back())) {
    buckets.pop_back();
  }
  auto first = buckets.begin();
  while (first != buckets.end() && !AnyCalls(histograms, *first)) {
    ++first;
  }
  return {first, buckets.end()};
}

void AppendBars(const Plot& plot, const std::vector<double>& buckets,
                const std::vector<Histogram>& histograms, std::string* out) {
  const double slot = kPlotWidth / static_cast<double>(buckets.size());
  const double bar = slot * 0.8 / static_cast<double>(histograms.size());
  for (size_t b = 0; b < buckets.size(); ++b) {
    for (size_t h = 0; h < histograms.size(); ++h) {
      const auto it = histograms[h].count.find(buckets[b]);
      if (it == histograms[h].count.end() || it->second <= 0) {
        continue;
      }
      const double share = it->second / histograms[h].total;
      const double top = plot.Y(share);
      *out += "<rect x=\"" +
              Coord(kLeft + slot * (static_cast<double>(b) + 0.1) + bar * static_cast<double>(h)) +
              "\" y=\"" + Coord(top) + "\" width=\"" + Fmt("%.2f", bar) + "\" height=\"" +
              Coord(kTop + kPlotHeight - top) + "\" fill=\"" + Colour(histograms[h].index) +
              "\" fill-opacity=\"0.85\"><title>" + Escape(histograms[h].label) + ": &#8804; " +
              Ms(buckets[b]) + " ms: " + Count(it->second) + " calls (" + FormatPercent(share) +
              ")</title></rect>\n";
    }
  }
}

// Bucket labels (upper bounds in ms), rotated, at most ~12 of them.
void AppendBucketLabels(const std::vector<double>& buckets, std::string* out) {
  const double slot = kPlotWidth / static_cast<double>(buckets.size());
  const size_t step = (buckets.size() + 11) / 12;
  for (size_t b = 0; b < buckets.size(); b += step) {
    const double x = kLeft + slot * (static_cast<double>(b) + 0.5);
    const double y = kTop + kPlotHeight + 12;
    *out += "<text transform=\"translate(" + Coord(x) + "," + Coord(y) +
            ") rotate(-30)\" text-anchor=\"end\">" + Ms(buckets[b]) + "</text>\n";
  }
}

void AppendHistogram(const std::string& kind, const std::vector<Histogram>& histograms,
                     std::string* out) {
  const std::vector<double> buckets = Buckets(histograms);
  Plot plot;  // x is unused: bars are placed by bucket position
  plot.y_max = 0;
  std::vector<std::string> legend;
  for (const Histogram& histogram : histograms) {
    legend.push_back(histogram.label);
    for (const auto& [bound, count] : histogram.count) {
      plot.y_max = std::max(plot.y_max, count / histogram.total);
    }
  }
  RoundUpYRange(&plot);
  *out += "<figure><figcaption>" + Escape(kind) + " latency</figcaption>\n" +
          SvgOpen(kind + " latency", legend);
  AppendAxes(plot, "latency bucket upper bound (ms, log-spaced)", "share of calls", FormatPercent,
             out);
  AppendBars(plot, buckets, histograms, out);
  AppendBucketLabels(buckets, out);
  for (size_t i = 0; i < histograms.size(); ++i) {
    AppendLegendEntry(i, histograms[i].index, histograms[i].label, true, out);
  }
  *out += "</svg></figure>\n";
}

void AppendLatencyHistograms(const std::vector<const json*>& results, std::string* out) {
  std::vector<std::string> kinds = UnionKeys(Children(results, "latency"), {}, false);
  // recommend first, then observe, then anything else.
  std::stable_sort(kinds.begin(), kinds.end(), [](const std::string& a, const std::string& b) {
    auto rank = [](const std::string& k) { return k == "recommend" ? 0 : k == "observe" ? 1 : 2; };
    return rank(a) < rank(b);
  });
  bool heading = false;
  for (const std::string& kind : kinds) {
    std::vector<Histogram> histograms;
    for (size_t r = 0; r < results.size(); ++r) {
      if (std::optional<Histogram> histogram = ReadHistogram(*results[r], r, kind)) {
        histograms.push_back(std::move(*histogram));
      }
    }
    if (histograms.empty()) {
      continue;
    }
    *out += heading ? "" : "<h2>Latency</h2>\n";
    heading = true;
    AppendHistogram(kind, histograms, out);
  }
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
