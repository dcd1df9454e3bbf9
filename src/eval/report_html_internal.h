// Private to src/eval: the pieces of the HTML report (report_html.h) shared by its files:
// report_html.cc (JSON access, formatting, metric keys, tables, the page) and
// report_html_charts.cc (the SVG line charts and latency histograms).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace flywheel::eval::html {

using nlohmann::json;

const json* Field(const json* obj, const char* key);
std::optional<double> Number(const json* value);
std::string Dump(const json& value);
std::string Text(const json* value);
std::vector<const json*> Results(const json& doc);
std::string Escape(std::string_view text);
std::string Fmt(const char* format, double value);
std::string Fixed(std::optional<double> value, int decimals);
std::string Count(double value);
std::string Date(double ts_ms);
std::string Ms(double ms);
std::string KeyValues(const json* value);
std::string ResultLabel(const json& result);
std::tuple<int, std::string, double, std::string> MetricSortKey(const std::string& key);
std::vector<std::string> UnionKeys(const std::vector<const json*>& objects,
                                   const std::set<std::string>& skip, bool arrays_only);
std::vector<const json*> Children(const std::vector<const json*>& results, const char* key);
std::string MetricCell(const json* value);

// The charts sections of the page (report_html_charts.cc).
void AppendSeriesCharts(const std::vector<const json*>& results, std::string* out);
void AppendLatencyHistograms(const std::vector<const json*>& results, std::string* out);

}  // namespace flywheel::eval::html
