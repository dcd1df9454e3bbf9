#include "engine/loop/impression_recorder.h"

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "data/event_json.h"
#include "engine/loop/impression_record.h"
#include "engine/loop/loop_options.h"

namespace flywheel::engine {
namespace {

// How long a list naming an item not yet applied waits for the learner (an item put or first
// seen just before the impression).
constexpr int kKnownWaitMs = 5'000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TimestampMs WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Invalid(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("impression: field '" + field + "': " + what).WithField(field);
}

// The shape of a client's input: ids like events' ids, 0..1000 distinct items, a sane time.
Status CheckInput(const ImpressionInput& input) {
  if (std::string problem = data::IdProblem(input.user); !problem.empty()) {
    return Invalid("user", problem);
  }
  if (!input.recommendation_id.empty()) {
    if (std::string problem = data::IdProblem(input.recommendation_id); !problem.empty()) {
      return Invalid("recommendation_id", problem);
    }
  }
  if (input.items.size() > kMaxImpressionItems) {
    return Invalid("items", "more than 1000 items");
  }
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < input.items.size(); ++i) {
    const std::string field = "items[" + std::to_string(i) + "]";
    if (std::string problem = data::IdProblem(input.items[i]); !problem.empty()) {
      return Invalid(field, problem);
    }
    if (!seen.insert(input.items[i]).second) {
      return Invalid(field, "item '" + input.items[i] + "' appears twice");
    }
  }
  if (input.ts_ms != 0) {
    // Milliseconds from 1990 (probably seconds before) to 2200, like events.
    FLYWHEEL_RETURN_IF_ERROR(data::CheckNumericTsMs(input.ts_ms, "ts"));
    if (input.ts_ms < 0 || input.ts_ms >= 7258118400000) {
      return Invalid("ts", "out of range [1990, 2200) in milliseconds");
    }
  }
  return Status::Ok();
}

}  // namespace

ImpressionRecorder::ImpressionRecorder(const LoopOptions& options, const LearnedState* state,
                                       const Learner* learner, const QueryRunner* queries,
                                       Ingestor* ingestor)
    : options_(options),
      state_(state),
      learner_(learner),
      queries_(queries),
      ingestor_(ingestor),
      served_(options.served_cache, options.attribution_window_ms) {
  ingestor_->SetImpressionSource(this);
}

ImpressionRecorder::~ImpressionRecorder() {
  ingestor_->SetImpressionSource(nullptr);
}

Result<RecommendResult> ImpressionRecorder::Recommend(const RecommendQuery& query) {
  std::call_once(ids_once_, [this] {
    ids_ = std::make_unique<RecommendationIds>(
        RecommendationIdNonce(options_.seed, ingestor_->last_seq()));
  });
  const std::string id = ids_->Next();
  TimestampMs request_ms = 0;
  FLYWHEEL_ASSIGN_OR_RETURN(
      RecommendResult result,
      queries_->Recommend(query, ParseRecommendationId(id).value_or(0), &request_ms));
  result.recommendation_id = id;
  if (result.policy.empty()) {
    result.policy = query.policy.empty() ? options_.policy : query.policy;
  }
  if (result.items.empty()) {
    return result;  // nothing to show, nothing to remember
  }
  ServedList list;
  list.user = query.user;
  list.ts_ms = request_ms != 0 ? request_ms : WallMs();
  list.policy = result.policy;
  list.model = result.model;
  list.model_version = result.applied_seq;
  list.items.reserve(result.items.size());
  for (size_t i = 0; i < result.items.size(); ++i) {
    const Recommendation& r = result.items[i];
    list.items.push_back(ShownItem{r.item, static_cast<uint32_t>(i), r.propensity, r.step});
  }
  if (!query.record_impression) {
    served_.Add(id, std::move(list), SteadyMs());
    return result;
  }
  Result<Impression> shown = FromServed(id, list, {}, "items");
  served_.Add(id, std::move(list), SteadyMs());
  ServedList claimed;
  if (served_.ClaimList(id, SteadyMs(), &claimed) != ServedLists::Claim::kClaimed) {
    served_.ClaimId(id, SteadyMs());  // a zero-capacity cache: remember nothing, log anyway
  }
  FLYWHEEL_ASSIGN_OR_RETURN(result.impression_seq, Log(*shown));
  return result;
}

