#include "stream/delta_stream.h"

#include <chrono>
#include <random>
#include <utility>
#include <vector>

#include "base/strings.h"

namespace flywheel::stream {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// The id just before `id`, so that XREAD (which returns ids after the one given) starts at it.
std::string Predecessor(const std::string& id) {
  uint64_t ms = 0;
  uint64_t n = 0;
  if (!ParseEntryId(id, &ms, &n) || (ms == 0 && n == 0)) {
    return "0-0";
  }
  if (n > 0) {
    return std::to_string(ms) + "-" + std::to_string(n - 1);
  }
  return std::to_string(ms - 1) + "-18446744073709551615";
}

json Quantiles(const base::AtomicHistogram& h) {
  return {{"p50", h.Quantile(0.5)}, {"p99", h.Quantile(0.99)}, {"count", h.count()}};
}

const char* Kind(const ModelDelta& d) {
  return d.full ? "full" : d.dense ? "dense" : "rows";
}

}  // namespace

std::string DeltaStreamKey(const StreamAddress& events) {
  return events.stream + ":deltas";
}

std::string DeltaFullKey(const StreamAddress& events) {
  return events.stream + ":deltas:full";
}

// ----- DeltaPublisher -----

DeltaPublisher::DeltaPublisher(Engine* engine, const server::StreamView* events,
                               DeltaPublisherOptions options, std::unique_ptr<RedisClient> redis)
    : engine_(engine),
      events_(events),
      options_(std::move(options)),
      key_(DeltaStreamKey(options_.address)),
      full_key_(DeltaFullKey(options_.address)),
      redis_(std::move(redis)),
      epoch_(std::to_string(std::random_device{}()) + std::to_string(NowMs())) {}

Result<std::unique_ptr<DeltaPublisher>> DeltaPublisher::Start(Engine* engine,
                                                              const server::StreamView* events,
                                                              DeltaPublisherOptions options) {
  if (options.rows_ms <= 0 || options.dense_ms <= 0 || options.full_s <= 0) {
    return Status::InvalidArgument("delta publisher: periods must be > 0");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<RedisClient> redis,
                            RedisClient::Connect(options.address, options.timeout_ms));
  std::unique_ptr<DeltaPublisher> p(
      new DeltaPublisher(engine, events, std::move(options), std::move(redis)));
  p->thread_ = std::thread([raw = p.get()] { raw->Loop(); });
  return p;
}

DeltaPublisher::~DeltaPublisher() {
  Stop();
}

void DeltaPublisher::Stop() {
  {
    base::MutexLock lock(&mu_);
    if (stop_) {
      return;
    }
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) {
    thread_.join();
  }
  (void)PublishNow(/*dense=*/true, /*full=*/false);  // what the last events taught
}

Status DeltaPublisher::PublishNow(bool dense, bool full) {
  base::MutexLock lock(&mu_);
  return PublishLocked(dense, full);
}

void DeltaPublisher::Loop() {
  auto last_dense = Clock::now();
  auto last_full = Clock::now();
  base::MutexLock lock(&mu_);
  while (true) {
    const auto due = Clock::now() + std::chrono::milliseconds(options_.rows_ms);
    while (!stop_ && Clock::now() < due) {
      cv_.WaitUntil(&mu_, due);
    }
    if (stop_) {
      return;
    }
    const auto now = Clock::now();
    const bool dense = now - last_dense >= std::chrono::milliseconds(options_.dense_ms);
    const bool full = now - last_full >= std::chrono::seconds(options_.full_s);
    if (PublishLocked(dense, full).ok()) {
      last_dense = dense ? now : last_dense;
      last_full = full ? now : last_full;
    }
  }
}

