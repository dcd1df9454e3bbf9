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

// The SVG charts of the HTML report: line charts of the "series" of protocol P, latency
// histograms. Same rules as report_html.cc: never throws on a malformed document.
namespace flywheel::eval::html {
namespace {

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

void SeriesCharts(const std::vector<const json*>& results, std::string* out) {
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

void LatencyHistograms(const std::vector<const json*>& results, std::string* out) {
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

}  // namespace

void AppendSeriesCharts(const std::vector<const json*>& results, std::string* out) {
  SeriesCharts(results, out);
}

void AppendLatencyHistograms(const std::vector<const json*>& results, std::string* out) {
  LatencyHistograms(results, out);
}

}  // namespace flywheel::eval::html
