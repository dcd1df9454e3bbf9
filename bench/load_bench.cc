// flywheel_load_bench: load generator for the HTTP server (doc/load_bench.md, results in
// bench/results/server.md).
//
//   flywheel_load_bench mixed [--read-rate 2000] [--write-rate 5000] [--write-batch 50]
//       [--duration 30] [--read-connections 4] [--write-connections 2] [--k 10]
//     OPEN LOOP at constant rates: the send time of every request is fixed in advance
//     (request i of a stream at start + i / rate) and its latency is measured from that
//     INTENDED send time, so a slow response delays the requests behind it and that delay is
//     counted (no coordinated omission; the approach of wrk2). Recommendation reads for random
//     users and event writes in batches run on their own keep-alive connections, one thread
//     each. Reports read/write p50/p99/p99.9 (also the plain service time measured from the
//     actual send), achieved rates, errors and the server's freshness p50/p99.
//
//   flywheel_load_bench ingest [--ingest-batch 500] [--ingest-events 1000000]
//       [--ingest-connections 4]
//     CLOSED LOOP: each connection posts its next batch as soon as the previous one was
//     acknowledged; reports acknowledged events/s over HTTP and batch latencies.
//
// Server: by default the bench starts `flywheel serve` itself (the binary next to this one or
// --server PATH) on a fresh data directory (--data-dir, removed first) with --models (default
// bpr) and --durability (default sync), preloads a catalogue of --items (default 100,000)
// items with events (every item once, then --preload-events synthetic events), waits for the
// learner, and restarts the server so that its freshness histogram covers only the measured
// phase. With --url it uses a running server as it is (no preload unless --preload; the
// server's freshness histogram then covers its whole life).
//
// Output: a table on stderr and one JSON document on stdout (and in --json FILE).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flywheel/event.h"

#include "client/http_client.h"
#include "data/event_json.h"
#include "data/synthetic.h"

extern char** environ;  // NOLINT(readability-redundant-declaration): posix_spawn's argument

namespace {

using Clock = std::chrono::steady_clock;
using flywheel::client::ClientOptions;
using flywheel::client::HttpClient;
using nlohmann::json;

struct Flags {
  std::string command = "mixed";
  std::string url;
  std::string server;
  std::string data_dir = "/tmp/flywheel-load-bench";
  std::string models = "bpr";
  std::vector<std::string> params;
  std::string durability = "sync";
  int server_threads = 0;  // 0: the server's default
  std::string key;
  bool preload = false;
  int64_t items = 100000;
  int64_t users = 20000;
  int64_t preload_events = 200000;
  double read_rate = 2000;
  double write_rate = 5000;
  int64_t write_batch = 50;
  double duration = 30;
  int read_connections = 4;
  int write_connections = 2;
  int k = 10;
  int64_t ingest_batch = 500;
  int64_t ingest_events = 1000000;
  int ingest_connections = 4;
  std::string json_path;
};

[[noreturn]] void Usage(const std::string& message) {
  std::fprintf(stderr,
               "error: %s\nusage: flywheel_load_bench mixed|ingest [--url URL | --server PATH "
               "--data-dir D --models LIST --param M.K=V --durability MODE --server-threads N] "
               "[--key KEY] [--preload] [--items N] [--users N] [--preload-events N] "
               "[--read-rate R] [--write-rate W] [--write-batch B] [--duration S] "
               "[--read-connections N] [--write-connections N] [--k K] [--ingest-batch B] "
               "[--ingest-events N] [--ingest-connections N] [--json FILE]\n",
               message.c_str());
  std::exit(2);  // NOLINT(concurrency-mt-unsafe): flag parsing, before any thread
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') {
    f.command = argv[1];
    i = 2;
  }
  if (f.command != "mixed" && f.command != "ingest") {
    Usage("unknown command '" + f.command + "'");
  }
  for (; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--preload") {
      f.preload = true;
      continue;
    }
    if (i + 1 >= argc) {
      Usage("missing value for " + name);
    }
    const std::string value = argv[++i];
    auto num = [&] {
      char* end = nullptr;
      const double v = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || v < 0) {
        Usage("bad value for " + name + ": '" + value + "'");
      }
      return v;
    };
    if (name == "--url") {
      f.url = value;
    } else if (name == "--server") {
      f.server = value;
    } else if (name == "--data-dir") {
      f.data_dir = value;
    } else if (name == "--models") {
      f.models = value;
    } else if (name == "--param") {
      f.params.push_back(value);
    } else if (name == "--durability") {
      f.durability = value;
    } else if (name == "--server-threads") {
      f.server_threads = static_cast<int>(num());
    } else if (name == "--key") {
      f.key = value;
    } else if (name == "--items") {
      f.items = static_cast<int64_t>(num());
    } else if (name == "--users") {
      f.users = static_cast<int64_t>(num());
    } else if (name == "--preload-events") {
      f.preload_events = static_cast<int64_t>(num());
    } else if (name == "--read-rate") {
      f.read_rate = num();
    } else if (name == "--write-rate") {
      f.write_rate = num();
    } else if (name == "--write-batch") {
      f.write_batch = static_cast<int64_t>(num());
    } else if (name == "--duration") {
      f.duration = num();
    } else if (name == "--read-connections") {
      f.read_connections = static_cast<int>(num());
    } else if (name == "--write-connections") {
      f.write_connections = static_cast<int>(num());
    } else if (name == "--k") {
      f.k = static_cast<int>(num());
    } else if (name == "--ingest-batch") {
      f.ingest_batch = static_cast<int64_t>(num());
    } else if (name == "--ingest-events") {
      f.ingest_events = static_cast<int64_t>(num());
    } else if (name == "--ingest-connections") {
      f.ingest_connections = static_cast<int>(num());
    } else if (name == "--json") {
      f.json_path = value;
    } else {
      Usage("unknown flag " + name);
    }
  }
  if (f.items < 1 || f.users < 1 || f.write_batch < 1 || f.ingest_batch < 1 ||
      f.read_connections < 1 || f.write_connections < 1 || f.ingest_connections < 1 || f.k < 1 ||
      f.duration <= 0) {
    Usage("counts, connections, --k and --duration must be >= 1");
  }
  return f;
}

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "flywheel_load_bench: %s\n", message.c_str());
  std::exit(1);  // NOLINT(concurrency-mt-unsafe): a bench tool gives up on the first failure
}