Status DeltaPublisher::PublishLocked(bool dense, bool full) {
  const auto start = Clock::now();
  // Before the export: every event of this entry (and before) is in the state exported.
  const std::string version = events_->AppliedId();
  if (version == "0-0" && engine_->stats().applied_seq > 0) {
    // A restarted trainer holds a recovered state whose stream position its consumer does not
    // know until it applies a new entry: publishing now would announce a version too old for
    // the state. Replicas keep the previous run's deltas, which hold this same state.
    return Status::Ok();
  }
  Result<std::vector<ModelDelta>> deltas = engine_->ExportModelDeltas(dense, full || need_full_);
  if (!deltas.ok()) {
    last_error_ = deltas.status().ToString();
    failures_.fetch_add(1, std::memory_order_relaxed);
    return deltas.status();
  }
  std::vector<std::vector<std::string>> commands;
  std::vector<const ModelDelta*> sent;
  for (const ModelDelta& d : *deltas) {
    if (!d.full && !d.dense && d.rows == 0 && version == last_version_) {
      continue;  // nothing learned since the last export, and no newer version to announce
    }
    commands.push_back({"XADD", key_, "*", "model", d.model, "index", std::to_string(d.index),
                        "kind", Kind(d), "version", version, "seq", std::to_string(d.seq), "epoch",
                        epoch_, "n", std::to_string(next_n_ + sent.size()), "data", d.bytes});
    sent.push_back(&d);
  }
  if (commands.empty()) {
    return Status::Ok();
  }
  if (redis_->broken()) {
    (void)redis_->Reconnect();
  }
  Result<std::vector<RedisReply>> replies = redis_->Pipeline(commands);
  Status st = replies.status();
  for (size_t i = 0; st.ok() && i < replies->size(); ++i) {
    if ((*replies)[i].is_error()) {
      st = Status::Unavailable("redis XADD " + key_ + ": " + (*replies)[i].str);
    }
  }
  if (!st.ok()) {
    // The models' change marks are gone with this export: the next one must be full.
    need_full_ = true;
    last_error_ = st.ToString();
    failures_.fetch_add(1, std::memory_order_relaxed);
    return st;
  }
  next_n_ += sent.size();
  last_id_ = replies->back().str;
  last_version_ = version;
  std::string first_full;
  for (size_t i = 0; i < sent.size(); ++i) {
    const ModelDelta& d = *sent[i];
    entries_.fetch_add(1, std::memory_order_relaxed);
    full_.fetch_add(d.full ? 1 : 0, std::memory_order_relaxed);
    dense_.fetch_add(d.dense ? 1 : 0, std::memory_order_relaxed);
    rows_.fetch_add(d.rows, std::memory_order_relaxed);
    bytes_.fetch_add(d.bytes.size(), std::memory_order_relaxed);
    if (d.full && first_full.empty()) {
      first_full = (*replies)[i].str;
    }
  }
  need_full_ = false;
  if (!first_full.empty()) {
    NewFullLocked(first_full);
  }
  export_ms_.Add(MsSince(start));
  return Status::Ok();
}

// Replicas start from the newest full entry; the previous one (and what follows) stays for a
// replica that started from it a moment ago.
void DeltaPublisher::NewFullLocked(const std::string& id) {
  std::vector<std::vector<std::string>> tail = {{"SET", full_key_, id}};
  if (!last_full_.empty()) {
    tail.push_back({"XTRIM", key_, "MINID", last_full_});
  }
  Result<std::vector<RedisReply>> r = redis_->Pipeline(tail);
  if (!r.ok() || r->front().is_error()) {
    last_error_ = r.ok() ? r->front().str : r.status().ToString();
    failures_.fetch_add(1, std::memory_order_relaxed);
  } else {
    last_full_ = id;
  }
}

json DeltaPublisher::Stats() const {
  json out = {{"mode", "publish"},
              {"stream", key_},
              {"epoch", epoch_},
              {"entries", entries_.load()},
              {"full", full_.load()},
              {"dense", dense_.load()},
              {"rows", rows_.load()},
              {"bytes", bytes_.load()},
              {"failures", failures_.load()},
              {"publish_ms", Quantiles(export_ms_)},
              {"rows_ms", options_.rows_ms},
              {"dense_ms", options_.dense_ms},
              {"full_s", options_.full_s}};
  base::MutexLock lock(&mu_);
  out["last_full_id"] = last_full_;
  out["last_id"] = last_id_;
  out["last_error"] = last_error_;
  return out;
}

// ----- DeltaApplier -----

