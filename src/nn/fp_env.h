// ScopedFlushDenormals: while alive, the calling thread's floating-point unit treats subnormal
// (denormal) inputs as zero and flushes subnormal results to zero (x86 MXCSR DAZ and FTZ); the
// destructor restores the previous mode. A no-op where the CPU has no such mode.
//
// Why: x86 cores handle a subnormal operand or result through a microcode assist costing ~100
// cycles instead of ~1. Trained attention produces them (softmax probabilities of far-off
// positions, their gradients): on the taobao replay a sasrec online step at a high learning rate
// took 8.8 ms (p50) instead of 0.38 ms, nearly all of it in GEMM micro-kernels fed subnormals
// (bench/results/sasrec.md). Values below 1.2e-38 carry nothing a float32 model can use, and
// the mode is deterministic, so results still reproduce with a seed. Each thread has its own
// mode: worker threads take their own guard. MXCSR rules SSE/AVX arithmetic only (not x87).
#pragma once

#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#define FLYWHEEL_NN_HAS_MXCSR 1
#endif

namespace flywheel::nn {

class ScopedFlushDenormals {
 public:
#ifdef FLYWHEEL_NN_HAS_MXCSR
  static constexpr unsigned kFtz = 0x8000;  // flush-to-zero (results)
  static constexpr unsigned kDaz = 0x0040;  // denormals-are-zero (inputs)
  ScopedFlushDenormals() : saved_(_mm_getcsr()) {
    _mm_setcsr(saved_ | kFtz | kDaz);
  }
  ~ScopedFlushDenormals() {
    _mm_setcsr(saved_);
  }
#else
  ScopedFlushDenormals() = default;
#endif
  ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
  ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

 private:
#ifdef FLYWHEEL_NN_HAS_MXCSR
  unsigned saved_;
#endif
};

}  // namespace flywheel::nn
