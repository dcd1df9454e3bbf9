#include "engine/loop/impression_metrics.h"

#include <cstdio>

namespace flywheel::engine {
namespace {

std::string Number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.12g", v);
  return buf;
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void Head(const std::string& name, const char* type, const char* help) {
    *out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Line(const std::string& name, const std::string& labels, const std::string& value) {
    *out_ += name + (labels.empty() ? "" : "{" + labels + "}") + " " + value + "\n";
  }
  void One(const std::string& name, const char* type, const char* help, const std::string& v) {
    Head(name, type, help);
    Line(name, "", v);
  }

 private:
  std::string* out_;
};

std::string PositionLabel(size_t i) {
  const bool last = i + 1 == ImpressionStats::kPositionBuckets;
  return "position=\"" + std::to_string(i) + (last ? "+" : "") + "\"";
}

}  // namespace

std::string ImpressionMetricsText(const ImpressionStats& s) {
  std::string out;
  Writer w(&out);
  auto count = [&](const char* name, const char* help, uint64_t v) {
    w.One(name, "counter", help, std::to_string(v));
  };
  count("flywheel_impressions_recorded_total", "Impressions (shown lists) recorded.", s.recorded);
  count("flywheel_impressions_duplicate_total",
        "Impressions naming a recommendation id already recorded (ignored).", s.duplicates);
  count("flywheel_impressions_bad_records_total", "Impression records that did not decode.",
        s.bad_records);
  count("flywheel_impression_items_shown_total", "Items of the recorded impressions.",
        s.items_shown);
  count("flywheel_impression_unknown_items_total",
        "Shown items unknown to the engine when recorded.", s.unknown_items);
  count("flywheel_impressions_closed_total", "Impressions whose attribution window closed.",
        s.closed);
  count("flywheel_impressions_closed_early_total",
        "Impressions closed before their window by the memory bounds.", s.closed_early);
  count("flywheel_impressions_clicked_total", "Closed impressions with a clicked item.", s.clicked);
  w.One("flywheel_impression_reward_sum", "gauge",
        "Reward of the closed impressions' items (default reward included).", Number(s.reward_sum));
  count("flywheel_impression_events_attributed_total", "Events attributed to a shown item.",
        s.attributed);
  w.Head("flywheel_impression_unattributed_events_total", "counter",
         "Events not attributed to a shown item, by reason.");
  const std::pair<const char*, uint64_t> reasons[] = {
      {"unknown_recommendation", s.unknown_recommendation},
      {"window_passed", s.window_passed},
      {"not_shown", s.not_shown}};
  for (const auto& [reason, v] : reasons) {
    w.Line("flywheel_impression_unattributed_events_total",
           std::string("reason=\"") + reason + "\"", std::to_string(v));
  }
  w.One("flywheel_impressions_open", "gauge", "Impressions whose attribution window is open.",
        std::to_string(s.open));
  w.One("flywheel_impression_items_open", "gauge", "Items of the open impressions.",
        std::to_string(s.open_items));
  const char* names[] = {"flywheel_impression_position_shown_total",
                         "flywheel_impression_position_clicked_total",
                         "flywheel_impression_position_reward_sum"};
  const char* helps[] = {"Items shown at each position (closed impressions).",
                         "Items clicked at each position (closed impressions).",
                         "Reward of the items at each position (closed impressions)."};
  for (int m = 0; m < 3; ++m) {
    w.Head(names[m], m == 2 ? "gauge" : "counter", helps[m]);  // rewards may be negative
    for (size_t i = 0; i < s.positions.size(); ++i) {
      const ImpressionStats::Position& p = s.positions[i];
      w.Line(names[m], PositionLabel(i),
             m == 0 ? std::to_string(p.shown)
                    : (m == 1 ? std::to_string(p.clicked) : Number(p.reward)));
    }
  }
  const std::string lag = "flywheel_impression_attribution_lag_seconds";
  w.Head(lag, "histogram", "Event time of attributed events minus the impression's time.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < s.lag_counts.size(); ++i) {
    cumulative += s.lag_counts[i];
    const std::string le = i < s.lag_bounds_ms.size()
                               ? Number(static_cast<double>(s.lag_bounds_ms[i]) / 1000.0)
                               : std::string("+Inf");
    w.Line(lag + "_bucket", "le=\"" + le + "\"", std::to_string(cumulative));
  }
  w.Line(lag + "_sum", "", Number(s.lag_sum_ms / 1000.0));
  w.Line(lag + "_count", "", std::to_string(cumulative));
  return out;
}

}  // namespace flywheel::engine