DeltaApplier::DeltaApplier(Engine* engine, const server::StreamView* events,
                           DeltaApplierOptions options)
    : engine_(engine),
      events_(events),
      options_(std::move(options)),
      key_(DeltaStreamKey(options_.address)),
      full_key_(DeltaFullKey(options_.address)) {}

Result<std::unique_ptr<DeltaApplier>> DeltaApplier::Start(Engine* engine,
                                                          const server::StreamView* events,
                                                          DeltaApplierOptions options) {
  // Connect once here so that a wrong address fails the start, not the thread.
  FLYWHEEL_RETURN_IF_ERROR(RedisClient::Connect(options.address, options.timeout_ms).status());
  std::unique_ptr<DeltaApplier> a(new DeltaApplier(engine, events, std::move(options)));
  a->thread_ = std::thread([raw = a.get()] { raw->Loop(); });
  return a;
}

DeltaApplier::~DeltaApplier() {
  Stop();
}

void DeltaApplier::Stop() {
  stop_.store(true);
  if (thread_.joinable()) {
    thread_.join();
  }
}

void DeltaApplier::Fail(const std::string& error) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  base::MutexLock lock(&mu_);
  last_error_ = error;
}

void DeltaApplier::Loop() {
  std::unique_ptr<RedisClient> redis;
  std::string last_id;  // empty: seek the newest full entry
  while (!stop_.load()) {
    if (redis == nullptr || redis->broken()) {
      Result<std::unique_ptr<RedisClient>> r =
          RedisClient::Connect(options_.address, options_.timeout_ms + options_.block_ms);
      if (!r.ok()) {
        Fail(r.status().ToString());
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_ms));
        continue;
      }
      redis = std::move(r).value();
    }
    if (last_id.empty()) {
      Result<RedisReply> full = redis->Command({"GET", full_key_});
      if (!full.ok()) {
        Fail(full.status().ToString());
        std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_ms));
        continue;
      }
      // No full entry yet: from the start (a trainer's first export is full).
      last_id = full->is_nil() ? "0-0" : Predecessor(full->str);
      epoch_.clear();
    }
    if (!Step(redis.get(), &last_id) && !stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.retry_ms));
    }
  }
}

bool DeltaApplier::Step(RedisClient* redis, std::string* last_id) {
  Result<RedisReply> reply =
      redis->Command({"XREAD", "COUNT", "64", "BLOCK", std::to_string(options_.block_ms), "STREAMS",
                      key_, *last_id});
  if (!reply.ok()) {
    Fail("redis XREAD " + key_ + ": " + reply.status().ToString());
    return false;
  }
  if (reply->type != RedisReply::Type::kArray || reply->elements.empty() ||
      reply->elements.front().elements.size() != 2) {
    return true;  // nothing new within block_ms
  }
  for (const RedisReply& entry : reply->elements.front().elements[1].elements) {
    if (entry.elements.size() != 2 || entry.elements[0].type != RedisReply::Type::kString) {
      Fail("redis XREAD " + key_ + ": unexpected entry shape");
      return false;
    }
    const RedisReply* epoch = entry.elements[1].Find("epoch");
    const RedisReply* n = entry.elements[1].Find("n");
    const RedisReply* kind = entry.elements[1].Find("kind");
    // n must be a number (a hostile or broken entry is a gap, never an exception).
    const Result<int64_t> number =
        n != nullptr ? base::ParseInt64(n->str) : Result<int64_t>(Status::InvalidArgument("n"));
    bool in_order = false;
    if (epoch != nullptr && number.ok() && *number >= 0 && kind != nullptr) {
      if (epoch_.empty()) {
        in_order = kind->str == "full";  // just started (or sought): from a full entry
      } else if (epoch->str == epoch_) {
        in_order = static_cast<uint64_t>(*number) == last_n_ + 1;
      } else {
        in_order = *number == 0;  // a new trainer run starts with its full export
      }
    }
    if (!in_order) {
      // Entries missed (trimmed before this replica read them): start again from the newest
      // full entry.
      gaps_.fetch_add(1, std::memory_order_relaxed);
      last_id->clear();
      return false;  // after retry_ms
    }
    epoch_ = epoch->str;
    last_n_ = static_cast<uint64_t>(*number);
    while (!stop_.load()) {
      const Status st = ApplyEntry(entry);
      if (st.code() != StatusCode::kDeadlineExceeded) {
        break;  // applied, or refused (counted)
      }
    }
    if (stop_.load()) {
      return false;
    }
    *last_id = entry.elements[0].str;
    base::MutexLock lock(&mu_);
    read_id_ = *last_id;
  }
  return true;
}

