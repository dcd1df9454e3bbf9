#include "eval/report_html.h"

#include <cmath>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::eval {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kNov14 = 1'699'920'000'000;  // 2023-11-14T00:00:00Z

size_t CountOf(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos;
       pos = text.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

// The text of every <svg ...>...</svg> element, in page order.
std::vector<std::string> Charts(const std::string& html) {
  std::vector<std::string> charts;
  for (size_t start = html.find("<svg"); start != std::string::npos;
       start = html.find("<svg", start + 1)) {
    charts.push_back(html.substr(start, html.find("</svg>", start) - start));
  }
  return charts;
}

// Number of "x,y" coordinate pairs in each <polyline points="..."> of `svg`, in order.
std::vector<int> PolylinePointCounts(const std::string& svg) {
  static const std::regex kPolyline("<polyline[^>]* points=\"([^\"]*)\"");
  static const std::regex kPair("-?[0-9.]+,-?[0-9.]+");
  std::vector<int> counts;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), kPolyline);
       it != std::sregex_iterator(); ++it) {
    const std::string points = (*it)[1];
    counts.push_back(static_cast<int>(std::distance(
        std::sregex_iterator(points.begin(), points.end(), kPair), std::sregex_iterator())));
  }
  return counts;
}

json Latency(std::vector<double> counts) {
  return {{"p50_ms", 0.5},
          {"p99_ms", 8.0},
          {"mean_ms", 1.0},
          {"count", 100},
          {"hist", {{"bounds_ms", {0.01, 0.1, 1.0, 10.0, 100.0}}, {"counts", counts}}}};
}

// Two models with series (hr, ndcg; one null and one NaN point), splits and latency.
json TwoModelDoc() {
  const json ts = {kNov14, kNov14 + kDay, kNov14 + 2 * kDay, kNov14 + 3 * kDay};
  json itemknn = {
      {"model", "itemknn"},
      {"params", {{"window", 50}}},
      {"update", "online"},
      {"metrics", {{"hr", 0.25}, {"ndcg", 0.125}, {"mrr", 0.0625}}},
      {"splits",
       {{"cold_user", {{"count", 1200}, {"hr", 0.05}, {"ndcg", 0.02}}},
        {"warm", {{"count", 53800}, {"hr", 0.3}, {"ndcg", 0.15}}}}},
      {"series",
       {{"x_label", "stream time"},
        {"ts_ms", ts},
        {"events", {100, 200, 300, 400}},
        {"hr", {0.1, 0.2, 0.3, 0.4}},
        {"ndcg", {0.05, 0.1, 0.15, 0.2}}}},
      {"latency", {{"recommend", Latency({0, 10, 80, 10, 0})}, {"observe", Latency({5, 5})}}},
      {"events_per_second", 123456.0},
      {"recommend_ms_p50", 0.5},
      {"recommend_ms_p99", 8.0},
      {"seconds", 1.25}};
  json popularity = {{"model", "popularity"},
                     {"params", json::object()},
                     {"update", "frozen"},
                     {"metrics", {{"hr", 0.5}, {"ndcg", nullptr}, {"coverage", 0.01}}},
                     {"series",
                      {{"ts_ms", ts},
                       {"events", {100, 200, 300, 400}},
                       {"hr", {0.05, nullptr, 0.07, 0.08}},
                       {"ndcg", {0.02, NAN, 0.04, 0.05}}}},
                     {"latency", {{"recommend", Latency({0, 50, 50, 0, 0})}}}};
  return {{"dataset", "movielens:ml-100k"},
          {"protocol", "prequential"},
          {"k", 10},
          {"filters", {{"exclude_seen", true}, {"positive", "rating>=4"}}},
          {"warmup", 0.0},
          {"events_total", 100000},
          {"events_scored", 55000},
          {"notes", {"first <note>"}},
          {"results", {itemknn, popularity}},
          {"commit", "abc123"},
          {"machine", "test box"},
          {"seconds", 12.3}};
}

