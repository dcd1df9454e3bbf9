// SimTarget: what the simulator plays against (doc/simulate.md). Two implementations:
//   HttpTarget    a running `flywheel serve`, over HTTP as a client would (http_target.h)
//   EngineTarget  an in-process Engine, the same calls below the HTTP layer (engine_target.h)
// Each call returns once its effect is applied (the learner caught up), so that a
// single-threaded simulation is deterministic for a given seed and server configuration.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "flywheel/event.h"
#include "flywheel/result.h"
#include "flywheel/types.h"

namespace flywheel::sim {

struct RequestSpec {
  std::string user;
  int k = 10;
  std::string policy;      // the exploration policy; empty: the server's default
  std::string model;       // the ranking model; empty: the server's default
  TimestampMs now_ms = 0;  // simulated request time (in-process only: HTTP uses the server's)
  bool record_impression = true;  // the list will be shown (in-process: recorded in the call)
  // Over HTTP: record it in the list request (record_impression=true) rather than posting it to
  // /v1/impressions afterwards. In process it always is.
  bool record_in_call = false;
};

struct ServedItem {
  std::string item;
  double propensity = 1.0;  // as answered (NaN when the answer had none)
};

struct ServedList {
  std::string recommendation_id;  // empty: the target does not return one
  std::string policy;             // the canonical spec answered (empty: none)
  std::vector<ServedItem> items;
  bool impression_recorded = false;  // the target logged the impression with the request
  // Wall time of the recommend call itself (ms): the in-process engine call or the HTTP round
  // trip, without the simulator's own wait for the learner (which keeps runs deterministic).
  double call_ms = 0;
};

// What a target counted (requests made, failures retried...).
struct TargetCounters {
  int64_t recommend_calls = 0;
  int64_t impression_calls = 0;
  int64_t impressions_duplicate = 0;
  int64_t impressions_unsupported = 0;  // lists without a recommendation id: none recorded
  int64_t event_batches = 0;
  int64_t events_sent = 0;
  int64_t item_batches = 0;
  int64_t log_bytes = -1;  // the data directory's log size now (-1: unknown, e.g. over HTTP)
};

class SimTarget {
 public:
  virtual ~SimTarget() = default;
  // One line naming the target ("http://127.0.0.1:8080", "in-process bpr").
  virtual std::string Describe() const = 0;
  // Puts items into the catalogue (content: the category, the creation time).
  virtual Status PutItems(std::span<const Item> items) = 0;
  virtual Result<ServedList> Recommend(const RequestSpec& request) = 0;
  // The client showed `list` to `user` at `ts_ms` (POST /v1/impressions).
  virtual Status RecordImpression(const std::string& user, const ServedList& list,
                                  TimestampMs ts_ms) = 0;
  // Outcomes (each event with an id; recommendation_id set when the list had one).
  virtual Status SendEvents(std::span<const Event> events) = 0;
  virtual TargetCounters counters() const = 0;
};

}  // namespace flywheel::sim
