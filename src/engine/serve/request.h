// The request and result objects of the serving stages (doc/engine.md, "Serving stages").
// One ServeRequest goes through every stage unchanged in shape: what was asked, plus what the
// first stage (Prepare) derives once for all the others (the filter, the model's query vector,
// the user's recent positive items). One ServeResult collects the candidates and then the
// chosen items; reasons stay structured data (Reason) until the engine's edge turns them into
// text (reason.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flywheel/event_types.h"
#include "flywheel/types.h"

#include "model/recommender.h"
#include "model/user_state.h"

namespace flywheel::engine {

// Why an item is in the list (structured; FormatReason writes the text).
enum class ReasonKind {
  kForYou,          // "recommended for you"
  kBecause,         // "because you <verb> <seed>"
  kBecauseSimilar,  // "because you <verb> <seed> and similar items"
  kPopular,         // "popular [in <category>] now"
  kNew,             // "new [in <category>]"
  kSimilarTo,       // "similar to <seed>" (item-to-item)
};

struct Reason {
  ReasonKind kind = ReasonKind::kForYou;
  ItemIdx seed = kNoItem;     // the user's item (or the query item) the reason names
  EventTypeId seed_type = 0;  // the event the user had with the seed (its verb)
};

// A recent positive item of the user (most recent first), with the type of its event.
struct Seed {
  ItemIdx item;
  EventTypeId type;
};

// Which items may be recommended for one request: not deleted, not seen (unless asked),
// within the requested categories, not in an excluded category.
class ItemFilter {
 public:
  ItemFilter() = default;
  ItemFilter(const class Catalog* catalog, const model::UserState* state, bool exclude_seen,
             const std::vector<uint32_t>* categories, std::vector<uint32_t> banned)
      : catalog_(catalog),
        state_(state),
        exclude_seen_(exclude_seen),
        categories_(categories),
        banned_(std::move(banned)) {}
  bool operator()(ItemIdx item) const;
  // As a callable for the index searches.
  std::function<bool(ItemIdx)> AsFunction() const {
    return [this](ItemIdx i) { return (*this)(i); };
  }

 private:
  const Catalog* catalog_ = nullptr;
  const model::UserState* state_ = nullptr;
  bool exclude_seen_ = true;
  const std::vector<uint32_t>* categories_ = nullptr;  // null: no category filter
  std::vector<uint32_t> banned_;
};

struct ServeRequest {
  // What was asked.
  UserIdx user = kNoUser;
  const model::UserState* state = nullptr;  // never null
  int k = 10;
  bool exclude_seen = true;
  bool filter_categories = false;  // only items in `categories` (possibly none)
  std::vector<uint32_t> categories;
  bool explain = false;
  TimestampMs now_ms = 0;
  // Seeds the list policy's random numbers (policy.h): the recommendation id's bits, so that a
  // request can be replayed.
  uint64_t policy_seed = 0;

  // Derived once by Prepare, read by the later stages.
  ItemFilter allowed;
  model::RecommendRequest model_request;         // the model's view of the request
  std::vector<float> query;                      // the model's query vector (retrieval_dim floats)
  bool has_query = false;                        // the model gave a query vector
  bool personal = false;                         // the model ranks for this user (else: trending)
  std::vector<Seed> seeds;                       // recent positive items, most recent first
  std::vector<Seed> vector_seeds;                // the seeds with vectors...
  std::vector<std::vector<float>> seed_vectors;  // ...and their vectors (bias coordinate 0)
};

struct ServeItem {
  ItemIdx item = kNoItem;
  float score = 0;
  Reason reason;
  bool exploration = false;
  const char* source = "";  // candidate source: "model", "neighbours", "trending", "new"
  // Set by the list policy (policy.h, doc/loop.md): P(shown at this slot) and P(here | the items
  // above); 1 for greedy and deterministic slots.
  double propensity = 1.0;
  double step = 1.0;
  // explain: recent items of the user and how much each supports this item (sums to 1).
  std::vector<std::pair<ItemIdx, float>> because;
};

// The candidates of one request, each item once (the first source that offered it names it).
class Candidates {
 public:
  // Adds `item` unless present; returns its entry (a new one has score -infinity).
  ServeItem& Add(ItemIdx item, const char* source);
  bool Contains(ItemIdx item) const { return index_.count(item) != 0; }
  size_t size() const { return items_.size(); }
  std::vector<ServeItem>& items() { return items_; }

 private:
  std::unordered_map<ItemIdx, size_t> index_;
  std::vector<ServeItem> items_;
};

struct ServeResult {
  Candidates candidates;         // retrieve, then score (sorted best first)
  std::vector<ServeItem> items;  // select, explore, explain: the answer, in order
};

}  // namespace flywheel::engine
