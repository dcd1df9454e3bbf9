// Blend ("default"): what Flywheel serves by default (doc/blend.md). It holds the sequential
// model (sasrec), item-to-item neighbours (itemknn) and popularity (pop or recentpop) as arms,
// plus fused arms (weighted reciprocal-rank fusions of the others' lists), and chooses an arm per
// user segment (segments by the number of distinct items the user has interacted with: 0, 1,
// 2-3, 4-7, ..., 64+) from the prequential outcome each arm would have had:
//
//   Observe(e, u)  for a new positive item of the user (the events every protocol scores), each
//                  arm ranks the catalogue for u *before* learning from e, and its NDCG@k of e's
//                  item is added to the segment's exponentially decayed record; then every child
//                  learns from e.
//   Recommend      answers with the arm whose record in the user's segment is best (shrunk
//                  towards the arm's record over all segments, so a thin segment borrows
//                  strength); ties prefer popularity, then neighbours, then the sequential model.
//   Fit            fits fresh arms on all but each user's last new item and judges those
//                  held-out items (in time order) to seed the record; then the arms fit on all
//                  of the history (refit = 1), or learn the held-out items online (refit = 0).
//
// So the served list is, segment by segment, the best measured of the arms on this data: where
// the sequential model wins it is served, where a short history makes neighbours or popularity
// better they are. Thread safety: see Recommender (the record changes under Observe only).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/param_table.h"
#include "model/recommender.h"

namespace flywheel::model {

struct BlendOptions {
  int k = 10;                // cut-off of the judged NDCG
  int depth = 100;           // items each arm offers the fused arm
  double half_life = 20000;  // judged events (per segment) after which a record weighs half
  double prior = 50;         // pseudo-events shrinking a segment's record to all segments'
  double judge = 1.0;        // share of new positive items judged (the rest only learned)
  bool fusion = true;        // offer the fused arm
  double fusion_c = 10;      // fused score: sum over arms of w_a / (fusion_c + rank_a)
  bool refit = true;         // Fit: arms fit again on all history after the held-out judging
  uint64_t seed = 1;         // the judge sampling
};
// The parameters of "default" (model/param_table.h). Children's parameters are given as
// "default.sasrec.dim=64" and reach the child (model/registry.cc).
const ParamTable<BlendOptions>& BlendParamTable();

class Blend final : public Recommender {
 public:
  static constexpr int kSegments = 8;
  static constexpr size_t kMaxChildren = 3;
  // The fused arms "fusion1", "fusion2", "fusion4": an arm's weight is its record to this power
  // (higher lets the best arm lead and the others only reorder its near misses).
  static constexpr std::array<double, 3> kFusionPowers = {1, 2, 4};
  static constexpr size_t kMaxArms = kMaxChildren + kFusionPowers.size();

  // Makes one arm afresh (Fit's held-out arms are made with it, then dropped).
  using ArmFactory = std::function<Result<std::unique_ptr<Recommender>>()>;
  using Arms = std::vector<std::unique_ptr<Recommender>>;

  // `arms`: 1 to 3 factories (the fused arms are added after them when options.fusion).
  static Result<std::unique_ptr<Blend>> Create(const BlendOptions& options,
                                               std::vector<ArmFactory> arms);

  std::string name() const override { return "default"; }
  KeyValues params() const override;
  KeyValues diagnostics() const override;

  Status Fit(std::span<const data::Interaction> history) override;
  void Observe(const data::Interaction& event, const UserState& user) override;
  void ObserveNegatives(UserIdx user, std::span<const ItemIdx> items,
                        std::span<const float> weights, TimestampMs now_ms,
                        const UserState& state) override;
  void Recommend(const RecommendRequest& request, std::vector<ScoredItem>* out) const override;
  size_t num_items() const override;
  void SetItemContent(ItemIdx item, const Item& content) override;
  std::vector<std::pair<ItemIdx, float>> RecentAttribution(
      const RecommendRequest& request) const override;
  void ForgetUser(UserIdx user) override;
  Status SaveState(base::ByteWriter* out) const override;
  Status LoadState(base::ByteReader* in) override;

  // Segment of a user with `distinct_items` distinct items: 0, 1, 2-3, 4-7, ..., 64+.
  static int Segment(size_t distinct_items);
  // The arm Recommend uses for a segment, and the arms' names (children, then fused).
  size_t ChosenArm(int segment) const;
  const std::vector<std::string>& arm_names() const { return arm_names_; }
  // Judged events so far (not decayed) and the decayed record (for tests and reports).
  int64_t judged() const { return judged_; }
  double RecordMean(int segment, size_t arm) const;

 private:
  Blend(const BlendOptions& options, std::vector<ArmFactory> factories, Arms children);

  size_t num_arms() const { return arm_names_.size(); }
  // Each of `arms`' top `depth` for the request, into *lists (size: arms).
  static void ChildLists(const Arms& arms, const RecommendRequest& request, int depth,
                         std::vector<std::vector<ScoredItem>>* lists);
  // Every item of `lists` with its rank in each (0: absent), for Fuse (one pass for all the
  // fused arms of a judgement).
  struct Ranked {
    ItemIdx item;
    std::array<int, kMaxChildren> rank;
  };
  static void RankLists(const std::vector<std::vector<ScoredItem>>& lists,
                        std::vector<Ranked>* out);
  // The fused top-k of `ranked` for a segment, arms weighted by their record to `power`.
  void Fuse(const std::vector<Ranked>& ranked, int segment, double power, int k,
            std::vector<ScoredItem>* out) const;
  // Adds one judged event's gains (one per arm) to a segment's record.
  void Record(int segment, const std::array<double, kMaxArms>& gains);
  // Judges event e by `arms` for the user (state before e) and records the gains.
  void Judge(const Arms& arms, const data::Interaction& event, const UserState& user);
  bool ShouldJudge(const Arms& arms, const data::Interaction& event, const UserState& user);
  // Fit's held-out judging: fresh arms fit on `history` less the held-out events, which they
  // then judge in time order. Returns the held-out mask.
  Result<std::vector<bool>> JudgeHeldOut(std::span<const data::Interaction> history, Arms* probes);

  BlendOptions options_;
  double decay_;  // per judged event of a segment
  std::vector<ArmFactory> factories_;
  Arms children_;
  std::vector<std::optional<Item>> content_;  // item content given so far (for fresh arms)
  std::vector<std::string> arm_names_;
  // Decayed record per segment: judged events, and the sum of each arm's gains.
  std::array<double, kSegments> count_{};
  std::array<std::array<double, kMaxArms>, kSegments> gain_{};
  int64_t judged_ = 0;
  uint64_t judge_draws_ = 0;  // the sampler's counter (deterministic, saved)
};

}  // namespace flywheel::model
