// The attributor's snapshot section `loop` (doc/formats/snapshot.md): counters, open lists and
// remembered recommendation ids, in record order, so a loaded state continues bit-identically.
#include <cmath>
#include <utility>

#include "engine/loop/attribution.h"
#include "engine/loop/impression_record.h"

namespace flywheel::engine {
namespace {

constexpr uint32_t kVersion = 1;

void PutStats(const ImpressionStats& s, base::ByteWriter* w) {
  for (const uint64_t v : {s.recorded, s.duplicates, s.bad_records, s.items_shown, s.unknown_items,
                           s.closed, s.closed_early, s.clicked}) {
    w->Put<uint64_t>(v);
  }
  w->Put<double>(s.reward_sum);
  for (const uint64_t v : {s.attributed, s.unknown_recommendation, s.window_passed, s.not_shown}) {
    w->Put<uint64_t>(v);
  }
  w->Put<uint32_t>(static_cast<uint32_t>(s.positions.size()));
  for (const ImpressionStats::Position& p : s.positions) {
    w->Put<uint64_t>(p.shown);
    w->Put<uint64_t>(p.clicked);
    w->Put<double>(p.reward);
  }
  w->PutVector(s.lag_counts);
  w->Put<double>(s.lag_sum_ms);
}

Status GetStats(base::ByteReader* r, ImpressionStats* s) {
  for (uint64_t* v : {&s->recorded, &s->duplicates, &s->bad_records, &s->items_shown,
                      &s->unknown_items, &s->closed, &s->closed_early, &s->clicked}) {
    FLYWHEEL_RETURN_IF_ERROR(r->Get(v, "counter"));
  }
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&s->reward_sum, "reward sum"));
  for (uint64_t* v :
       {&s->attributed, &s->unknown_recommendation, &s->window_passed, &s->not_shown}) {
    FLYWHEEL_RETURN_IF_ERROR(r->Get(v, "counter"));
  }
  uint32_t positions = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&positions, "position count"));
  if (positions != ImpressionStats::kPositionBuckets) {
    return r->Error("position count " + std::to_string(positions));
  }
  for (ImpressionStats::Position& p : s->positions) {
    FLYWHEEL_RETURN_IF_ERROR(r->Get(&p.shown, "position shown"));
    FLYWHEEL_RETURN_IF_ERROR(r->Get(&p.clicked, "position clicked"));
    FLYWHEEL_RETURN_IF_ERROR(r->Get(&p.reward, "position reward"));
  }
  std::vector<uint64_t> lag;
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&lag, "lag counts"));
  if (lag.size() != s->lag_counts.size()) {
    return r->Error("lag bucket count " + std::to_string(lag.size()));
  }
  s->lag_counts = std::move(lag);
  return r->Get(&s->lag_sum_ms, "lag sum");
}

void PutList(const ClosedImpression& list, base::ByteWriter* w) {
  w->Put<uint64_t>(list.seq);
  w->Put<uint32_t>(list.user);
  w->Put<int64_t>(list.ts_ms);
  w->PutString(list.recommendation_id);
  w->PutString(list.policy);
  w->PutString(list.model);
  w->Put<uint64_t>(list.model_version);
  w->Put<uint32_t>(static_cast<uint32_t>(list.slots.size()));
  for (const ClosedSlot& slot : list.slots) {
    w->Put<uint32_t>(slot.item);
    w->Put<uint32_t>(slot.position);
    w->Put<double>(slot.propensity);
    w->Put<double>(slot.step);
    w->Put<double>(slot.reward);
    w->Put<uint8_t>(slot.clicked ? 1 : 0);
    w->Put<int64_t>(slot.first_lag_ms);
  }
}

bool ValidProbability(double p) {
  return std::isnan(p) || (p > 0.0 && p <= 1.0);
}

