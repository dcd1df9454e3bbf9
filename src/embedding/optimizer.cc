#include "embedding/optimizer.h"

#include <cmath>
#include <cstring>
#include <string>

#include "base/check.h"
#include "embedding/internal/row_kernels.h"

namespace flywheel::embedding {
namespace {

using internal::AdagradKernel;
using internal::AdamKernel;
using internal::AdamStep;
using internal::AllFinite;
using internal::FtrlKernel;
using internal::FtrlStep;
using internal::SgdKernel;

// Sum of squares with 8 independent accumulators (throughput- rather than latency-bound).
double SquaredNorm(const float* g, size_t dim) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= dim; i += 8) {
    for (size_t k = 0; k < 8; ++k) {
      partial[k] += g[i + k] * g[i + k];
    }
  }
  double total = 0.0;
  for (; i < dim; ++i) {
    total += static_cast<double>(g[i]) * g[i];
  }
  for (float p : partial) {
    total += p;
  }
  return total;
}

}  // namespace

std::string_view OptimizerKindName(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdagrad:
      return "adagrad";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kFtrl:
      return "ftrl";
  }
  return "unknown";
}

Result<OptimizerKind> ParseOptimizerKind(std::string_view name) {
  for (OptimizerKind kind :
       {OptimizerKind::kSgd, OptimizerKind::kAdagrad, OptimizerKind::kAdam, OptimizerKind::kFtrl}) {
    if (name == OptimizerKindName(kind)) {
      return kind;
    }
  }
  return Status::InvalidArgument("embedding: unknown optimizer '" + std::string(name) +
                                 "' (expected sgd, adagrad, adam or ftrl)");
}

Status ValidateOptimizerOptions(const OptimizerOptions& o) {
  if (static_cast<uint32_t>(o.kind) > static_cast<uint32_t>(OptimizerKind::kFtrl)) {
    return Status::InvalidArgument("embedding: unknown optimizer kind");
  }
  const struct {
    const char* name;
    float value;
  } non_negative[] = {{"clip_norm", o.clip_norm},   {"adagrad_eps", o.adagrad_eps},
                      {"adam_beta1", o.adam_beta1}, {"adam_beta2", o.adam_beta2},
                      {"adam_eps", o.adam_eps},     {"ftrl_beta", o.ftrl_beta},
                      {"ftrl_l1", o.ftrl_l1},       {"ftrl_l2", o.ftrl_l2}};
  for (const auto& field : non_negative) {
    if (!std::isfinite(field.value) || field.value < 0.0f) {
      return Status::InvalidArgument(std::string("embedding: optimizer option ") + field.name +
                                     " must be finite and >= 0");
    }
  }
  if (o.adam_beta1 >= 1.0f || o.adam_beta2 >= 1.0f) {
    return Status::InvalidArgument("embedding: adam_beta1 and adam_beta2 must be < 1");
  }
  return Status::Ok();
}

size_t OptimizerStateFloats(OptimizerKind kind, size_t dim) {
  switch (kind) {
    case OptimizerKind::kSgd:
      return 0;
    case OptimizerKind::kAdagrad:
      return dim;
    case OptimizerKind::kAdam:
      return 2 * dim + 1;
    case OptimizerKind::kFtrl:
      return 2 * dim;
  }
  return 0;
}

RowOptimizer::RowOptimizer(const OptimizerOptions& options, size_t dim)
    : options_(options),
      dim_(dim),
      state_floats_(OptimizerStateFloats(options.kind, dim)),
      scratch_(2 * dim + OptimizerStateFloats(options.kind, dim)) {
  FLYWHEEL_CHECK(dim > 0) << "embedding: optimizer dim must be > 0";
  FLYWHEEL_CHECK(ValidateOptimizerOptions(options).ok()) << "embedding: invalid optimizer options";
}

const float* RowOptimizer::MaybeClip(const float* grad) {
  if (options_.clip_norm <= 0.0f) {
    return grad;
  }
  const double norm = std::sqrt(SquaredNorm(grad, dim_));
  if (!(norm > options_.clip_norm)) {  // also false for NaN: the guard rejects it later
    return grad;
  }
  ++clipped_;
  const float scale = static_cast<float>(options_.clip_norm / norm);
  float* clipped = scratch_.data();
  for (size_t i = 0; i < dim_; ++i) {
    clipped[i] = grad[i] * scale;
  }
  return clipped;
}

void RowOptimizer::ComputeUpdate(const float* w, const float* state, const float* g, float lr,
                                 float* new_w, float* new_state) const {
  const OptimizerOptions& o = options_;
  switch (o.kind) {
    case OptimizerKind::kSgd:
      SgdKernel(dim_, w, g, lr, new_w);
      return;
    case OptimizerKind::kAdagrad:
      AdagradKernel(dim_, w, state, g, lr, o.adagrad_eps, new_w, new_state);
      return;
    case OptimizerKind::kAdam: {
      const float t = state[2 * dim_] + 1.0f;
      const float c1 = 1.0f - std::pow(o.adam_beta1, t);
      const float c2 = 1.0f - std::pow(o.adam_beta2, t);
      const AdamStep step{o.adam_beta1, o.adam_beta2, o.adam_eps, lr / c1, 1.0f / c2};
      AdamKernel(dim_, w, state, state + dim_, g, step, new_w, new_state, new_state + dim_);
      new_state[2 * dim_] = t;
      return;
    }
    case OptimizerKind::kFtrl: {
      const FtrlStep step{1.0f / lr, o.ftrl_beta, o.ftrl_l1, o.ftrl_l2};
      FtrlKernel(dim_, w, state, state + dim_, g, step, new_w, new_state, new_state + dim_);
      return;
    }
  }
}

bool RowOptimizer::ApplyGradient(std::span<float> weights, std::span<float> state,
                                 std::span<const float> grad, float lr) {
  FLYWHEEL_DCHECK(weights.size() == dim_ && grad.size() == dim_ && state.size() == state_floats_)
      << "embedding: row/state/grad size mismatch";
  const float* g = MaybeClip(grad.data());
  float* new_w = scratch_.data() + dim_;
  float* new_state = new_w + dim_;
  ComputeUpdate(weights.data(), state.data(), g, lr, new_w, new_state);
  if (!AllFinite(new_w, dim_ + state_floats_)) {
    ++skipped_non_finite_;
    return false;
  }
  std::memcpy(weights.data(), new_w, dim_ * sizeof(float));
  if (state_floats_ > 0) {
    std::memcpy(state.data(), new_state, state_floats_ * sizeof(float));
  }
  return true;
}

}  // namespace flywheel::embedding
