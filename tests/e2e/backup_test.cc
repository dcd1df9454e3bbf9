// End-to-end: `flywheel backup` of a live server under writes (every acknowledged event up to
// the backup point is in the copy, which a server restores from), and the server's structured
// logs and access log (doc/operations.md).
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "client/http_client.h"
#include "run_cli.h"
#include "serve_process.h"
#include "testing/status_matchers.h"
#include "url_client.h"

namespace flywheel {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

using e2e::RunCli;
using e2e::RunResult;
using e2e::Server;
using ::flywheel::testing::TempDir;

client::HttpClient Client(const std::string& url, const std::string& key = "") {
  return e2e::ClientFor(url, key);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Batch `b` of 20 events with ids "e<b>-<j>" (so that a re-send is recognised as duplicates).
std::string EventBatch(int b) {
  json events = json::array();
  for (int j = 0; j < 20; ++j) {
    events.push_back({{"user", "u" + std::to_string((b * 7 + j) % 50)},
                      {"item", "i" + std::to_string((b + j * 3) % 40)},
                      {"type", j % 5 == 0 ? "purchase" : "view"},
                      {"ts", 1'700'000'000'000 + b * 1000 + j},
                      {"id", "e" + std::to_string(b) + "-" + std::to_string(j)}});
  }
  return json{{"events", events}}.dump();
}

// Posts batches until stopped; remembers how many batches were acknowledged (202).
class Writer {
 public:
  explicit Writer(const std::string& url) : thread_([this, url] { Run(url); }) {}
  ~Writer() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  int acked() const { return acked_.load(); }
  bool failed() const { return failed_.load(); }

 private:
  void Run(const std::string& url) {
    client::HttpClient http = Client(url);
    for (int b = 0; !stop_; ++b) {
      Result<client::Response> res = http.Post("/v1/events", EventBatch(b));
      if (!res.ok() || res->status != 202) {
        failed_ = true;
        return;
      }
      acked_ = b + 1;
    }
  }
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int> acked_{0};
  std::thread thread_;
};

TEST(BackupTest, LiveBackupUnderWritesRestoresEveryAcknowledgedEvent) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string copy = dir.path() + "/backup";
  int acked_before = 0;
  json summary;
  {
    // Automatic snapshots every 200 events, so the copy races with snapshot writes and
    // retention.
    const std::string config = dir.WriteFile("serve.json", R"({"snapshot_every": 200})");
    Server server(data, "pop,itemknn", config, {"--param", "itemknn.window=20"});
    ASSERT_FALSE(server.url().empty());
    Writer writer(server.url());
    while (writer.acked() < 30 && !writer.failed()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    client::HttpClient http = Client(server.url());
    ASSERT_OK(http.Post("/v1/events", EventBatch(100000)).status());  // one more, acked now
    acked_before = writer.acked();
    const RunResult backup = RunCli("backup --data-dir " + data + " --to " + copy);
    ASSERT_EQ(backup.exit_code, 0) << backup.output;
    summary = json::parse(backup.output.substr(backup.output.find('{')), nullptr, false);
    ASSERT_TRUE(summary.is_object()) << backup.output;
    const int until = writer.acked() + 10;
    while (writer.acked() < until && !writer.failed()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    writer.Stop();
    EXPECT_FALSE(writer.failed());
    EXPECT_GT(writer.acked(), acked_before);  // writes went on during and after the copy
    EXPECT_EQ(server.Stop(), 0);
  }
  // Every event acknowledged before the backup started is at or below the backup point.
  const uint64_t acked_events = static_cast<uint64_t>(acked_before) * 20 + 20;
  EXPECT_GE(summary["last_seq"].get<uint64_t>(), acked_events) << summary.dump();
  // Every copied file still in the original (retention removes old snapshots) is a byte prefix
  // of it (the server is stopped now); the log segments are all still there.
  int compared = 0;
  for (const auto& file : summary["files"]) {
    const std::string name = file.get<std::string>();
    if (!std::filesystem::exists(data + "/" + name)) {
      EXPECT_EQ(name.rfind("snapshots/", 0), 0u) << name;
      continue;
    }
    const std::string copied = ReadFile(copy + "/" + name);
    const std::string original = ReadFile(data + "/" + name);
    ASSERT_LE(copied.size(), original.size()) << name;
    EXPECT_EQ(original.compare(0, copied.size(), copied), 0) << name;
    compared += name.rfind("wal/", 0) == 0 ? 1 : 0;
  }
  EXPECT_GE(compared, 1);
  // Restore: a server on the copy has exactly the backup point, and knows every acknowledged
  // event: re-sending them is acknowledged as duplicates, none is new.
  Server restored(copy, "pop,itemknn", "", {"--param", "itemknn.window=20"});
  ASSERT_FALSE(restored.url().empty());
  client::HttpClient http = Client(restored.url());
  Result<client::Response> stats = http.Get("/v1/stats");
  ASSERT_OK(stats.status());
  EXPECT_EQ(json::parse(stats->body)["last_seq"], summary["last_seq"]);
  for (int b : {0, acked_before / 2, acked_before - 1, 100000}) {
    Result<client::Response> again = http.Post("/v1/events", EventBatch(b));
    ASSERT_OK(again.status());
    const json ack = json::parse(again->body);
    EXPECT_EQ(ack["duplicates"], 20) << "batch " << b << ": " << again->body;
    EXPECT_EQ(ack["accepted"], 0) << "batch " << b;
  }
}

TEST(BackupTest, RefusesANonEmptyTargetAndANonDataDirectory) {
  TempDir dir;
  const RunResult not_data =
      RunCli("backup --data-dir " + dir.path() + " --to " + dir.path() + "/b");
  EXPECT_EQ(not_data.exit_code, 2);
  EXPECT_THAT(not_data.output, HasSubstr("not a data directory"));
  ASSERT_EQ(RunCli("import-items --data-dir " + dir.path() + "/data " + FLYWHEEL_SOURCE_DIR +
                   "/examples/shop/items.csv")
                .exit_code,
            0);
  dir.WriteFile("full/x", "x");
  const RunResult full =
      RunCli("backup --data-dir " + dir.path() + "/data --to " + dir.path() + "/full");
  EXPECT_EQ(full.exit_code, 2);
  EXPECT_THAT(full.output, HasSubstr("not an empty directory"));
  // Offline (no server, no snapshot yet: the whole log), then the copy opens with the items.
  const RunResult ok =
      RunCli("backup --data-dir " + dir.path() + "/data --to " + dir.path() + "/copy");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  const RunResult inspect = RunCli("inspect --data-dir " + dir.path() + "/copy");
  EXPECT_THAT(inspect.output, HasSubstr("\"items\": 28"));
}

TEST(LogsTest, JsonLogWithAccessRecordsNeverShowsTheKey) {
  TempDir dir;
  const std::string log = dir.path() + "/serve.log";
  const std::string key = "s3cret-write-key-0123";
  ::setenv("FLYWHEEL_WRITE_KEY", key.c_str(), 1);
  {
    Server server(dir.path() + "/data", "pop", "", {"--log-format", "json", "--access-log"}, log);
    ::unsetenv("FLYWHEEL_WRITE_KEY");
    ASSERT_FALSE(server.url().empty());
    client::HttpClient http = Client(server.url(), key);
    ASSERT_OK(http.Post("/v1/events", EventBatch(1)).status());
    ASSERT_OK(http.Get("/v1/users/u1/recommendations?k=3").status());
    client::HttpClient anonymous = Client(server.url());
    Result<client::Response> denied = anonymous.Get("/v1/stats");
    ASSERT_OK(denied.status());
    EXPECT_EQ(denied->status, 401);
    EXPECT_EQ(server.Stop(), 0);
  }
  const std::string text = ReadFile(log);
  EXPECT_THAT(text, Not(HasSubstr(key)));
  std::vector<json> records;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const json record = json::parse(line, nullptr, false);
    ASSERT_TRUE(record.is_object()) << "not a JSON line: " << line;
    EXPECT_TRUE(record.contains("ts") && record.contains("level") && record.contains("msg"));
    records.push_back(record);
  }
  auto find = [&records](const std::string& msg, const std::string& path = "") {
    for (const json& r : records) {
      if (r["msg"] == msg && (path.empty() || r.value("path", "") == path)) {
        return r;
      }
    }
    return json();
  };
  EXPECT_TRUE(find("listening").is_object()) << text;
  EXPECT_EQ(find("stopping").value("signal", ""), "SIGTERM") << text;
  EXPECT_TRUE(find("stopped").contains("snapshot_seq")) << text;
  const json post = find("request", "/v1/events");
  ASSERT_TRUE(post.is_object()) << text;
  EXPECT_EQ(post["method"], "POST");
  EXPECT_EQ(post["status"], 202);
  EXPECT_EQ(post["scope"], "write");
  EXPECT_GT(post["bytes"].get<int>(), 0);
  EXPECT_TRUE(post["duration_ms"].is_number());
  EXPECT_THAT(post["request_id"].get<std::string>(), HasSubstr("r-"));
  const json recs = find("request", "/v1/users/u1/recommendations");
  EXPECT_EQ(recs.value("status", 0), 200) << text;  // the query string is not logged
  EXPECT_EQ(find("request", "/v1/stats").value("scope", ""), "none");
  EXPECT_EQ(find("request", "/v1/stats").value("status", 0), 401);
}

TEST(LogsTest, TextFormatLevelsAndBadFlags) {
  TempDir dir;
  const std::string log = dir.path() + "/serve.log";
  {
    Server server(dir.path() + "/data", "pop", "", {"--log-level", "warn"}, log);
    ASSERT_FALSE(server.url().empty());
    client::HttpClient http = Client(server.url());
    ASSERT_OK(http.Get("/healthz").status());
    EXPECT_EQ(server.Stop(), 0);
  }
  EXPECT_EQ(ReadFile(log), "");  // info records (listening, stopping) are below warn
  {
    Server server(dir.path() + "/data", "pop", "", {"--access-log"}, log);
    ASSERT_FALSE(server.url().empty());
    client::HttpClient http = Client(server.url());
    ASSERT_OK(http.Get("/healthz").status());
    EXPECT_EQ(server.Stop(), 0);
  }
  const std::string text = ReadFile(log);
  EXPECT_THAT(text, HasSubstr(" INFO listening address=127.0.0.1:"));
  EXPECT_THAT(text, HasSubstr(" INFO request method=GET path=/healthz status=200 bytes="));
  EXPECT_THAT(text, HasSubstr(" INFO stopped last_seq="));
  const RunResult bad = RunCli("serve --data-dir " + dir.path() + "/d --log-format xml");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.output, HasSubstr("--log-format must be json or text, got 'xml'"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/d/engine.json"));
}

}  // namespace
}  // namespace flywheel