Result<ImpressionResult> ImpressionRecorder::Record(const ImpressionInput& input) {
  FLYWHEEL_RETURN_IF_ERROR(CheckInput(input));
  ImpressionResult result;
  const std::string& id = input.recommendation_id;
  Impression impression;
  ServedList list;
  const auto claim =
      id.empty() ? ServedLists::Claim::kMissing : served_.ClaimList(id, SteadyMs(), &list);
  if (claim == ServedLists::Claim::kRecorded) {
    result.duplicate = true;
    return result;
  }
  if (claim == ServedLists::Claim::kClaimed) {
    Result<Impression> shown = FromServed(id, list, input.items, "items");
    if (shown.ok() && shown->user != input.user) {
      shown = Invalid("user", "recommendation '" + id + "' was served to another user");
    }
    if (!shown.ok()) {
      served_.Release(id);
      return shown.status();
    }
    impression = std::move(*shown);
    result.from_cache = true;
  } else {
    if (input.items.empty()) {
      return Status::NotFound("impression: recommendation '" + id +
                              "' is not in the served-list cache (unknown, older than the "
                              "attribution window, or served before a restart): send its items")
          .WithField("recommendation_id");
    }
    if (const std::optional<size_t> bad = FirstUnknown(input.items, nullptr)) {
      const std::string field = "items[" + std::to_string(*bad) + "]";
      return Invalid(field, "item '" + input.items[*bad] + "' is not known to the engine");
    }
    if (!id.empty() && !ClaimExplicitId(id)) {
      result.duplicate = true;
      return result;
    }
    impression = Explicit(input.user, id, input.items, 0);
  }
  impression.ts_ms = input.ts_ms != 0    ? input.ts_ms
                     : result.from_cache ? list.ts_ms
                                         : NewestEventMs();
  FLYWHEEL_ASSIGN_OR_RETURN(result.seq, Log(impression));
  result.items = impression.items.size();
  return result;
}

Result<Impression> ImpressionRecorder::FromServed(const std::string& id, const ServedList& list,
                                                  const std::vector<std::string>& shown,
                                                  const std::string& field) {
  Impression out;
  out.user = list.user;
  out.recommendation_id = id;
  out.ts_ms = list.ts_ms;
  out.policy = list.policy;
  out.model = list.model;
  out.model_version = list.model_version;
  if (shown.empty()) {
    out.items = list.items;
    return out;
  }
  std::unordered_map<std::string_view, size_t> at;
  for (size_t i = 0; i < list.items.size(); ++i) {
    at.emplace(list.items[i].item, i);
  }
  std::vector<size_t> picked;
  for (size_t i = 0; i < shown.size(); ++i) {
    const auto it = at.find(shown[i]);
    if (it == at.end()) {
      return Invalid(field + "[" + std::to_string(i) + "]",
                     "item '" + shown[i] + "' is not in the list '" + id + "' served");
    }
    picked.push_back(it->second);
  }
  std::sort(picked.begin(), picked.end());  // served order (distinct: validated before)
  for (const size_t i : picked) {
    out.items.push_back(list.items[i]);
  }
  return out;
}

Impression ImpressionRecorder::Explicit(const std::string& user, const std::string& id,
                                        const std::vector<std::string>& items, TimestampMs ts_ms) {
  Impression out;
  out.user = user;
  out.recommendation_id = id;
  out.ts_ms = ts_ms;
  out.items.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    out.items.push_back(ShownItem{items[i], static_cast<uint32_t>(i)});
  }
  return out;
}

