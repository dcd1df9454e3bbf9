#include "base/crc32c.h"

#include <string>

#include <gtest/gtest.h>

namespace flywheel::base::crc32c {
namespace {

TEST(Crc32cTest, StandardVectors) {
  EXPECT_EQ(Value("123456789"), 0xE3069283u);
  EXPECT_EQ(Value(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Value(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
  }
  EXPECT_EQ(Value(ascending), 0x46DD794Eu);
  EXPECT_EQ(Value(""), 0u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  const std::string text = "hello world, this is a longer string for slicing by eight";
  for (size_t split = 0; split <= text.size(); ++split) {
    EXPECT_EQ(Extend(Value(text.data(), split), text.data() + split, text.size() - split),
              Value(text));
  }
}

TEST(Crc32cTest, MaskRoundTripsAndChangesValue) {
  const uint32_t crc = Value("foo");
  EXPECT_NE(Mask(crc), crc);
  EXPECT_NE(Mask(Mask(crc)), crc);
  EXPECT_EQ(Unmask(Mask(crc)), crc);
  EXPECT_EQ(Unmask(Unmask(Mask(Mask(crc)))), crc);
}

}  // namespace
}  // namespace flywheel::base::crc32c
