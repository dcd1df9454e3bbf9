#include "model/recommender.h"

#include <algorithm>
#include <limits>

namespace flywheel::model {

Status Recommender::Fit(std::span<const data::Interaction> history) {
  UserStateStore users;
  for (const data::Interaction& event : history) {
    UserState& state = users.Get(event.user);
    Observe(event, state);
    state.Add(event);
  }
  return Status::Ok();
}

Status Recommender::SaveState(base::ByteWriter* /*out*/) const {
  return Status::Unimplemented("model '" + name() + "' does not support snapshots");
}

Status Recommender::LoadState(base::ByteReader* /*in*/) {
  return Status::Unimplemented("model '" + name() + "' does not support snapshots");
}

Status Recommender::ExportDelta(DeltaScope /*scope*/, base::ByteWriter* /*out*/,
                                DeltaInfo* /*info*/) {
  return Status::Unimplemented("model '" + name() + "' does not support deltas");
}

Result<std::unique_ptr<DecodedDelta>> Recommender::DecodeDelta(base::ByteReader* /*in*/) const {
  return Status::Unimplemented("model '" + name() + "' does not support deltas");
}

Status Recommender::ApplyDecoded(const DecodedDelta& /*delta*/, std::vector<ItemIdx>* /*changed*/) {
  return Status::Unimplemented("model '" + name() + "' does not support deltas");
}

Status Recommender::ApplyDelta(base::ByteReader* in, std::vector<ItemIdx>* changed) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<DecodedDelta> decoded, DecodeDelta(in));
  return ApplyDecoded(*decoded, changed);
}

namespace {

// Heap order: the worst kept item on top (lowest score, then highest index).
bool Better(const ScoredItem& a, const ScoredItem& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

}  // namespace

void SelectTopK(std::span<float> scores, int k, std::span<const ItemIdx> exclude,
                std::vector<ScoredItem>* out) {
  out->clear();
  if (k <= 0) {
    return;
  }
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  for (ItemIdx item : exclude) {
    if (item < scores.size()) {
      scores[item] = kNegInf;
    }
  }
  const auto kk = static_cast<size_t>(k);
  out->reserve(kk + 1);
  for (size_t i = 0; i < scores.size(); ++i) {
    const float score = scores[i];
    if (score == kNegInf) {
      continue;
    }
    const ScoredItem candidate{static_cast<ItemIdx>(i), score};
    if (out->size() < kk) {
      out->push_back(candidate);
      std::push_heap(out->begin(), out->end(), Better);
    } else if (Better(candidate, out->front())) {
      std::pop_heap(out->begin(), out->end(), Better);
      out->back() = candidate;
      std::push_heap(out->begin(), out->end(), Better);
    }
  }
  std::sort_heap(out->begin(), out->end(), Better);
}

std::span<float> ScratchScores(size_t n) {
  thread_local std::vector<float> scratch;
  scratch.assign(n, 0.0f);
  return {scratch.data(), n};
}

}  // namespace flywheel::model