std::optional<size_t> ImpressionRecorder::FirstUnknown(const std::vector<std::string>& items,
                                                       const std::vector<std::string>* also) const {
  const auto first_unknown = [&]() -> std::optional<size_t> {
    base::ReaderLock lock(&state_->mu);
    for (size_t i = 0; i < items.size(); ++i) {
      if (!state_->item_ids.Find(items[i]) &&
          (also == nullptr || std::find(also->begin(), also->end(), items[i]) == also->end())) {
        return i;
      }
    }
    return std::nullopt;
  };
  if (!first_unknown()) {
    return std::nullopt;
  }
  // Perhaps logged but not applied yet (an item put just before): judge on everything logged.
  (void)learner_->WaitForApplied(ingestor_->last_seq(), kKnownWaitMs);
  return first_unknown();
}

bool ImpressionRecorder::ClaimExplicitId(const std::string& id) {
  if (known_recorded_ && known_recorded_(id)) {
    return false;
  }
  return served_.ClaimId(id, SteadyMs());
}

Result<uint64_t> ImpressionRecorder::Log(const Impression& impression) {
  Status valid = ValidateImpression(impression);
  Result<uint64_t> seq =
      valid.ok() ? ingestor_->LogControl(ImpressionRecord(impression)) : Result<uint64_t>(valid);
  if (!seq.ok() && !impression.recommendation_id.empty()) {
    served_.Release(impression.recommendation_id);
  }
  return seq;
}

TimestampMs ImpressionRecorder::NewestEventMs() const {
  base::ReaderLock lock(&state_->mu);
  return state_->last_event_ms != 0 ? state_->last_event_ms : WallMs();
}

std::vector<EventError> ImpressionRecorder::CheckEvents(std::span<const Event> events) const {
  std::vector<EventError> errors;
  std::vector<std::string> batch_items;  // an event's own item is known once it is applied
  for (const Event& event : events) {
    batch_items.push_back(event.item);
  }
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& event = events[i];
    if (event.impressions.empty()) {
      continue;
    }
    Status st;
    ServedList list;
    if (!event.recommendation_id.empty() &&
        served_.Peek(event.recommendation_id, SteadyMs(), &list)) {
      st = FromServed(event.recommendation_id, list, event.impressions, "impressions").status();
    } else if (const auto bad = FirstUnknown(event.impressions, &batch_items)) {
      const std::string field = "impressions[" + std::to_string(*bad) + "]";
      st = Invalid(field, "item '" + event.impressions[*bad] + "' is not known to the engine");
    }
    if (!st.ok()) {
      errors.push_back(EventError{i, st.field(), st.message()});
    }
  }
  return errors;
}

std::optional<Event> ImpressionRecorder::ClaimFor(const Event& event) {
  const std::string& id = event.recommendation_id;
  if (id.empty() && event.impressions.empty()) {
    return std::nullopt;
  }
  ServedList list;
  const auto claim =
      id.empty() ? ServedLists::Claim::kMissing : served_.ClaimList(id, SteadyMs(), &list);
  if (claim == ServedLists::Claim::kRecorded) {
    return std::nullopt;  // logged before: the event is attributed to it
  }
  if (claim == ServedLists::Claim::kClaimed) {
    Result<Impression> shown = FromServed(id, list, event.impressions, "impressions");
    if (shown.ok() && shown->user == event.user && ValidateImpression(*shown).ok()) {
      return ImpressionRecord(*shown);
    }
    served_.Release(id);  // another user's list, or shown items it did not serve (checked before)
    return std::nullopt;
  }
  if (event.impressions.empty() || (!id.empty() && !ClaimExplicitId(id))) {
    return std::nullopt;
  }
  const Impression shown = Explicit(event.user, id, event.impressions, event.ts_ms);
  if (!ValidateImpression(shown).ok()) {
    Release(id);
    return std::nullopt;
  }
  return ImpressionRecord(shown);
}

void ImpressionRecorder::Release(const std::string& recommendation_id) {
  if (!recommendation_id.empty()) {
    served_.Release(recommendation_id);
  }
}

}  // namespace flywheel::engine