Status GetSlot(base::ByteReader* r, size_t num_items, ClosedSlot* slot) {
  uint8_t clicked = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&slot->item, "slot item"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&slot->position, "slot position"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&slot->propensity, "slot propensity"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&slot->step, "slot step"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&slot->reward, "slot reward"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&clicked, "slot clicked"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&slot->first_lag_ms, "slot lag"));
  if (slot->item != kNoItem && slot->item >= num_items) {
    return r->Error("slot item " + std::to_string(slot->item) + " out of range");
  }
  if (!ValidProbability(slot->propensity) || !ValidProbability(slot->step) ||
      !std::isfinite(slot->reward) || clicked > 1 || slot->first_lag_ms < -1) {
    return r->Error("bad slot");
  }
  slot->clicked = clicked == 1;
  return Status::Ok();
}

Status GetList(base::ByteReader* r, size_t num_users, size_t num_items, ClosedImpression* list) {
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&list->seq, "list seq"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&list->user, "list user"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&list->ts_ms, "list time"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetString(&list->recommendation_id, "recommendation id"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetString(&list->policy, "policy"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetString(&list->model, "model"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&list->model_version, "model version"));
  uint32_t slots = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&slots, "slot count"));
  if (list->user >= num_users) {
    return r->Error("list user " + std::to_string(list->user) + " out of range");
  }
  if (slots == 0 || slots > kMaxImpressionItems) {
    return r->Error("slot count " + std::to_string(slots));
  }
  list->slots.resize(slots);
  for (size_t i = 0; i < slots; ++i) {
    FLYWHEEL_RETURN_IF_ERROR(GetSlot(r, num_items, &list->slots[i]));
    if (i > 0 && list->slots[i].position <= list->slots[i - 1].position) {
      return r->Error("slot positions must increase");
    }
  }
  return Status::Ok();
}

}  // namespace

void Attributor::Save(base::ByteWriter* out) const {
  out->Put<uint32_t>(kVersion);
  out->Put<int64_t>(clock_);
  out->Put<uint64_t>(next_ordinal_);
  PutStats(stats_, out);
  out->Put<uint64_t>(open_.size());
  for (const auto& [ordinal, open] : open_) {
    out->Put<uint64_t>(ordinal);
    PutList(open.list, out);
  }
  out->Put<uint64_t>(remembered_.size());
  for (const Remembered& r : remembered_) {
    out->Put<uint64_t>(r.id_key);
    out->Put<uint32_t>(r.user);
    out->Put<int64_t>(r.expires_ms);
  }
}

Status Attributor::Load(base::ByteReader* in, size_t num_users, size_t num_items) {
  Reset();
  uint32_t version = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&version, "version"));
  if (version != kVersion) {
    return in->Error("unsupported version " + std::to_string(version));
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&clock_, "clock"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&next_ordinal_, "next ordinal"));
  FLYWHEEL_RETURN_IF_ERROR(GetStats(in, &stats_));
  FLYWHEEL_RETURN_IF_ERROR(LoadOpen(in, num_users, num_items));
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "remembered count"));
  if (n > in->remaining() / 20) {
    return in->Error("remembered count " + std::to_string(n));
  }
  for (uint64_t i = 0; i < n; ++i) {
    Remembered r;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&r.id_key, "remembered id"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&r.user, "remembered user"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&r.expires_ms, "remembered expiry"));
    if (r.id_key == 0 || r.user >= num_users || by_id_.contains(r.id_key) ||
        !remembered_ids_.emplace(r.id_key, r.user).second) {
      return in->Error("bad remembered recommendation id");
    }
    remembered_.push_back(r);
  }
  return Status::Ok();
}

Status Attributor::LoadOpen(base::ByteReader* in, size_t num_users, size_t num_items) {
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "open count"));
  if (n > in->remaining() / 60) {  // a list takes more than 60 bytes
    return in->Error("open count " + std::to_string(n));
  }
  uint64_t previous = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t ordinal = 0;
    Open open;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&ordinal, "ordinal"));
    FLYWHEEL_RETURN_IF_ERROR(GetList(in, num_users, num_items, &open.list));
    open.id_key = IdKey(open.list.recommendation_id);
    if (ordinal <= previous || ordinal >= next_ordinal_ ||
        (open.id_key != 0 && by_id_.contains(open.id_key))) {
      return in->Error("bad open list order or repeated recommendation id");
    }
    previous = ordinal;
    Index(ordinal, std::move(open));
  }
  return Status::Ok();
}

}  // namespace flywheel::engine