template <typename T>
T Check(flywheel::Result<T> r, const std::string& what) {
  if (!r.ok()) {
    Die(what + ": " + r.status().ToString());
  }
  return std::move(r).value();
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// ---- the server process ----------------------------------------------------------------------

class ServerProcess {
 public:
  ~ServerProcess() { Stop(); }
  // Starts `binary serve ...` and waits for its "listening" line.
  void Start(const std::string& binary, const Flags& f) {
    std::vector<std::string> args = {binary, "serve",        "--data-dir", f.data_dir, "--port",
                                     "0",    "--durability", f.durability, "--models", f.models};
    for (const std::string& p : f.params) {
      args.push_back("--param");
      args.push_back(p);
    }
    if (f.server_threads > 0) {
      const std::string config = f.data_dir + ".config.json";
      std::ofstream(config) << json{{"threads", f.server_threads}}.dump() << "\n";
      args.push_back("--config");
      args.push_back(config);
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0) {
      Die("pipe failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
      Die("cannot start " + binary);
    }
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
    char line[4096];
    while (std::fgets(line, sizeof(line), out_) != nullptr) {
      const json doc = json::parse(line, nullptr, false);
      if (doc.is_object() && doc.value("msg", "") == "listening") {
        const std::string address = doc.value("address", "");
        port_ = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
        return;
      }
    }
    Die("the server exited before listening (see its stderr above)");
  }
  // SIGTERM (clean stop with a snapshot) and wait.
  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
      pid_ = 0;
    }
    if (out_ != nullptr) {
      std::fclose(out_);
      out_ = nullptr;
    }
  }
  // User + system CPU seconds of the server so far (/proc/PID/stat).
  double CpuSeconds() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    if (close == std::string::npos) {
      return 0;
    }
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    double utime = 0;
    double stime = 0;
    for (int i = 3; fields >> field; ++i) {  // field 3 is the state
      if (i == 14) {
        utime = std::stod(field);
      } else if (i == 15) {
        stime = std::stod(field);
        break;
      }
    }
    return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
  FILE* out_ = nullptr;
  uint16_t port_ = 0;
};

std::string DefaultServerBinary() {
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return (self.parent_path() / "flywheel").string();
}

// ---- events ----------------------------------------------------------------------------------

