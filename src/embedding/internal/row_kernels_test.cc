#include "embedding/internal/row_kernels.h"

#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"

namespace flywheel::embedding::internal {
namespace {

// The SIMD square root must agree bit for bit with the scalar reference, at every tail length.
TEST(RowKernelsTest, SqrtMatchesScalarReference) {
  base::Rng rng(1);
  for (size_t n = 0; n < 40; ++n) {
    std::vector<float> in(n), out(n);
    for (float& x : in) {
      x = static_cast<float>(rng.Exponential(10.0));
    }
    if (n > 0) {
      in[0] = 0.0f;
    }
    SqrtKernel(in.data(), out.data(), n);
    for (size_t i = 0; i < n; ++i) {
      const float expected = std::sqrt(in[i]);
      EXPECT_EQ(0, std::memcmp(&out[i], &expected, sizeof(float))) << n << " " << i;
    }
    SqrtKernel(in.data(), in.data(), n);  // in place
    EXPECT_EQ(in, out);
  }
}

TEST(RowKernelsTest, AllFiniteFindsAnyBadValue) {
  std::vector<float> values(37, 1.0f);
  EXPECT_TRUE(AllFinite(values.data(), values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    for (float bad : {NAN, INFINITY, -INFINITY}) {
      std::vector<float> copy = values;
      copy[i] = bad;
      EXPECT_FALSE(AllFinite(copy.data(), copy.size())) << i;
    }
  }
}

}  // namespace
}  // namespace flywheel::embedding::internal
