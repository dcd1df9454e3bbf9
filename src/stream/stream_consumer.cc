#include "stream/stream_consumer.h"

#include <chrono>
#include <utility>

#include "stream/entry_applier.h"

namespace flywheel::stream {
namespace {

using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool IsNoGroup(const Status& s) {
  return s.message().find("NOGROUP") != std::string::npos;
}

// XGROUP CREATE ... MKSTREAM; an existing group is fine.
Status CreateGroup(RedisClient* redis, const StreamConsumerOptions& o) {
  Result<RedisReply> r =
      redis->Command({"XGROUP", "CREATE", o.address.stream, o.group, o.start_id, "MKSTREAM"});
  if (!r.ok() && r.status().message().find("BUSYGROUP") == std::string::npos) {
    return r.status();
  }
  return Status::Ok();
}

}  // namespace

// One read's entries, decoded.
struct StreamConsumer::Decoded {
  struct Bad {
    size_t entry = 0;
    std::string reason;
  };
  std::vector<std::string> ids;       // every entry read, in stream order
  std::vector<uint64_t> ms;           // the milliseconds of each id
  std::vector<EntryFields> fields;    // each entry's fields (kept for the dead letters)
  std::vector<DecodedEntry> entries;  // each entry's events or catalogue record
  std::vector<Bad> bad;
};

StreamConsumer::StreamConsumer(Engine* engine, StreamConsumerOptions options)
    : engine_(engine), options_(std::move(options)) {}

Result<std::unique_ptr<StreamConsumer>> StreamConsumer::Start(Engine* engine,
                                                              StreamConsumerOptions options) {
  if (options.dead_letter.empty()) {
    options.dead_letter = options.address.stream + ":dead";
  }
  if (options.batch < 1 || options.block_ms < 1 || options.group.empty() ||
      options.consumer.empty()) {
    return Status::InvalidArgument(
        "stream: batch and block_ms must be >= 1, group and consumer "
        "not empty");
  }
  std::unique_ptr<StreamConsumer> c(new StreamConsumer(engine, std::move(options)));
  FLYWHEEL_ASSIGN_OR_RETURN(
      c->redis_,
      RedisClient::Connect(c->options_.address, c->options_.timeout_ms + c->options_.block_ms));
  FLYWHEEL_RETURN_IF_ERROR(CreateGroup(c->redis_.get(), c->options_));
  FLYWHEEL_RETURN_IF_ERROR(c->NoteStartPosition());
  c->connected_ = true;
  c->reader_ = std::thread([p = c.get()] { p->ReadLoop(); });
  c->watcher_ = std::thread([p = c.get()] { p->WatchLoop(); });
  return c;
}

StreamConsumer::~StreamConsumer() {
  Stop();
}

void StreamConsumer::Stop() {
  stop_ = true;
  if (reader_.joinable()) {
    reader_.join();
  }
  {
    base::MutexLock lock(&applied_mu_);
    watcher_stop_ = true;
  }
  applied_cv_.NotifyAll();
  if (watcher_.joinable()) {
    watcher_.join();
  }
}

void StreamConsumer::Fail(const Status& status) {
  failures_.fetch_add(1, std::memory_order_relaxed);
  base::MutexLock lock(&applied_mu_);
  last_error_ = status.message();
}

void StreamConsumer::ReadLoop() {
  while (!stop_.load()) {
    Status st = Status::Ok();
    if (redis_->broken()) {
      connected_ = false;
      st = redis_->Reconnect();
      if (st.ok()) {
        st = CreateGroup(redis_.get(), options_);  // a Redis that lost its data lost the group
      }
      connected_ = st.ok();
      read_pending_ = true;
    }
    if (st.ok() && !WaitForRoom()) {
      break;
    }
    if (st.ok()) {
      st = Step();
    }
    if (st.ok()) {
      continue;
    }
    if (IsNoGroup(st) && !redis_->broken()) {
      st = CreateGroup(redis_.get(), options_);
    }
    Fail(st);
    read_pending_ = true;  // what was not acked is read again from the pending entries
    ack_.clear();
    for (int waited = 0; waited < options_.retry_ms && !stop_.load(); waited += 10) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  // The last read's entries are durable: acknowledge them now rather than with a read that will
  // not come (else a restart reads them again, only for the dedup window to drop them).
  if (!ack_.empty() && !redis_->broken()) {
    if (Result<RedisReply> r = redis_->Command(AckCommand()); r.ok()) {
      acked_.fetch_add(static_cast<uint64_t>(r->integer), std::memory_order_relaxed);
    }
    ack_.clear();
  }
}

std::vector<std::string> StreamConsumer::AckCommand() const {
  std::vector<std::string> xack = {"XACK", options_.address.stream, options_.group};
  xack.insert(xack.end(), ack_.begin(), ack_.end());
  return xack;
}

// Sends the pending XACK and the next XREADGROUP in one round trip; the entries read.
Status StreamConsumer::Read(Decoded* batch) {
  const StreamConsumerOptions& o = options_;
  std::vector<std::vector<std::string>> commands;
  if (!ack_.empty()) {
    commands.push_back(AckCommand());
  }
  std::vector<std::string> read = {"XREADGROUP", "GROUP", o.group,
                                   o.consumer,   "COUNT", std::to_string(o.batch)};
  if (!read_pending_) {
    read.insert(read.end(), {"BLOCK", std::to_string(o.block_ms)});
  }
  read.insert(read.end(), {"STREAMS", o.address.stream, read_pending_ ? "0" : ">"});
  commands.push_back(std::move(read));
  const size_t acking = ack_.size();
  ack_.clear();
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, redis_->Pipeline(commands));
  if (acking > 0) {
    if (replies.front().is_error()) {
      return Status::FailedPrecondition("redis XACK: " + replies.front().str);
    }
    acked_.fetch_add(static_cast<uint64_t>(replies.front().integer), std::memory_order_relaxed);
  }
  const RedisReply& reply = replies.back();
  if (reply.is_error()) {
    return Status::FailedPrecondition("redis XREADGROUP: " + reply.str);
  }
  if (reply.type != RedisReply::Type::kArray || reply.elements.empty() ||
      reply.elements.front().elements.size() != 2) {
    return Status::Ok();  // nil: nothing new within block_ms
  }
  for (const RedisReply& entry : reply.elements.front().elements[1].elements) {
    if (entry.elements.size() != 2 || entry.elements[0].type != RedisReply::Type::kString) {
      return Status::Internal("redis XREADGROUP: unexpected entry shape");
    }
    const std::string& id = entry.elements[0].str;
    uint64_t ms = 0;
    uint64_t n = 0;
    if (!ParseEntryId(id, &ms, &n)) {
      return Status::Internal("redis XREADGROUP: entry id '" + id + "'");
    }
    batch->ids.push_back(id);
    batch->ms.push_back(ms);
    EntryFields fields;
    const std::vector<RedisReply>& kv = entry.elements[1].elements;
    for (size_t i = 0; i + 1 < kv.size(); i += 2) {
      fields.emplace_back(kv[i].str, kv[i + 1].str);
    }
    if (entry.elements[1].is_nil()) {  // pending, but trimmed from the stream since
      missing_.fetch_add(1, std::memory_order_relaxed);
    }
    batch->fields.push_back(std::move(fields));
  }
  return Status::Ok();
}

Status StreamConsumer::Step() {
  Decoded batch;
  FLYWHEEL_RETURN_IF_ERROR(Read(&batch));
  if (batch.ids.empty()) {
    read_pending_ = false;  // the pending entries are done: new ones next
    return Status::Ok();
  }
  entries_.fetch_add(batch.ids.size(), std::memory_order_relaxed);
  {
    base::MutexLock lock(&applied_mu_);
    read_id_ = batch.ids.back();
  }
  batch.entries.resize(batch.ids.size());
  for (size_t e = 0; e < batch.ids.size(); ++e) {
    // A pending entry trimmed from the stream since (no fields) has nothing to apply.
    Status st = batch.fields[e].empty() ? Status::Ok()
                                        : DecodeEntry(batch.ids[e], batch.fields[e],
                                                      options_.limits, &batch.entries[e]);
    if (!st.ok()) {
      batch.bad.push_back({e, st.message()});
    }
  }
  InFlight flight;
  FLYWHEEL_RETURN_IF_ERROR(Ingest(&batch, &flight));
  FLYWHEEL_RETURN_IF_ERROR(DeadLetter(batch));
  {
    // Visible (AppliedId) once the learner applied it: after its dead letters are parked.
    base::MutexLock lock(&applied_mu_);
    covered_.emplace_back(flight.logged_seq, flight.last_id);
    unapplied_ += flight.events;
    if (covered_.size() > 100'000) {
      covered_.pop_front();
    }
    in_flight_.push_back(std::move(flight));
  }
  applied_cv_.NotifyAll();
  ack_ = batch.ids;  // acked with the next read
  batches_.fetch_add(1, std::memory_order_relaxed);
  return Status::Ok();
}

// The decoded entries through the engine (entry_applier.h); the refused ones join the dead
// letters. Durable before it returns.
Status StreamConsumer::Ingest(Decoded* batch, InFlight* flight) {
  std::vector<bool> skip(batch->ids.size(), false);
  for (const Decoded::Bad& b : batch->bad) {
    skip[b.entry] = true;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(AppliedEntries applied, ApplyEntries(engine_, &batch->entries, skip));
  for (auto& [entry, reason] : applied.refused) {
    batch->bad.push_back({entry, std::move(reason)});
  }
  events_.fetch_add(applied.accepted, std::memory_order_relaxed);
  duplicates_.fetch_add(applied.duplicates, std::memory_order_relaxed);
  catalog_.fetch_add(applied.catalog, std::memory_order_relaxed);
  flight->last_id = batch->ids.back();
  flight->entry_ms = batch->ms;
  flight->last_seq = applied.last_seq;
  flight->events = applied.accepted;
  if (applied.last_seq > 0) {
    FLYWHEEL_RETURN_IF_ERROR(WaitDurable(applied.last_seq));
    flight->logged_seq = applied.last_seq;
  } else {
    flight->logged_seq = engine_->stats().last_seq;
  }
  return Status::Ok();
}

// With durability interval:<ms> Ingest returns before fdatasync: an entry is acked only once
// the log's durable sequence number covers its events.
Status StreamConsumer::WaitDurable(uint64_t seq) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (engine_->stats().durable_seq < seq) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::DeadlineExceeded("stream: the log did not become durable within 60 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

// Each refused entry goes to the dead-letter stream with its reason, its source and its
// original fields (prefixed "field:"); the XADDs must succeed before the entry is acked.
Status StreamConsumer::DeadLetter(const Decoded& batch) {
  if (batch.bad.empty()) {
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> commands;
  for (const Decoded::Bad& b : batch.bad) {
    std::vector<std::string> xadd = {"XADD",    options_.dead_letter,
                                     "MAXLEN",  "~",
                                     "1000000", "*",
                                     "reason",  b.reason,
                                     "stream",  options_.address.stream,
                                     "entry",   batch.ids[b.entry],
                                     "group",   options_.group};
    for (const auto& [name, value] : batch.fields[b.entry]) {
      xadd.push_back("field:" + name);
      xadd.push_back(value);
    }
    commands.push_back(std::move(xadd));
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, redis_->Pipeline(commands));
  for (const RedisReply& r : replies) {
    if (r.is_error()) {
      return Status::FailedPrecondition("redis XADD " + options_.dead_letter + ": " + r.str);
    }
  }
  dead_letters_.fetch_add(batch.bad.size(), std::memory_order_relaxed);
  return Status::Ok();
}

void StreamConsumer::WatchLoop() {
  while (true) {
    InFlight flight;
    {
      base::MutexLock lock(&applied_mu_);
      while (in_flight_.empty() && !watcher_stop_) {
        applied_cv_.Wait(&applied_mu_);
      }
      if (in_flight_.empty()) {
        return;
      }
      flight = in_flight_.front();
    }
    if (flight.last_seq > 0 && !engine_->WaitForApplied(flight.last_seq, 100).ok()) {
      base::MutexLock lock(&applied_mu_);
      if (watcher_stop_) {
        return;
      }
      continue;
    }
    const int64_t now = NowMs();
    for (const uint64_t ms : flight.entry_ms) {
      lag_.Add(static_cast<double>(std::max<int64_t>(0, now - static_cast<int64_t>(ms))));
    }
    {
      base::MutexLock lock(&applied_mu_);
      applied_id_ = flight.last_id;
      unapplied_ -= std::min(unapplied_, flight.events);
      in_flight_.pop_front();
    }
    applied_cv_.NotifyAll();
  }
}

bool StreamConsumer::WaitForRoom() {
  base::MutexLock lock(&applied_mu_);
  while (unapplied_ > options_.max_unapplied) {
    if (stop_.load()) {
      return false;
    }
    applied_cv_.WaitFor(&applied_mu_, std::chrono::milliseconds(50));
  }
  return !stop_.load();
}

Status StreamConsumer::NoteStartPosition() {
  FLYWHEEL_ASSIGN_OR_RETURN(RedisReply groups,
                            redis_->Command({"XINFO", "GROUPS", options_.address.stream}));
  std::string mine;  // this group's last delivered id
  for (const RedisReply& group : groups.elements) {
    const RedisReply* name = group.Find("name");
    const RedisReply* pending = group.Find("pending");
    const RedisReply* last_delivered = group.Find("last-delivered-id");
    if (name == nullptr || name->str != options_.group || last_delivered == nullptr) {
      continue;
    }
    mine = last_delivered->str;
    if (pending != nullptr && pending->integer == 0) {
      const uint64_t logged = engine_->stats().last_seq;
      base::MutexLock lock(&applied_mu_);
      covered_.emplace_back(logged, mine);
      applied_id_ = mine;  // everything delivered before is logged (and applied)
    }
  }
  // Entries deleted (trimmed) from the stream before this group read them would be skipped
  // without a trace, and the node would diverge. Redis 7 counts the entries ever added: when some
  // were deleted and the oldest entry left (or, for an emptied stream, the newest ever added) is
  // newer than this group's position, entries after that position are gone (an entry the group
  // read may have gone too: trim with MINID at the slowest group's position, doc/operations.md).
  FLYWHEEL_ASSIGN_OR_RETURN(RedisReply info,
                            redis_->Command({"XINFO", "STREAM", options_.address.stream}));
  const RedisReply* added = info.Find("entries-added");
  const RedisReply* length = info.Find("length");
  const RedisReply* first = info.Find("first-entry");
  const RedisReply* newest = info.Find("last-generated-id");
  if (added == nullptr || length == nullptr || added->integer <= length->integer || mine.empty()) {
    return Status::Ok();  // nothing deleted (or a Redis before 7 that does not say)
  }
  const std::string after =
      length->integer > 0
          ? (first != nullptr && !first->elements.empty() ? first->elements[0].str : std::string())
          : (newest != nullptr ? newest->str : std::string());
  if (!after.empty() && CompareEntryIds(mine, after) < 0) {
    return Status::FailedPrecondition(
        "stream " + options_.address.stream + " was trimmed past group " + options_.group +
        "'s position (" + mine + "; the oldest entry left is " + after +
        "): this node would miss the entries deleted unread. Start it from the trainer's "
        "snapshot (stream.bootstrap_from, a new data directory) or its group at $ "
        "(stream.start_id)");
  }
  return Status::Ok();
}

std::string StreamConsumer::EntryIdAt(uint64_t seq) const {
  base::MutexLock lock(&applied_mu_);
  for (auto it = covered_.rbegin(); it != covered_.rend(); ++it) {
    if (it->first <= seq) {
      return it->second;
    }
  }
  return "";
}

std::string StreamConsumer::AppliedId() const {
  base::MutexLock lock(&applied_mu_);
  return applied_id_;
}

Status StreamConsumer::WaitApplied(std::string_view id, int timeout_ms) const {
  uint64_t ms = 0;
  uint64_t n = 0;
  if (!ParseEntryId(id, &ms, &n)) {
    return Status::InvalidArgument("'" + std::string(id) + "' is not a stream entry id (<ms>-<n>)");
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  base::MutexLock lock(&applied_mu_);
  while (CompareEntryIds(applied_id_, id) < 0) {
    if (!applied_cv_.WaitUntil(&applied_mu_, deadline)) {
      if (CompareEntryIds(applied_id_, id) < 0) {
        return Status::DeadlineExceeded("entry " + std::string(id) + " not applied yet (at " +
                                        applied_id_ + ")");
      }
    }
  }
  return Status::Ok();
}

json StreamConsumer::Stats() const {
  json out = {
      {"source", options_.address.ToString()},
      {"group", options_.group},
      {"consumer", options_.consumer},
      {"dead_letter_stream", options_.dead_letter},
      {"connected", connected_.load()},
      {"entries", entries_.load()},
      {"events", events_.load()},
      {"duplicates", duplicates_.load()},
      {"catalog", catalog_.load()},
      {"dead_letters", dead_letters_.load()},
      {"missing", missing_.load()},
      {"acked", acked_.load()},
      {"batches", batches_.load()},
      {"failures", failures_.load()},
      {"lag_ms",
       {{"p50", lag_.Quantile(0.5)}, {"p99", lag_.Quantile(0.99)}, {"count", lag_.count()}}}};
  base::MutexLock lock(&applied_mu_);
  out["read_id"] = read_id_;
  out["applied_id"] = applied_id_;
  out["batches_in_flight"] = in_flight_.size();
  out["unapplied_events"] = unapplied_;
  out["last_error"] = last_error_;
  uint64_t ms = 0;
  uint64_t n = 0;
  // How far behind the newest entry read the applied version is, in stream time.
  out["behind_ms"] =
      !in_flight_.empty() && ParseEntryId(applied_id_, &ms, &n)
          ? static_cast<int64_t>(in_flight_.back().entry_ms.back()) - static_cast<int64_t>(ms)
          : 0;
  return out;
}

}  // namespace flywheel::stream
