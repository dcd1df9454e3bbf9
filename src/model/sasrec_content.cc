// Sasrec's item content features (content=1, see sasrec.h): E_i = id_i + sum_f w_if F_f.
#include <algorithm>

#include "model/sasrec.h"
#include "model/sasrec_internal.h"
#include "model/twotower_features.h"
#include "nn/ops.h"

namespace flywheel::model {
namespace {

constexpr int kMaxTokens = 20;  // tags and title tokens per item, as twotower's default

}  // namespace

void Sasrec::LinkFeatures(ItemIdx item, bool link) {
  for (const auto& [bucket, weight] : item_feats_[item]) {
    std::vector<ItemIdx>& items = feature_items_[bucket];
    if (link) {
      items.push_back(item);
    } else {
      items.erase(std::remove(items.begin(), items.end(), item), items.end());
    }
  }
}

void Sasrec::SetItemContent(ItemIdx item, const Item& content) {
  if (!options_.content || item == kNoItem) {
    return;
  }
  GrowItems(item);
  LinkFeatures(item, false);
  std::vector<std::pair<uint32_t, float>>& feats = item_feats_[item];
  feats.clear();
  const auto buckets = static_cast<uint64_t>(options_.feature_buckets);
  for (const internal::HashedFeature& f : internal::ItemFeatureHashes(content, kMaxTokens)) {
    const auto bucket = static_cast<uint32_t>(f.hash % buckets);
    auto it = std::find_if(feats.begin(), feats.end(),
                           [bucket](const auto& p) { return p.first == bucket; });
    if (it == feats.end()) {
      feats.emplace_back(bucket, f.weight);
    } else {
      it->second += f.weight;  // two features in one bucket
    }
  }
  LinkFeatures(item, true);
  RefreshRow(item);
  ++version_;
  if (!feats.empty()) {
    MarkKnown(item);  // rankable from its features before its first event
  }
}

void Sasrec::RefreshRow(ItemIdx item) {
  const int d = options_.encoder.dim;
  float* e = items_.data() + static_cast<int64_t>(item) * d;
  std::copy_n(ids_.data() + static_cast<int64_t>(item) * d, d, e);
  for (const auto& [bucket, weight] : item_feats_[item]) {
    const float* f = feat_.data() + static_cast<int64_t>(bucket) * d;
    for (int c = 0; c < d; ++c) {
      e[c] += weight * f[c];
    }
  }
}

void Sasrec::RefreshAllRows() {
  for (ItemIdx item = 0; item < rows_; ++item) {
    RefreshRow(item);
  }
}

void Sasrec::ContentStep(const nn::AdamOptions& adam, const ThreadState& main) {
  const int d = options_.encoder.dim;
  touched_feats_.clear();
  for (uint32_t row : main.touched_rows) {
    const float* g = main.item_grad.data() + static_cast<int64_t>(row) * d;
    for (const auto& [bucket, weight] : item_feats_[row]) {
      float* fg = feat_grad_.data() + static_cast<int64_t>(bucket) * d;
      if (feat_mark_[bucket] == 0) {
        feat_mark_[bucket] = 1;
        touched_feats_.push_back(bucket);
      }
      for (int c = 0; c < d; ++c) {
        fg[c] += weight * g[c];
      }
    }
  }
  std::sort(touched_feats_.begin(), touched_feats_.end());
  if (step_rule_.sgd) {
    nn::SgdStepRows(adam.lr, adam.weight_decay, d, touched_feats_, feat_grad_, feat_);
  } else {
    nn::AdamStepRows(adam, static_cast<int64_t>(steps_), d, touched_feats_, feat_grad_, feat_,
                     feat_m_, feat_v_);
  }
  std::vector<ItemIdx> refresh(main.touched_rows.begin(), main.touched_rows.end());
  for (uint32_t bucket : touched_feats_) {
    std::fill_n(feat_grad_.data() + static_cast<int64_t>(bucket) * d, d, 0.0f);
    feat_mark_[bucket] = 0;
    refresh.insert(refresh.end(), feature_items_[bucket].begin(), feature_items_[bucket].end());
  }
  for (ItemIdx item : refresh) {
    if (dirty_[item] == 0) {
      dirty_[item] = 1;
      RefreshRow(item);
    }
  }
  for (ItemIdx item : refresh) {
    dirty_[item] = 0;
  }
}

}  // namespace flywheel::model