Status DeltaApplier::ApplyEntry(const RedisReply& entry) {
  const RedisReply& fields = entry.elements[1];
  const RedisReply* model = fields.Find("model");
  const RedisReply* index = fields.Find("index");
  const RedisReply* kind = fields.Find("kind");
  const RedisReply* version = fields.Find("version");
  const RedisReply* seq = fields.Find("seq");
  const RedisReply* data = fields.Find("data");
  if (model == nullptr || index == nullptr || kind == nullptr || version == nullptr ||
      seq == nullptr || data == nullptr) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    Fail("delta " + entry.elements[0].str + ": missing field");
    return Status::InvalidArgument("missing field");
  }
  // The rows may refer to items of events up to `version`: wait for this replica to have them.
  FLYWHEEL_RETURN_IF_ERROR(events_->WaitApplied(version->str, 200));
  ModelDelta d;
  d.model = model->str;
  d.index = static_cast<size_t>(std::strtoull(index->str.c_str(), nullptr, 10));
  d.full = kind->str == "full";
  d.seq = std::strtoull(seq->str.c_str(), nullptr, 10);
  d.bytes = data->str;
  const auto start = Clock::now();
  Status st = engine_->ApplyModelDelta(d);
  apply_ms_.Add(MsSince(start));
  if (!st.ok()) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    Fail("delta " + entry.elements[0].str + ": " + st.ToString());
    return st;
  }
  uint64_t ms = 0;
  uint64_t n = 0;
  if (ParseEntryId(version->str, &ms, &n) && ms > 0) {
    const int64_t now = NowMs();
    model_lag_ms_.Add(static_cast<double>(std::max<int64_t>(0, now - static_cast<int64_t>(ms))));
    if (previous_ms_ > 0 && ms > previous_ms_) {
      // The oldest new event in it came just after the previous delta's version.
      oldest_lag_ms_.Add(
          static_cast<double>(std::max<int64_t>(0, now - static_cast<int64_t>(previous_ms_))));
    }
    previous_ms_ = std::max(previous_ms_, ms);
  }
  entries_.fetch_add(1, std::memory_order_relaxed);
  full_.fetch_add(d.full ? 1 : 0, std::memory_order_relaxed);
  bytes_.fetch_add(d.bytes.size(), std::memory_order_relaxed);
  {
    base::MutexLock lock(&mu_);
    if (CompareEntryIds(version->str, applied_version_) > 0) {
      applied_version_ = version->str;
    }
  }
  cv_.NotifyAll();
  return Status::Ok();
}

Status DeltaApplier::WaitVersion(std::string_view version, int timeout_ms) const {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  base::MutexLock lock(&mu_);
  while (CompareEntryIds(applied_version_, version) < 0) {
    if (!cv_.WaitUntil(&mu_, deadline) && CompareEntryIds(applied_version_, version) < 0) {
      return Status::DeadlineExceeded("deltas: version " + std::string(version) +
                                      " not applied within " + std::to_string(timeout_ms) + " ms");
    }
  }
  return Status::Ok();
}

json DeltaApplier::Stats() const {
  json out = {{"mode", "apply"},
              {"stream", key_},
              {"entries", entries_.load()},
              {"full", full_.load()},
              {"refused", refused_.load()},
              {"gaps", gaps_.load()},
              {"bytes", bytes_.load()},
              {"failures", failures_.load()},
              {"model_lag_ms", Quantiles(model_lag_ms_)},
              {"oldest_lag_ms", Quantiles(oldest_lag_ms_)},
              {"apply_ms", Quantiles(apply_ms_)}};
  base::MutexLock lock(&mu_);
  out["version"] = applied_version_;
  out["read_id"] = read_id_;
  out["last_error"] = last_error_;
  return out;
}

}  // namespace flywheel::stream
