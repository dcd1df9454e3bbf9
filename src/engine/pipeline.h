// The recommendation pipeline of the engine (doc/engine.md, "Recommendation pipeline"):
//
//   candidates  the model's retrieval (ANN over item vectors with the user's query vector, or the
//               model's own exact ranking), neighbours of the user's recent items (vector
//               similarity), trending items (global or per category), new items
//   scoring     the model's score (inner product for vector models); trending for cold users
//   filters     seen (optional), deleted, requested categories, business rules (excluded
//               categories, at most N items per category)
//   exploration a configurable share of the slots goes to new items (marked)
//   reasons     "because you viewed X", "popular in <category> now", "new in <category>", ...
//
// Everything here is read-only over the learned state: the engine calls RunPipeline under its
// shared state lock. Deterministic: the same state and query give the same answer.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "flywheel/engine.h"
#include "flywheel/event_types.h"
#include "flywheel/types.h"

#include "engine/catalog.h"
#include "model/recommender.h"
#include "model/user_state.h"

namespace flywheel::engine {

using PipelineOptions = flywheel::PipelineOptions;  // include/flywheel/engine.h

// Checks ranges; kInvalidArgument naming the field.
Status ValidatePipelineOptions(const PipelineOptions& options);

// Maximum-inner-product search over the model's item vectors (the engine's ANN index).
class VectorSearch {
 public:
  virtual ~VectorSearch() = default;
  // Top-k items by <query, item vector>, best first, among those `allowed` accepts.
  virtual void Search(std::span<const float> query, int k,
                      const std::function<bool(ItemIdx)>& allowed,
                      std::vector<model::ScoredItem>* out) const = 0;
};

// Trending and new-item lists, rebuilt by the learner from the catalogue now and then (readers
// use the last build).
struct TrendingLists {
  TimestampMs built_at_ms = 0;
  std::vector<ItemIdx> global;                    // best first, deleted items left out
  std::vector<std::vector<ItemIdx>> by_category;  // by category id, best first
  std::vector<ItemIdx> new_items;                 // first seen within the window, newest first

  static TrendingLists Build(const Catalog& catalog, TimestampMs now, int64_t new_item_window_ms,
                             size_t per_list);
};

struct PipelineQuery {
  UserIdx user = kNoUser;
  const model::UserState* state = nullptr;  // never null
  int k = 10;
  bool exclude_seen = true;
  bool filter_categories = false;  // only items in `categories` (possibly none)
  std::vector<uint32_t> categories;
  bool explain = false;
  TimestampMs now_ms = 0;
};

struct PipelineItem {
  ItemIdx item = kNoItem;
  float score = 0;
  std::string reason;
  bool exploration = false;
  std::string source;  // "model", "neighbours", "trending", "new"
  // explain: recent items of the user and how much each supports this item (sums to 1).
  std::vector<std::pair<ItemIdx, float>> because;
};

struct PipelineContext {
  const model::Recommender& model;
  const Catalog& catalog;
  const TrendingLists& trending;
  const VectorSearch* search = nullptr;  // null: exact search over the model's vectors
  const PipelineOptions& options;
  const EventTypeTable& types;
  // The display name of an item in reasons: its title, else its external id.
  std::function<std::string(ItemIdx)> item_name;
};

void RunPipeline(const PipelineContext& ctx, const PipelineQuery& query,
                 std::vector<PipelineItem>* out);

// Items most similar to `item` by the model's vectors (cosine over the first dim - 1
// coordinates); falls back to trending items sharing its categories for models without vectors.
void SimilarItems(const PipelineContext& ctx, ItemIdx item, int k, std::vector<PipelineItem>* out);

// "viewed", "bought", ... for an event type name ("interacted with" for unknown ones).
std::string PastTenseVerb(const std::string& type_name);

}  // namespace flywheel::engine