TEST(RenderHtmlReportTest, PageIsCompleteAndSelfContained) {
  const std::string html = RenderHtmlReport(TwoModelDoc());
  EXPECT_THAT(html, StartsWith("<!DOCTYPE html>\n<html"));
  EXPECT_THAT(html, EndsWith("</html>\n"));
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\">"));
  EXPECT_THAT(html, HasSubstr("<title>Flywheel evaluation: movielens:ml-100k</title>"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
}

TEST(RenderHtmlReportTest, SummaryShowsRunFields) {
  const std::string html = RenderHtmlReport(TwoModelDoc());
  EXPECT_THAT(html, HasSubstr("protocol <b>prequential</b> &middot; K = <b>10</b>"));
  EXPECT_THAT(html, HasSubstr("<td>exclude_seen=true, positive=rating&gt;=4</td>"));
  EXPECT_THAT(html, HasSubstr("<th>Events total</th><td>100,000</td>"));
  EXPECT_THAT(html, HasSubstr("<th>Events scored</th><td>55,000 (55.0% of total)</td>"));
  EXPECT_THAT(html, HasSubstr("<th>Commit</th><td>abc123</td>"));
  EXPECT_THAT(html, HasSubstr("<th>Machine</th><td>test box</td>"));
  EXPECT_THAT(html, HasSubstr("<th>Wall time</th><td>12.3 s</td>"));
  EXPECT_THAT(html, HasSubstr("<li>first &lt;note&gt;</li>"));
}

TEST(RenderHtmlReportTest, MetricsTableHasUnionOfKeysInMetricOrder) {
  const std::string html = RenderHtmlReport(TwoModelDoc());
  EXPECT_THAT(html, HasSubstr("<th>model</th><th>update</th><th>params</th>"
                              "<th class=\"num\">hr</th><th class=\"num\">ndcg</th>"
                              "<th class=\"num\">mrr</th><th class=\"num\">coverage</th>"
                              "<th class=\"num\">events/s</th>"));
  EXPECT_THAT(html, HasSubstr("<tr><td>itemknn</td><td>online</td><td>window=50</td>"
                              "<td class=\"num\">0.2500</td><td class=\"num\">0.1250</td>"
                              "<td class=\"num\">0.0625</td><td class=\"num\">&ndash;</td>"
                              "<td class=\"num\">123,456</td><td class=\"num\">0.500</td>"
                              "<td class=\"num\">8.000</td><td class=\"num\">1.25</td></tr>"));
  // popularity: null ndcg, no mrr, no flat latency fields -> taken from "latency".
  EXPECT_THAT(html, HasSubstr("<tr><td>popularity</td><td>frozen</td><td></td>"
                              "<td class=\"num\">0.5000</td><td class=\"num\">&ndash;</td>"
                              "<td class=\"num\">&ndash;</td><td class=\"num\">0.0100</td>"
                              "<td class=\"num\">&ndash;</td><td class=\"num\">0.500</td>"));
}

TEST(RenderHtmlReportTest, SplitsTableListsEachSplitOfEachResult) {
  const std::string html = RenderHtmlReport(TwoModelDoc());
  EXPECT_THAT(html, HasSubstr("<h2>Splits</h2>"));
  EXPECT_THAT(html, HasSubstr("<td>itemknn</td><td>online</td><td>cold_user</td>"
                              "<td class=\"num\">1,200</td><td class=\"num\">0.0500</td>"
                              "<td class=\"num\">0.0200</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<td>warm</td><td class=\"num\">53,800</td>"));
  EXPECT_EQ(CountOf(html, "<td>cold_user</td>"), 1u);  // popularity has no splits
}

TEST(RenderHtmlReportTest, OneChartPerSeriesMetricAndLatencyKind) {
  const std::string html = RenderHtmlReport(TwoModelDoc());
  const std::vector<std::string> charts = Charts(html);
  ASSERT_EQ(charts.size(), 4u);  // hr, ndcg, recommend, observe
  EXPECT_EQ(CountOf(html, "<svg"), 4u);
  EXPECT_THAT(charts[0], HasSubstr("<title>hr</title>"));
  EXPECT_THAT(charts[1], HasSubstr("<title>ndcg</title>"));
  EXPECT_THAT(charts[2], HasSubstr("<title>recommend latency</title>"));
  EXPECT_THAT(charts[3], HasSubstr("<title>observe latency</title>"));
}

TEST(RenderHtmlReportTest, OnePolylinePerModelWithNullAndNanPointsSkipped) {
  const std::vector<std::string> charts = Charts(RenderHtmlReport(TwoModelDoc()));
  ASSERT_EQ(charts.size(), 4u);
  EXPECT_THAT(PolylinePointCounts(charts[0]), ElementsAre(4, 3));  // hr: popularity has a null
  EXPECT_THAT(PolylinePointCounts(charts[1]), ElementsAre(4, 3));  // ndcg: popularity has a NaN
  EXPECT_THAT(PolylinePointCounts(charts[2]), ElementsAre());      // histograms: bars only
  for (const std::string& chart : {charts[0], charts[1]}) {
    EXPECT_THAT(chart, HasSubstr(">itemknn (online)</text>"));  // legend
    EXPECT_THAT(chart, HasSubstr(">popularity (frozen)</text>"));
    EXPECT_THAT(chart, HasSubstr("stroke=\"#1f77b4\""));  // distinct colours
    EXPECT_THAT(chart, HasSubstr("stroke=\"#ff7f0e\""));
  }
}

TEST(RenderHtmlReportTest, LineChartUsesDatesAndTicksZeroAndMax) {
  const std::vector<std::string> charts = Charts(RenderHtmlReport(TwoModelDoc()));
  ASSERT_GE(charts.size(), 1u);
  EXPECT_THAT(charts[0], HasSubstr(">2023-11-14</text>"));  // first window
  EXPECT_THAT(charts[0], HasSubstr(">2023-11-17</text>"));  // last window
  EXPECT_THAT(charts[0], HasSubstr(">stream time (UTC)</text>"));
  EXPECT_THAT(charts[0], HasSubstr(">0</text>"));    // y = 0
  EXPECT_THAT(charts[0], HasSubstr(">0.4</text>"));  // y = max
  EXPECT_EQ(CountOf(charts[0], "<line class=\"grid\""), 5u);
}

TEST(RenderHtmlReportTest, HistogramHasOneBarPerNonEmptyBucketPerResult) {
  const std::vector<std::string> charts = Charts(RenderHtmlReport(TwoModelDoc()));
  ASSERT_EQ(charts.size(), 4u);
  // recommend: itemknn fills 3 buckets, popularity 2; empty edge buckets are not drawn.
  EXPECT_EQ(CountOf(charts[2], " calls ("), 5u);
  EXPECT_THAT(charts[2], HasSubstr("itemknn (online)  p50 0.5 / p99 8 ms: &#8804; 1 ms: 80 calls "
                                   "(80%)</title></rect>"));
  EXPECT_THAT(charts[2], HasSubstr("rotate(-30)\" text-anchor=\"end\">0.1</text>"));
  EXPECT_THAT(charts[2], HasSubstr("rotate(-30)\" text-anchor=\"end\">10</text>"));
  EXPECT_THAT(charts[2], Not(HasSubstr("text-anchor=\"end\">100</text>")));
  EXPECT_THAT(charts[2], HasSubstr("fill=\"#ff7f0e\""));
  // observe: only itemknn has it (counts shorter than bounds: extra bounds ignored).
  EXPECT_EQ(CountOf(charts[3], " calls ("), 2u);
  EXPECT_THAT(charts[3], Not(HasSubstr("popularity")));
}

TEST(RenderHtmlReportTest, EscapesTextFromTheDocument) {
  json doc = TwoModelDoc();
  doc["dataset"] = "a&b";
  doc["results"][0]["model"] = "<script>alert('x')</script>";
  const std::string html = RenderHtmlReport(doc);
  EXPECT_THAT(html, HasSubstr("<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td>"));
  EXPECT_THAT(html, HasSubstr(">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; (online)<"));
  EXPECT_THAT(html, HasSubstr("<title>Flywheel evaluation: a&amp;b</title>"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
}

TEST(RenderHtmlReportTest, MissingSeriesAndLatencyMeanNoCharts) {
  json doc = TwoModelDoc();
  for (json& result : doc["results"]) {
    result.erase("series");
    result.erase("latency");
  }
  const std::string html = RenderHtmlReport(doc);
  EXPECT_EQ(CountOf(html, "<svg"), 0u);
  EXPECT_EQ(CountOf(html, "<polyline"), 0u);
  EXPECT_THAT(html, HasSubstr("<td>itemknn</td>"));
  EXPECT_THAT(html, Not(HasSubstr("<h2>Latency</h2>")));
}

TEST(RenderHtmlReportTest, EmptyResultsSaySoAndDrawNothing) {
  json doc = TwoModelDoc();
  doc["results"] = json::array();
  const std::string html = RenderHtmlReport(doc);
  EXPECT_THAT(html, HasSubstr("<p>No results.</p>"));
  EXPECT_EQ(CountOf(html, "<svg"), 0u);
  EXPECT_THAT(html, Not(HasSubstr("<h2>Splits</h2>")));
}

TEST(RenderHtmlReportTest, DegenerateDocumentsStillGiveAPage) {
  for (const json& doc : {json(), json::object(), json::array({1, 2}), json("text"),
                          json{{"results", "oops"}, {"k", {{"a", 1}}}, {"notes", "one note"}},
                          json{{"results", {1, nullptr, {{"metrics", "bad"}, {"series", 3}}}}}}) {
    const std::string html = RenderHtmlReport(doc);
    EXPECT_THAT(html, StartsWith("<!DOCTYPE html>")) << doc;
    EXPECT_THAT(html, EndsWith("</html>\n")) << doc;
    EXPECT_THAT(html, Not(HasSubstr("class=\"error\""))) << doc;
  }
}

TEST(RenderHtmlReportTest, WrongTypesInsideSeriesAreSkipped) {
  json doc = TwoModelDoc();
  // Non-numbers are skipped, and so is the fifth value: ts_ms has only four entries.
  doc["results"][0]["series"]["hr"] = {0.1, "x", true, 0.4, 0.9};
  doc["results"][1]["series"]["ts_ms"] = "not an array";
  doc["results"][1]["latency"]["recommend"]["hist"]["counts"] = "nope";
  const std::string html = RenderHtmlReport(doc);
  const std::vector<std::string> charts = Charts(html);
  ASSERT_EQ(charts.size(), 4u);
  // popularity has no usable x values in time mode: its lines are dropped (no empty polyline).
  EXPECT_THAT(PolylinePointCounts(charts[0]), ElementsAre(2));
  EXPECT_THAT(PolylinePointCounts(charts[1]), ElementsAre(4));
  EXPECT_EQ(CountOf(charts[2], " calls ("), 3u);
  EXPECT_THAT(html, Not(HasSubstr("class=\"error\"")));
}

TEST(RenderHtmlReportTest, SinglePointSeriesGetsOneTickAndAMarker) {
  json doc = {{"results", {{{"model", "m"}, {"series", {{"ts_ms", {kNov14}}, {"hr", {0.3}}}}}}}};
  const std::vector<std::string> charts = Charts(RenderHtmlReport(doc));
  ASSERT_EQ(charts.size(), 1u);
  EXPECT_THAT(PolylinePointCounts(charts[0]), ElementsAre(1));
  EXPECT_EQ(CountOf(charts[0], "<circle"), 1u);
  EXPECT_EQ(CountOf(charts[0], ">2023-11-14</text>"), 1u);
  EXPECT_THAT(charts[0], Not(HasSubstr("nan")));
  EXPECT_THAT(charts[0], Not(HasSubstr("inf")));
}

TEST(RenderHtmlReportTest, ZeroTimestampsFallBackToEventsThenIndex) {
  json doc = {
      {"results",
       {{{"model", "m"},
         {"series",
          {{"ts_ms", {0, 0, 0}}, {"events", {1000, 2000, 3000}}, {"hr", {0.1, 0.2, 0.3}}}}}}}};
  std::string svg = Charts(RenderHtmlReport(doc)).at(0);
  EXPECT_THAT(svg, HasSubstr(">events replayed</text>"));
  EXPECT_THAT(svg, HasSubstr(">3,000</text>"));
  EXPECT_THAT(svg, Not(HasSubstr(">1970-01-01</text>")));

  doc["results"][0]["series"].erase("events");
  svg = Charts(RenderHtmlReport(doc)).at(0);
  EXPECT_THAT(svg, HasSubstr(">window</text>"));
  EXPECT_THAT(PolylinePointCounts(svg), ElementsAre(3));
}

TEST(WriteHtmlReportTest, WritesThePageToAFile) {
  TempDir dir;
  const std::string path = dir.path() + "/report.html";
  ASSERT_OK(WriteHtmlReport(TwoModelDoc(), path));
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  EXPECT_THAT(contents.str(), StartsWith("<!DOCTYPE html>"));
  EXPECT_EQ(contents.str(), RenderHtmlReport(TwoModelDoc()));
}

TEST(WriteHtmlReportTest, BadPathIsAnIoErrorNamingThePath) {
  TempDir dir;
  const std::string path = dir.path() + "/no/such/dir/report.html";
  EXPECT_THAT(WriteHtmlReport(TwoModelDoc(), path),
              StatusIs(StatusCode::kIoError, HasSubstr(path)));
}

}  // namespace
}  // namespace flywheel::eval
