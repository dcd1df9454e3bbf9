#include "engine/ingest/ingestor.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/env.h"
#include "testing/status_matchers.h"
#include "wal/log_writer.h"

namespace flywheel::engine {
namespace {

using ::flywheel::testing::StatusIs;
using ::flywheel::testing::TempDir;
using ::testing::HasSubstr;

Event View(const std::string& user, const std::string& item, const std::string& id) {
  Event e;
  e.user = user;
  e.item = item;
  e.type = "view";
  e.ts_ms = 1'700'000'000'000;
  e.id = id;
  return e;
}

class IngestorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    wal::WriterOptions options;
    options.durability = wal::Durability::Parse("sync").value();
    auto writer = wal::LogWriter::Open(io::Env::Default(), dir_.path(), options, 1);
    ASSERT_OK(writer.status());
    ingestor_.Attach(std::move(writer).value(), 1);
  }

  TempDir dir_;
  std::vector<Batch> handed_;
  Ingestor ingestor_{EventTypeTable::Default(), 100, /*read_only=*/false, 1000,
                     [this](Batch b) { handed_.push_back(std::move(b)); }};
};

TEST_F(IngestorTest, SequencesBatchesAndHandsThemOffInLogOrder) {
  std::vector<Event> a = {View("u1", "i1", "e1"), View("u1", "i2", "e2")};
  std::vector<Event> b = {View("u2", "i1", "e3")};
  Result<IngestResult> ra = ingestor_.Ingest(a);
  ASSERT_OK(ra.status());
  EXPECT_EQ(ra->accepted, 2u);
  EXPECT_EQ(ra->first_seq, 1u);
  EXPECT_EQ(ra->last_seq, 2u);
  Result<IngestResult> rb = ingestor_.Ingest(b);
  ASSERT_OK(rb.status());
  EXPECT_EQ(rb->first_seq, 3u);
  ASSERT_EQ(handed_.size(), 2u);
  EXPECT_EQ(handed_[0].first_seq, 1u);
  EXPECT_EQ(handed_[0].events.size(), 2u);
  EXPECT_EQ(handed_[1].first_seq, 3u);
  EXPECT_EQ(handed_[1].events[0].user, "u2");
  EXPECT_EQ(ingestor_.last_seq(), 3u);
  EXPECT_EQ(ingestor_.durable_seq(), 3u);  // sync mode
}

TEST_F(IngestorTest, DuplicatesAreAcknowledgedNotLogged) {
  std::vector<Event> a = {View("u1", "i1", "e1"), View("u1", "i1", "e1")};
  Result<IngestResult> ra = ingestor_.Ingest(a);
  ASSERT_OK(ra.status());
  EXPECT_EQ(ra->accepted, 1u);
  EXPECT_EQ(ra->duplicates, 1u);
  std::vector<Event> again = {View("u1", "i1", "e1"), View("u3", "i3", "")};
  Result<IngestResult> rb = ingestor_.Ingest(again);
  ASSERT_OK(rb.status());
  EXPECT_EQ(rb->accepted, 1u);  // an event without an id is never a duplicate
  EXPECT_EQ(rb->duplicates, 1u);
  EXPECT_EQ(ingestor_.duplicates(), 2u);
  EXPECT_EQ(ingestor_.last_seq(), 2u);
}

TEST_F(IngestorTest, OneInvalidEventRejectsTheBatchAndLogsNothing) {
  std::vector<Event> batch = {View("u1", "i1", "e1"), View("u1", "", "e2")};
  const std::vector<EventError> errors = ingestor_.Validate(batch);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].index, 1u);
  EXPECT_EQ(errors[0].field, "item");
  EXPECT_THAT(ingestor_.Ingest(batch).status(),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("event 1")));
  EXPECT_TRUE(handed_.empty());
  EXPECT_EQ(ingestor_.last_seq(), 0u);
}

TEST_F(IngestorTest, ClosedRefusesWrites) {
  auto closed = ingestor_.MarkClosed();
  ASSERT_OK(closed.status());
  EXPECT_EQ(closed->first, 0u);
  EXPECT_TRUE(closed->second);
  std::vector<Event> batch = {View("u1", "i1", "e1")};
  EXPECT_THAT(ingestor_.Ingest(batch).status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(ingestor_.MarkClosed().status(), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_OK(ingestor_.CloseWriter());
}

TEST(IngestorReadOnlyTest, RefusesEveryWrite) {
  Ingestor ingestor(EventTypeTable::Default(), 10, /*read_only=*/true, 1000, [](Batch) {});
  ingestor.Attach(nullptr, 5);
  EXPECT_EQ(ingestor.last_seq(), 4u);
  std::vector<Event> batch = {View("u1", "i1", "e1")};
  EXPECT_THAT(ingestor.Ingest(batch).status(),
              StatusIs(StatusCode::kFailedPrecondition, HasSubstr("read-only")));
  EXPECT_THAT(ingestor.LogControl(UserDeleteRecord("u1")).status(),
              StatusIs(StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace flywheel::engine
