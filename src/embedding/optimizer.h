// Sparse row optimizers: SGD, Adagrad, lazy Adam and FTRL-proximal, applied to one embedding row
// (a span of `dim` weights) and its optimizer state (a span of OptimizerStateFloats() floats).
//
// Guards applied on every call, in this order:
//   1. clipping: if options.clip_norm > 0 and ||grad||_2 > clip_norm, grad is scaled to clip_norm;
//   2. the update is computed into scratch (new weights and new state);
//   3. non-finite guard: if any new weight or state value is NaN/Inf the update is dropped
//      entirely (row and state untouched) and skipped_non_finite() is incremented. A NaN/Inf in
//      the gradient always reaches the new state or weights (every rule stores g or g^2), so
//      this also rejects non-finite gradients. Non-finite values never reach a row.
// The learning rate is a per-call argument, so any schedule lives with the caller.
//
// State layout per row (floats, zero-initialised): SGD none; Adagrad acc[dim];
// Adam m[dim], v[dim], t (per-row step count, for lazy bias correction; exact up to 2^24 steps,
// after which the correction factors are 1 to float precision anyway); FTRL z[dim], n[dim].
// See doc/embedding.md for what each knob does.
//
// Thread safety: RowOptimizer holds scratch space and counters: one thread per instance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "flywheel/result.h"
#include "flywheel/status.h"

namespace flywheel::embedding {

// Stored in snapshots: never renumber.
enum class OptimizerKind : uint32_t { kSgd = 0, kAdagrad = 1, kAdam = 2, kFtrl = 3 };

std::string_view OptimizerKindName(OptimizerKind kind);
// "sgd", "adagrad", "adam", "ftrl" -> kind; anything else kInvalidArgument.
Result<OptimizerKind> ParseOptimizerKind(std::string_view name);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kAdagrad;
  float clip_norm = 0.0f;  // > 0: clip gradients to this L2 norm; 0: no clipping
  float adagrad_eps = 1e-8f;
  float adam_beta1 = 0.9f;
  float adam_beta2 = 0.999f;
  float adam_eps = 1e-8f;
  float ftrl_beta = 1.0f;  // FTRL: per-coordinate rate is lr / (beta + sqrt(n))
  float ftrl_l1 = 0.0f;    // FTRL: L1 strength (weights with |z| <= l1 are exactly 0)
  float ftrl_l2 = 0.0f;    // FTRL: L2 strength
};

// kInvalidArgument naming the field if a value is out of range (negative, non-finite, beta >= 1).
Status ValidateOptimizerOptions(const OptimizerOptions& options);

// Floats of optimizer state per row of `dim` weights.
size_t OptimizerStateFloats(OptimizerKind kind, size_t dim);

class RowOptimizer {
 public:
  // REQUIRES: ValidateOptimizerOptions(options).ok(), dim > 0.
  RowOptimizer(const OptimizerOptions& options, size_t dim);

  // Applies one step with learning rate `lr` to `weights` and `state`.
  // REQUIRES: weights.size() == grad.size() == dim(), state.size() == state_floats().
  // Returns false (and counts it) if the update was skipped by the non-finite guard.
  bool ApplyGradient(std::span<float> weights, std::span<float> state, std::span<const float> grad,
                     float lr);

  const OptimizerOptions& options() const { return options_; }
  size_t dim() const { return dim_; }
  size_t state_floats() const { return state_floats_; }
  uint64_t skipped_non_finite() const { return skipped_non_finite_; }
  uint64_t clipped() const { return clipped_; }

 private:
  // Returns grad, or a clipped copy in scratch_.
  const float* MaybeClip(const float* grad);
  void ComputeUpdate(const float* weights, const float* state, const float* grad, float lr,
                     float* new_weights, float* new_state) const;

  OptimizerOptions options_;
  size_t dim_;
  size_t state_floats_;
  std::vector<float> scratch_;  // [clipped grad: dim][new weights: dim][new state]
  uint64_t skipped_non_finite_ = 0;
  uint64_t clipped_ = 0;
};

}  // namespace flywheel::embedding
