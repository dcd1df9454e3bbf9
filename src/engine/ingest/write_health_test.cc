#include "engine/ingest/write_health.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/status_matchers.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::HasSubstr;

const Status kFull = Status::ResourceExhausted("io: write x: No space left on device");

TEST(WriteHealthTest, RefusesWithinTheBackOffAndDoublesIt) {
  int probes = 0;
  WriteHealth health(10'000, [&] {
    ++probes;
    return kFull;
  });
  EXPECT_OK(health.Admit());
  EXPECT_FALSE(health.Check().disk_full);
  EXPECT_THAT(health.OnDiskFull(kFull),
              StatusIs(StatusCode::kUnavailable, HasSubstr("No space left on device")));
  EXPECT_THAT(health.Admit(), StatusIs(StatusCode::kUnavailable, HasSubstr("retry after 10 s")));
  WriteHealth::Report r = health.Check();
  EXPECT_TRUE(r.disk_full);
  EXPECT_EQ(r.retry_after_s, 10);
  EXPECT_THAT(r.message, HasSubstr("disk full"));
  EXPECT_EQ(probes, 0);            // not due yet
  (void)health.OnDiskFull(kFull);  // the write after the back-off failed too
  EXPECT_EQ(health.Check().retry_after_s, 20);
  for (int i = 0; i < 10; ++i) {
    (void)health.OnDiskFull(kFull);
  }
  EXPECT_EQ(health.Check().retry_after_s, 30);  // capped
  health.OnWritten();
  EXPECT_OK(health.Admit());
  EXPECT_FALSE(health.Check().disk_full);
  EXPECT_EQ(probes, 0);
}

TEST(WriteHealthTest, CheckProbesWhenDueAndRecovers) {
  Status next = kFull;
  int probes = 0;
  WriteHealth health(0, [&] {
    ++probes;
    return next;
  });
  (void)health.OnDiskFull(kFull);
  EXPECT_OK(health.Admit());  // back-off 0: a write may try at once
  EXPECT_TRUE(health.Check().disk_full);
  EXPECT_EQ(probes, 1);
  next = Status::Ok();
  const WriteHealth::Report r = health.Check();
  EXPECT_EQ(probes, 2);
  EXPECT_FALSE(r.disk_full);
  EXPECT_EQ(r.message, "");
  EXPECT_FALSE(health.Check().disk_full);
  EXPECT_EQ(probes, 2);  // healthy: no probe
}

}  // namespace
}  // namespace flywheel::engine