// `count` synthetic events over the catalogue; with `cover`, first one event per item so the
// server knows all of them. Bodies of `batch` events each, every event with an id.
std::vector<std::string> MakeBodies(const Flags& f, int64_t count, bool cover, int64_t batch,
                                    uint64_t seed, const std::string& id_prefix, int64_t* total) {
  std::vector<flywheel::Event> events;
  if (cover) {
    for (int64_t i = 0; i < f.items; ++i) {
      flywheel::Event e;
      e.user = "u" + std::to_string(i % f.users);
      e.item = "i" + std::to_string(i);
      e.type = "view";
      e.ts_ms = 1690000000000 + i;
      events.push_back(std::move(e));
    }
  }
  if (count > 0) {
    const std::map<std::string, std::string> params = {{"users", std::to_string(f.users)},
                                                       {"items", std::to_string(f.items)},
                                                       {"events", std::to_string(count)},
                                                       {"seed", std::to_string(seed)},
                                                       {"new_items", "0"}};
    auto options = Check(flywheel::data::SyntheticOptions::FromParams(params), "synthetic options");
    auto reader = Check(flywheel::data::OpenSynthetic(options), "synthetic");
    flywheel::Event e;
    while (Check(reader->Next(&e), "synthetic")) {
      events.push_back(e);
    }
  }
  std::vector<std::string> bodies;
  for (size_t i = 0; i < events.size(); i += static_cast<size_t>(batch)) {
    std::string body = "{\"events\":[";
    const size_t end = std::min(events.size(), i + static_cast<size_t>(batch));
    for (size_t j = i; j < end; ++j) {
      events[j].id = id_prefix + std::to_string(j);
      if (j > i) {
        body += ",";
      }
      body += flywheel::data::EventToJson(events[j]);
    }
    body += "]}";
    bodies.push_back(std::move(body));
  }
  *total = static_cast<int64_t>(events.size());
  return bodies;
}

ClientOptions ClientFor(const flywheel::client::Url& url, const Flags& f) {
  ClientOptions o;
  o.host = url.host;
  o.port = url.port;
  o.bearer_token = f.key;
  o.retry_non_idempotent = true;  // events carry ids
  return o;
}

json GetJson(HttpClient& http, const std::string& target) {
  auto res = Check(http.Get(target), "GET " + target);
  if (res.status != 200) {
    Die("GET " + target + ": HTTP " + std::to_string(res.status) + " " + res.body);
  }
  return json::parse(res.body);
}

