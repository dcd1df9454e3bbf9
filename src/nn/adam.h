// Adam (Kingma & Ba) for dense parameter vectors and for selected rows of a row-major table
// (lazy Adam for embeddings: only rows with a gradient move and update their moments; rows
// without a gradient are left untouched).
// The caller owns parameters, gradients and moments (same sizes). Non-finite guard: callers
// check AllFinite(gradient) first and skip the step when it fails (the models count skips), so
// no NaN or infinity ever reaches a parameter.
// Thread safety: pure functions over caller-owned buffers.
#pragma once

#include <cstdint>
#include <span>

namespace flywheel::nn {

struct AdamOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.98f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // L2 added to the gradient
};

bool AllFinite(std::span<const float> values);

// One step (step >= 1 is the 1-based step count used for bias correction) on every element.
void AdamStep(const AdamOptions& options, int64_t step, std::span<const float> grad,
              std::span<float> param, std::span<float> m, std::span<float> v);

// The same on the rows `rows` (each `cols` floats) of row-major tables; rows must be distinct.
void AdamStepRows(const AdamOptions& options, int64_t step, int cols,
                  std::span<const uint32_t> rows, std::span<const float> grad,
                  std::span<float> param, std::span<float> m, std::span<float> v);

// Plain SGD: param -= lr * (grad + weight_decay * param), on every element / on `rows`.
void SgdStep(float lr, float weight_decay, std::span<const float> grad, std::span<float> param);
void SgdStepRows(float lr, float weight_decay, int cols, std::span<const uint32_t> rows,
                 std::span<const float> grad, std::span<float> param);

}  // namespace flywheel::nn
