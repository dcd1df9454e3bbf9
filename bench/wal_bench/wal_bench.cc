// flywheel_wal_bench: event log ingest throughput and acknowledgement latency (db_bench style).
//
//   flywheel_wal_bench --mode sync|interval:<ms> --batch N --events M --dir D [--segment-mb S]
//
// Appends M synthetic events (user/item/type/ts/id, a context entry on every fourth event) in
// batches of N to a fresh log under D/wal via LogWriter on the real file system, timing each
// AppendBatch call: in sync mode its return is the acknowledgement (after fdatasync), in interval
// mode it is the write() (durable within the interval). Prints one JSON line: events/s,
// batch-ack latency p50/p99/max (us), bytes written, the time of the final Close() (sync), and
// how fast LogReader reads the log back (read_events_per_s; -1 if it did not read all events).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/event.h"

#include "wal/log_reader.h"
#include "wal/log_writer.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string mode = "sync";
  uint64_t batch = 1000;
  uint64_t events = 1000000;
  std::string dir = "/tmp/flywheel-wal-bench";
  uint64_t segment_mb = 64;
};

[[noreturn]] void Usage(const char* message) {
  std::fprintf(stderr,
               "error: %s\nusage: flywheel_wal_bench --mode sync|interval:<ms> --batch N "
               "--events M --dir D [--segment-mb S]\n",
               message);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view name = argv[i];
    if (i + 1 >= argc) {
      Usage("missing value for a flag");
    }
    const std::string value = argv[++i];
    if (name == "--mode") {
      flags.mode = value;
    } else if (name == "--batch") {
      flags.batch = std::strtoull(value.c_str(), nullptr, 10);
    } else if (name == "--events") {
      flags.events = std::strtoull(value.c_str(), nullptr, 10);
    } else if (name == "--dir") {
      flags.dir = value;
    } else if (name == "--segment-mb") {
      flags.segment_mb = std::strtoull(value.c_str(), nullptr, 10);
    } else {
      Usage("unknown flag");
    }
  }
  if (flags.batch == 0 || flags.events == 0 || flags.segment_mb == 0) {
    Usage("--batch, --events and --segment-mb must be > 0");
  }
  return flags;
}

flywheel::Event MakeEvent(uint64_t i) {
  flywheel::Event event;
  event.user = "user-" + std::to_string(i * 2654435761u % 100000);
  event.item = "item-" + std::to_string(i * 40503u % 20000);
  event.type = i % 5 == 0 ? "purchase" : "click";
  event.value = 1.0;
  event.ts_ms = 1700000000000 + static_cast<int64_t>(i);
  event.id = "evt-" + std::to_string(i);
  if (i % 4 == 0) {
    event.context = {{"device", "ios"}};
  }
  return event;
}

// Reads the whole log back (what recovery does before replay); returns events/s or -1 on error.
double MeasureRead(const std::string& wal_dir, uint64_t expected) {
  const Clock::time_point start = Clock::now();
  auto reader = flywheel::wal::LogReader::Open(flywheel::io::Env::Default(), wal_dir, {});
  if (!reader.ok()) {
    return -1;
  }
  flywheel::wal::LogRecord record;
  uint64_t count = 0;
  for (;;) {
    flywheel::Result<bool> more = (*reader)->Next(&record);
    if (!more.ok() || !*more) {
      break;
    }
    ++count;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return count == expected ? static_cast<double>(count) / seconds : -1;
}

double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  flywheel::Result<flywheel::wal::Durability> durability =
      flywheel::wal::Durability::Parse(flags.mode);
  if (!durability.ok()) {
    Usage(durability.status().message().c_str());
  }
  const std::string wal_dir = flags.dir + "/wal";
  std::filesystem::remove_all(wal_dir);
  flywheel::wal::WriterOptions options;
  options.durability = *durability;
  options.segment_bytes = flags.segment_mb << 20;
  auto writer = flywheel::wal::LogWriter::Open(flywheel::io::Env::Default(), wal_dir, options, 1);
  if (!writer.ok()) {
    std::fprintf(stderr, "%s\n", writer.status().ToString().c_str());
    return 1;
  }
  // Pre-build a pool of events so the loop measures the log, not event construction.
  std::vector<flywheel::Event> pool;
  for (uint64_t i = 0; i < std::max<uint64_t>(flags.batch, 4096); ++i) {
    pool.push_back(MakeEvent(i));
  }
  std::vector<double> latencies_us;
  const Clock::time_point start = Clock::now();
  for (uint64_t seq = 1; seq <= flags.events; seq += flags.batch) {
    const uint64_t count = std::min(flags.batch, flags.events - seq + 1);
    const uint64_t offset = (seq - 1) % (pool.size() - count + 1);
    const std::span<const flywheel::Event> batch(pool.data() + offset, count);
    const Clock::time_point before = Clock::now();
    const flywheel::Status status = (*writer)->AppendBatch(seq, batch);
    latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - before).count());
    if (!status.ok()) {
      std::fprintf(stderr, "%s\n", status.ToString().c_str());
      return 1;
    }
  }
  const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  const Clock::time_point close_start = Clock::now();
  const flywheel::Status closed = (*writer)->Close();
  const double close_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - close_start).count();
  if (!closed.ok()) {
    std::fprintf(stderr, "%s\n", closed.ToString().c_str());
    return 1;
  }
  uint64_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(wal_dir)) {
    bytes += entry.file_size();
  }
  const double read_per_s = MeasureRead(wal_dir, flags.events);
  std::printf(
      "{\"mode\": \"%s\", \"batch\": %llu, \"events\": %llu, \"seconds\": %.3f, "
      "\"events_per_s\": %.0f, \"ack_p50_us\": %.1f, \"ack_p99_us\": %.1f, \"ack_max_us\": %.1f, "
      "\"bytes\": %llu, \"bytes_per_event\": %.1f, \"close_ms\": %.2f, "
      "\"read_events_per_s\": %.0f}\n",
      flags.mode.c_str(), static_cast<unsigned long long>(flags.batch),
      static_cast<unsigned long long>(flags.events), elapsed_s,
      static_cast<double>(flags.events) / elapsed_s, Percentile(latencies_us, 0.50),
      Percentile(latencies_us, 0.99), Percentile(latencies_us, 1.0),
      static_cast<unsigned long long>(bytes),
      static_cast<double>(bytes) / static_cast<double>(flags.events), close_ms, read_per_s);
  std::filesystem::remove_all(wal_dir);
  return 0;
}