void WaitApplied(HttpClient& http, const std::string& prefix) {
  while (true) {
    const json stats = GetJson(http, prefix + "/v1/stats");
    if (stats.value("applied_seq", uint64_t{0}) >= stats.value("last_seq", uint64_t{0})) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// After a restart the engine rebuilds its ANN index in the background (doc/engine.md); until
// it covers the catalogue, requests scan exactly. Waits until it does (models with vectors), so
// the measured phase sees the steady state; gives up after 5 s without an index (models without
// vectors) or 300 s in all.
void WaitForVectorIndex(const std::string& url_text, const Flags& f) {
  const auto url = Check(flywheel::client::ParseUrl(url_text), "url");
  HttpClient http(ClientFor(url, f));
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    const json stats = GetJson(http, url.prefix + "/v1/stats");
    const uint64_t items = stats.value("items", uint64_t{0});
    const uint64_t indexed =
        stats.contains("vector_index") ? stats["vector_index"].value("items", uint64_t{0}) : 0;
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (indexed >= items || (indexed == 0 && waited > 5) || waited > 300) {
      std::fprintf(stderr, "vector index: %llu of %llu items after %.1f s\n",
                   static_cast<unsigned long long>(indexed), static_cast<unsigned long long>(items),
                   waited);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// ---- closed-loop ingest ----------------------------------------------------------------------

struct IngestResult {
  int64_t events = 0;
  double seconds = 0;
  int64_t errors = 0;
  std::vector<double> latency_ms;
};

IngestResult IngestClosedLoop(const flywheel::client::Url& url, const Flags& f,
                              const std::vector<std::string>& bodies, int64_t total_events,
                              int connections) {
  std::atomic<size_t> next{0};
  std::atomic<int64_t> errors{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(connections));
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(connections));
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      HttpClient http(ClientFor(url, f));
      for (size_t i = next.fetch_add(1); i < bodies.size(); i = next.fetch_add(1)) {
        const auto t0 = Clock::now();
        auto res = http.Post(url.prefix + "/v1/events", bodies[i]);
        latencies[static_cast<size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        if (!res.ok() || res->status != 202) {
          if (errors.fetch_add(1) == 0) {
            std::fprintf(stderr, "ingest error: %s\n",
                         res.ok() ? res->body.c_str() : res.status().ToString().c_str());
          }
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  IngestResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.events = total_events;
  r.errors = errors.load();
  for (auto& v : latencies) {
    r.latency_ms.insert(r.latency_ms.end(), v.begin(), v.end());
  }
  return r;
}

// ---- open-loop mixed load --------------------------------------------------------------------

struct StreamResult {
  std::vector<double> latency_ms;  // from the intended send time
  std::vector<double> service_ms;  // from the actual send time
  int64_t sent = 0;
  int64_t errors = 0;
  int64_t not_sent = 0;  // scheduled but abandoned: more than kGrace behind schedule at the end
  std::string first_error;
  void Merge(const StreamResult& o) {
    not_sent += o.not_sent;
    latency_ms.insert(latency_ms.end(), o.latency_ms.begin(), o.latency_ms.end());
    service_ms.insert(service_ms.end(), o.service_ms.begin(), o.service_ms.end());
    sent += o.sent;
    errors += o.errors;
    if (first_error.empty()) {
      first_error = o.first_error;
    }
  }
};

// A run stops sending once it is this far past its end (requests still scheduled are counted
// as not sent): an overloaded server would otherwise keep the bench running for minutes.
constexpr auto kGrace = std::chrono::seconds(5);

// Sends requests number `first`, `first + stride`, ... of a stream at `rate` per second from
// `start` until `end`; `send(i)` performs request i and returns its HTTP status (0: transport
// error).
template <typename Send>
StreamResult OpenLoop(Clock::time_point start, Clock::time_point end, double rate, int64_t first,
                      int64_t stride, Send send) {
  StreamResult r;
  const double interval_ns = 1e9 / rate;
  for (int64_t i = first;; i += stride) {
    const auto intended = start + std::chrono::nanoseconds(
                                      static_cast<int64_t>(static_cast<double>(i) * interval_ns));
    if (intended >= end) {
      break;
    }
    if (Clock::now() > end + kGrace) {
      ++r.not_sent;
      continue;
    }
    std::this_thread::sleep_until(intended);  // returns at once when behind schedule
    const auto sent = Clock::now();
    std::string error;
    const int status = send(i, &error);
    const auto done = Clock::now();
    ++r.sent;
    if (status < 200 || status >= 300) {
      ++r.errors;
      if (r.first_error.empty()) {
        r.first_error = error;
      }
      continue;
    }
    r.latency_ms.push_back(std::chrono::duration<double, std::milli>(done - intended).count());
    r.service_ms.push_back(std::chrono::duration<double, std::milli>(done - sent).count());
  }
  return r;
}

json Quantiles(std::vector<double>& v) {
  return {{"p50", Percentile(v, 0.5)},
          {"p99", Percentile(v, 0.99)},
          {"p999", Percentile(v, 0.999)},
          {"max", Percentile(v, 1.0)}};
}

json RunMixed(const flywheel::client::Url& url, const Flags& f,
              const std::vector<std::string>& write_bodies) {
  const auto start = Clock::now() + std::chrono::milliseconds(200);  // let threads connect
  const auto end = start + std::chrono::microseconds(static_cast<int64_t>(f.duration * 1e6));
  std::vector<StreamResult> reads(static_cast<size_t>(f.read_connections));
  std::vector<StreamResult> writes(static_cast<size_t>(f.write_connections));
  std::vector<std::thread> threads;
  for (int c = 0; c < f.read_connections && f.read_rate > 0; ++c) {
    threads.emplace_back([&, c] {
      HttpClient http(ClientFor(url, f));
      (void)http.Connect();
      std::mt19937_64 rng(1000 + static_cast<uint64_t>(c));
      std::uniform_int_distribution<int64_t> user(0, f.users - 1);
      const std::string suffix = "/recommendations?k=" + std::to_string(f.k);
      reads[static_cast<size_t>(c)] = OpenLoop(
          start, end, f.read_rate, c, f.read_connections, [&](int64_t, std::string* error) {
            auto res = http.Get(url.prefix + "/v1/users/u" + std::to_string(user(rng)) + suffix);
            if (!res.ok()) {
              *error = res.status().ToString();
              return 0;
            }
            if (res->status != 200) {
              *error = res->body;
            }
            return res->status;
          });
    });
  }
  const double batch_rate = f.write_rate / static_cast<double>(f.write_batch);
  for (int c = 0; c < f.write_connections && batch_rate > 0; ++c) {
    threads.emplace_back([&, c] {
      HttpClient http(ClientFor(url, f));
      (void)http.Connect();
      writes[static_cast<size_t>(c)] = OpenLoop(
          start, end, batch_rate, c, f.write_connections, [&](int64_t i, std::string* error) {
            if (static_cast<size_t>(i) >= write_bodies.size()) {
              *error = "out of pre-generated events";
              return 0;
            }
            auto res = http.Post(url.prefix + "/v1/events", write_bodies[static_cast<size_t>(i)]);
            if (!res.ok()) {
              *error = res.status().ToString();
              return 0;
            }
            if (res->status != 202) {
              *error = res->body;
            }
            return res->status;
          });
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  // Achieved rates are over the whole run, until the last response (longer than --duration
  // when the server fell behind).
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  StreamResult read;
  StreamResult write;
  for (const auto& r : reads) {
    read.Merge(r);
  }
  for (const auto& w : writes) {
    write.Merge(w);
  }
  json out;
  out["seconds"] = seconds;
  out["read"] = {{"target_rate", f.read_rate},
                 {"achieved_rate", static_cast<double>(read.sent) / seconds},
                 {"not_sent", read.not_sent},
                 {"sent", read.sent},
                 {"errors", read.errors},
                 {"first_error", read.first_error},
                 {"latency_ms", Quantiles(read.latency_ms)},
                 {"service_ms", Quantiles(read.service_ms)}};
  out["write"] = {
      {"target_events_per_s", f.write_rate},
      {"batch", f.write_batch},
      {"achieved_events_per_s", static_cast<double>(write.sent * f.write_batch) / seconds},
      {"not_sent", write.not_sent},
      {"batches_sent", write.sent},
      {"errors", write.errors},
      {"first_error", write.first_error},
      {"latency_ms", Quantiles(write.latency_ms)},
      {"service_ms", Quantiles(write.service_ms)}};
  return out;
}

void PrintRow(const char* name, const json& q) {
  std::fprintf(stderr, "  %-28s p50 %8.3f  p99 %8.3f  p99.9 %8.3f  max %8.3f ms\n", name,
               q["p50"].get<double>(), q["p99"].get<double>(), q["p999"].get<double>(),
               q["max"].get<double>());
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a;
  std::string b;
  std::string c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

int Run(int argc, char** argv) {
  const Flags f = ParseFlags(argc, argv);
  json doc;
  doc["command"] = f.command;
  doc["load_before"] = LoadAverage();
  ServerProcess server;
  std::string url_text = f.url;
  const bool own_server = f.url.empty();
  const std::string binary = f.server.empty() ? DefaultServerBinary() : f.server;
  if (own_server) {
    std::filesystem::remove_all(f.data_dir);
    server.Start(binary, f);
    url_text = "http://127.0.0.1:" + std::to_string(server.port());
    doc["server"] = {{"binary", binary},
                     {"models", f.models},
                     {"params", f.params},
                     {"durability", f.durability},
                     {"threads", f.server_threads}};
  }
  const auto url = Check(flywheel::client::ParseUrl(url_text), "--url");
  HttpClient control(ClientFor(url, f));
  const std::string run_id = std::to_string(getpid()) + "-";

  if (f.command == "ingest") {
    int64_t total = 0;
    const auto bodies =
        MakeBodies(f, f.ingest_events, false, f.ingest_batch, 11, "ing-" + run_id, &total);
    const double cpu0 = own_server ? server.CpuSeconds() : 0;
    IngestResult r = IngestClosedLoop(url, f, bodies, total, f.ingest_connections);
    const double cpu = own_server ? server.CpuSeconds() - cpu0 : 0;
    WaitApplied(control, url.prefix);
    const json stats = GetJson(control, url.prefix + "/v1/stats");
    doc["ingest"] = {{"events", r.events},
                     {"batch", f.ingest_batch},
                     {"connections", f.ingest_connections},
                     {"seconds", r.seconds},
                     {"events_per_s", static_cast<double>(r.events) / r.seconds},
                     {"errors", r.errors},
                     {"batch_latency_ms", Quantiles(r.latency_ms)},
                     {"server_cpu_seconds", cpu}};
    doc["stats"] = stats;
    std::fprintf(stderr, "ingest over HTTP: %lld events in batches of %lld on %d connections\n",
                 static_cast<long long>(r.events), static_cast<long long>(f.ingest_batch),
                 f.ingest_connections);
    std::fprintf(stderr, "  acknowledged %.0f events/s, errors %lld, server CPU %.2f s\n",
                 static_cast<double>(r.events) / r.seconds, static_cast<long long>(r.errors), cpu);
    PrintRow("batch ack latency", doc["ingest"]["batch_latency_ms"]);
  } else {
    if (own_server || f.preload) {
      int64_t total = 0;
      const auto preload = MakeBodies(f, f.preload_events, true, 1000, 5, "pre-" + run_id, &total);
      std::fprintf(stderr, "preloading %lld events over %lld items ...\n",
                   static_cast<long long>(total), static_cast<long long>(f.items));
      IngestResult r = IngestClosedLoop(url, f, preload, total, 2);
      WaitApplied(control, url.prefix);
      doc["preload"] = {{"events", total},
                        {"seconds", r.seconds},
                        {"errors", r.errors},
                        {"events_per_s", static_cast<double>(total) / r.seconds}};
      if (own_server) {  // restart: the freshness histogram then covers only the load phase
        control.Close();
        server.Stop();
        server.Start(binary, f);
        url_text = "http://127.0.0.1:" + std::to_string(server.port());
        WaitForVectorIndex(url_text, f);
      }
    }
    const auto live = Check(flywheel::client::ParseUrl(url_text), "url");
    HttpClient stats_client(ClientFor(live, f));
    const json before = GetJson(stats_client, live.prefix + "/v1/stats");
    int64_t total = 0;
    const auto writes =
        MakeBodies(f, static_cast<int64_t>(f.write_rate * (f.duration + 2)) + f.write_batch, false,
                   f.write_batch, 9, "mix-" + run_id, &total);
    doc["catalogue"] = {{"items", before.value("items", 0)}, {"users", before.value("users", 0)}};
    std::fprintf(stderr, "catalogue: %lld items, %lld users; open loop for %.0f s ...\n",
                 static_cast<long long>(before.value("items", 0)),
                 static_cast<long long>(before.value("users", 0)), f.duration);
    const double cpu0 = own_server ? server.CpuSeconds() : 0;
    doc["mixed"] = RunMixed(live, f, writes);
    const double cpu = own_server ? server.CpuSeconds() - cpu0 : 0;
    doc["mixed"]["server_cpu_seconds"] = cpu;
    WaitApplied(stats_client, live.prefix);
    const json stats = GetJson(stats_client, live.prefix + "/v1/stats");
    doc["stats"] = stats;
    doc["freshness_ms"] = stats.contains("freshness_ms") ? stats["freshness_ms"] : json();
    const json& m = doc["mixed"];
    std::fprintf(stderr, "reads:  target %.0f/s achieved %.0f/s errors %lld (connections %d)\n",
                 f.read_rate, m["read"]["achieved_rate"].get<double>(),
                 static_cast<long long>(m["read"]["errors"].get<int64_t>()), f.read_connections);
    PrintRow("recommend (from intended)", m["read"]["latency_ms"]);
    PrintRow("recommend (service time)", m["read"]["service_ms"]);
    std::fprintf(stderr,
                 "writes: target %.0f ev/s achieved %.0f ev/s in batches of %lld, errors %lld, "
                 "batches not sent %lld\n",
                 f.write_rate, m["write"]["achieved_events_per_s"].get<double>(),
                 static_cast<long long>(f.write_batch),
                 static_cast<long long>(m["write"]["errors"].get<int64_t>()),
                 static_cast<long long>(m["write"]["not_sent"].get<int64_t>()));
    PrintRow("events (from intended)", m["write"]["latency_ms"]);
    PrintRow("events (service time)", m["write"]["service_ms"]);
    std::fprintf(stderr, "freshness (server): p50 %.3f ms  p99 %.3f ms  (%lld events)\n",
                 doc["freshness_ms"].value("p50", 0.0), doc["freshness_ms"].value("p99", 0.0),
                 static_cast<long long>(doc["freshness_ms"].value("count", int64_t{0})));
    std::fprintf(stderr, "server CPU during the load: %.2f s in %.1f s\n", cpu,
                 m["seconds"].get<double>());
  }
  doc["load_after"] = LoadAverage();
  std::fprintf(stderr, "load average before %s, after %s\n",
               doc["load_before"].get<std::string>().c_str(),
               doc["load_after"].get<std::string>().c_str());
  std::printf("%s\n", doc.dump().c_str());
  if (!f.json_path.empty()) {
    std::ofstream(f.json_path) << doc.dump(2) << "\n";
  }
  control.Close();
  server.Stop();
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flywheel_load_bench: %s\n", e.what());
    return 1;
  }
}
