// Test helpers shared by the wal tests: deterministic events, whole-log reads, event equality.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flywheel/event.h"

#include "io/env.h"
#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace flywheel::wal::testing {

// Event number i: ids and context vary with i so records differ in size and content.
inline Event MakeEvent(uint64_t i) {
  Event event;
  event.user = "u" + std::to_string(i % 7);
  event.item = "item-" + std::to_string(i * 31 % 1000);
  event.type = i % 2 == 0 ? "click" : "purchase";
  event.value = 0.5 * static_cast<double>(i);
  event.ts_ms = 1700000000000 + static_cast<int64_t>(i);
  if (i % 2 == 0) {
    event.id = "e-" + std::to_string(i);
  }
  if (i % 3 == 0) {
    event.context = {{"device", "ios"}, {"n", std::to_string(i)}};
  }
  return event;
}

inline bool SameEvent(const Event& a, const Event& b) {
  return a.user == b.user && a.item == b.item && a.type == b.type && a.value == b.value &&
         a.ts_ms == b.ts_ms && a.id == b.id && a.context == b.context &&
         a.recommendation_id == b.recommendation_id;
}

struct ReadResult {
  Status status;
  std::vector<LogRecord> records;
  ReadReport report;
};

inline ReadResult ReadAll(io::Env* env, const std::string& dir, ReaderOptions options = {}) {
  ReadResult result;
  Result<std::unique_ptr<LogReader>> reader = LogReader::Open(env, dir, options);
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  for (;;) {
    LogRecord record;
    Result<bool> more = (*reader)->Next(&record);
    if (!more.ok()) {
      result.status = more.status();
      break;
    }
    if (!*more) {
      break;
    }
    result.records.push_back(std::move(record));
  }
  result.report = (*reader)->report();
  return result;
}

// Writes events 1..n in batches of `batch` to a new log in `dir` and closes the writer.
inline void WriteEvents(io::Env* env, const std::string& dir, uint64_t n, uint64_t batch,
                        WriterOptions options = {}) {
  Result<std::unique_ptr<LogWriter>> writer = LogWriter::Open(env, dir, options, 1);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  for (uint64_t seq = 1; seq <= n; seq += batch) {
    std::vector<Event> events;
    for (uint64_t i = seq; i < seq + batch && i <= n; ++i) {
      events.push_back(MakeEvent(i));
    }
    const Status status = (*writer)->AppendBatch(seq, events);
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  const Status closed = (*writer)->Close();
  ASSERT_TRUE(closed.ok()) << closed.ToString();
}

// Checks that `records` are exactly events first..first+count-1.
inline void ExpectEvents(const std::vector<LogRecord>& records, uint64_t first, uint64_t count) {
  ASSERT_EQ(records.size(), count);
  for (uint64_t i = 0; i < count; ++i) {
    ASSERT_EQ(records[i].seq, first + i);
    ASSERT_TRUE(SameEvent(records[i].event, MakeEvent(first + i))) << "seq " << first + i;
  }
}

}  // namespace flywheel::wal::testing
