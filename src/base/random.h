// Rng: a small, fast, seedable generator (xoshiro256**, seeded through splitmix64) with
// distributions implemented here, so that the same seed gives the same numbers on every
// platform and standard library (std:: distributions do not guarantee that).
// Not thread-safe: give each thread its own Rng.
#pragma once

#include <cmath>
#include <cstdint>

namespace flywheel::base {

class Rng {
 public:
  explicit Rng(uint64_t seed) { Seed(seed); }

  void Seed(uint64_t seed) {
    for (uint64_t& word : state_) {
      seed += 0x9E3779B97F4A7C15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform integer in [0, n); n > 0. Lemire's multiply-shift (bias < 2^-64 * n, negligible).
  uint64_t Uniform(uint64_t n) {
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>((static_cast<U128>(Next()) * n) >> 64);
  }
  // Uniform double in [0, 1).
  double UniformDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Bernoulli(double p) { return UniformDouble() < p; }
  // Standard normal (Box-Muller, one value per call).
  double Normal() {
    const double u1 = UniformDouble() + 0x1.0p-54;
    const double u2 = UniformDouble();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Exponential with the given mean.
  double Exponential(double mean) { return -mean * std::log(1.0 - UniformDouble()); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4] = {0, 0, 0, 0};
};

// Stateless 64-bit mix (splitmix64 finaliser), for deterministic hashing of ids and seeds.
inline uint64_t Mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace flywheel::base
