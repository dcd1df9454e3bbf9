// Private to src/nn: helpers for the element-wise kernels. The project builds without -march, so
// the hot loops are compiled three times (AVX-512F, AVX2, baseline) by GCC's target_clones and
// picked at load time by CPU features (not "arch=" clones: GCC 12 picks those by CPU model name,
// and the virtual Xeons here report none, so they fell back to SSE2); plain loops otherwise
// (other compilers, clang-tidy, and ThreadSanitizer builds: the ifunc resolvers behind
// target_clones run during relocation, before the TSan runtime is initialised, and crash the
// binary at load time).
// Reductions use 16 independent partial sums in a fixed order, which lets the compiler vectorise
// them without -ffast-math and keeps every result deterministic on a given machine.
#pragma once

#include <bit>
#include <cstdint>

#include "base/dot.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
#define FLYWHEEL_NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FLYWHEEL_NN_CLONES
#endif

namespace flywheel::nn::simd {

inline constexpr int kLanes = 16;

// Combines 16 partial sums in a fixed order (a tree: 4 dependent adds, not 16). Clobbers acc.
inline float Reduce(float* acc) {
  for (int w = kLanes / 2; w >= 1; w /= 2) {
    for (int j = 0; j < w; ++j) {
      acc[j] += acc[j + w];
    }
  }
  return acc[0];
}

inline float Sum(const float* x, int n) {
  float acc[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      acc[j] += x[c + j];
    }
  }
  for (int j = 0; c < n; ++c, ++j) {
    acc[j] += x[c];
  }
  return Reduce(acc);
}

// The project's inner-product kernel (base/dot.h) with this file's 16 lanes and tree: the same
// bits as the loop it replaced.
inline float Dot(const float* x, const float* y, int n) {
  return base::LaneDot<kLanes>(x, y, static_cast<size_t>(n));
}

// sum (x - mu)^2.
inline float SquaredDeviation(const float* x, float mu, int n) {
  float acc[kLanes] = {};
  int c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float v = x[c + j] - mu;
      acc[j] += v * v;
    }
  }
  for (int j = 0; c < n; ++c, ++j) {
    acc[j] += (x[c] - mu) * (x[c] - mu);
  }
  return Reduce(acc);
}

// Largest of x[0, n), n >= 1 (16 partial maxima; NaN-propagation as std::max_element is not
// needed: a NaN input gives NaN through exp below anyway).
inline float Max(const float* x, int n) {
  float acc[kLanes];
  for (int j = 0; j < kLanes; ++j) {
    acc[j] = x[0];
  }
  int c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      acc[j] = x[c + j] > acc[j] ? x[c + j] : acc[j];
    }
  }
  for (int j = 0; c < n; ++c, ++j) {
    acc[j] = x[c] > acc[j] ? x[c] : acc[j];
  }
  for (int w = kLanes / 2; w >= 1; w /= 2) {
    for (int j = 0; j < w; ++j) {
      acc[j] = acc[j + w] > acc[j] ? acc[j + w] : acc[j];
    }
  }
  return acc[0];
}

// exp(x) for x <= 88 in float, within ~2 ulp (Cephes expf: 2^n times a degree-5 polynomial on
// |r| <= ln2 / 2); inputs below -87 give exp(-87) (~1.6e-38: zero for a softmax). NaN stays NaN.
// Written without float-to-int conversions so that it vectorises.
inline float Exp(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = x * 1.44269504088896341f + kRound;
  const float fn = t - kRound;
  const uint32_t n = std::bit_cast<uint32_t>(t) - std::bit_cast<uint32_t>(kRound);
  const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float er = p * r * r + r + 1.0f;
  return er * std::bit_cast<float>((n + 127u) << 23);
}

// 32 random bits for element i of a dropout mask keyed by (k0, k1): murmur3's 32-bit finaliser
// of a Weyl sequence with the second key mixed in half-way (a bijection of i for fixed keys, and
// two keys so that masks of different calls are not shifted copies of each other); cheap to
// vectorise.
inline uint32_t MaskBits(uint32_t k0, uint32_t k1, uint32_t i) {
  uint32_t h = i * 0x9E3779B9u + k0;
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= k1;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

}  // namespace flywheel::nn::simd
