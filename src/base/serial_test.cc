#include "base/serial.h"

#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::base {
namespace {

using ::flywheel::testing::StatusIs;

TEST(SerialTest, RoundTripsScalarsStringsAndVectors) {
  std::string buffer;
  ByteWriter w(&buffer);
  w.Put<uint32_t>(7);
  w.Put<double>(-2.5);
  w.PutString("hello");
  w.PutVector(std::vector<float>{1.0f, 2.0f, 3.5f});
  ByteReader r(buffer, "test");
  uint32_t u = 0;
  double d = 0;
  std::string s;
  std::vector<float> v;
  ASSERT_OK(r.Get(&u, "u"));
  ASSERT_OK(r.Get(&d, "d"));
  ASSERT_OK(r.GetString(&s, "s"));
  ASSERT_OK(r.GetVector(&v, "v"));
  EXPECT_EQ(u, 7u);
  EXPECT_EQ(d, -2.5);
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(v, (std::vector<float>{1.0f, 2.0f, 3.5f}));
  EXPECT_OK(r.ExpectEnd());
}

TEST(SerialTest, EveryTruncationIsCorruptionNotACrash) {
  std::string buffer;
  ByteWriter w(&buffer);
  w.Put<uint64_t>(1);
  w.PutString("abc");
  w.PutVector(std::vector<uint32_t>{4, 5});
  for (size_t cut = 0; cut < buffer.size(); ++cut) {
    ByteReader r(std::string_view(buffer).substr(0, cut), "cut");
    uint64_t a = 0;
    std::string s;
    std::vector<uint32_t> v;
    Status st = r.Get(&a, "a");
    if (st.ok())
      st = r.GetString(&s, "s");
    if (st.ok())
      st = r.GetVector(&v, "v");
    EXPECT_THAT(st, StatusIs(StatusCode::kCorruption)) << "cut at " << cut;
  }
}

TEST(SerialTest, HugeLengthIsRejected) {
  std::string buffer;
  ByteWriter w(&buffer);
  w.Put<uint64_t>(~uint64_t{0});  // a vector length that cannot fit
  ByteReader r(buffer, "huge");
  std::vector<double> v;
  EXPECT_THAT(r.GetVector(&v, "v"), StatusIs(StatusCode::kCorruption));
  ByteReader r2("xy", "trail");
  EXPECT_THAT(r2.ExpectEnd(), StatusIs(StatusCode::kCorruption));
}

}  // namespace
}  // namespace flywheel::base
