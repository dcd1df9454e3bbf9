// Bpr::SaveState / Bpr::LoadState: the model's snapshot (layout in doc/formats/bpr_state.md).

#include <algorithm>
#include <cstring>
#include <string>
#include <type_traits>

#include "base/crc32c.h"
#include "model/bpr.h"

namespace flywheel::model {
namespace {

constexpr uint32_t kMagic = 0x31525042;  // "BPR1" little-endian
constexpr uint32_t kVersion = 1;

static_assert(std::is_trivially_copyable_v<base::Rng> && sizeof(base::Rng) == 32,
              "the snapshot stores the Rng's 32 state bytes");

// The parameters as one string: a snapshot loads only into a model with the same parameters.
std::string ParamsFingerprint(const KeyValues& params) {
  std::string out;
  for (const auto& [key, value] : params) {
    if (key == "threads") {  // Fit parallelism: not part of the learned state
      continue;
    }
    out += key + "=" + value + ";";
  }
  return out;
}

template <typename C>
bool ValidContext(const C& context, size_t n) {
  return context.size <= kBprMaxContext && std::all_of(context.items, context.items + context.size,
                                                       [n](ItemIdx item) { return item < n; });
}

Status Corrupt(const std::string& message) {
  return Status::Corruption("bpr: snapshot: " + message);
}

}  // namespace

Status Bpr::SaveState(base::ByteWriter* out) const {
  std::string body;
  base::ByteWriter w(&body);
  w.Put(kMagic);
  w.Put(kVersion);
  w.PutString(ParamsFingerprint(params()));
  w.Put(worker_.rng);
  w.PutVector(known_);
  w.PutVector(counts_);
  w.Put(total_count_);
  w.Put<uint64_t>(num_known_);
  w.Put(rating_sum_);
  w.PutVector(recent_);
  w.Put<uint64_t>(recent_next_);
  w.PutVector(reservoir_);
  w.Put(positives_seen_);
  w.Put(worker_.steps);
  for (const auto* table : {users_.get(), items_.get(), contexts_.get()}) {
    std::string bytes;
    FLYWHEEL_RETURN_IF_ERROR(table->AppendSnapshot(&bytes));
    w.PutString(bytes);
  }
  out->Put<uint64_t>(body.size());
  out->PutBytes(body.data(), body.size());
  out->Put(base::crc32c::Mask(base::crc32c::Value(body)));
  return Status::Ok();
}

Status Bpr::LoadState(base::ByteReader* in) {
  uint64_t size = 0;
  std::string_view body;
  uint32_t crc = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&size, "bpr state length"));
  if (size > in->remaining()) {
    return in->Error("bpr state length " + std::to_string(size) + " past the end");
  }
  FLYWHEEL_RETURN_IF_ERROR(in->GetView(size, &body, "bpr state"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&crc, "bpr state checksum"));
  if (base::crc32c::Unmask(crc) != base::crc32c::Value(body)) {
    return in->Error("bpr state checksum mismatch");
  }
  base::ByteReader r(body, "bpr state");
  FLYWHEEL_RETURN_IF_ERROR(ReadHeader(&r));
  FLYWHEEL_RETURN_IF_ERROR(ReadStatistics(&r));
  FLYWHEEL_RETURN_IF_ERROR(ReadTables(&r));
  FLYWHEEL_RETURN_IF_ERROR(r.ExpectEnd());
  RebuildMirror();
  return Status::Ok();
}

Status Bpr::ReadHeader(base::ByteReader* r) const {
  uint32_t magic = 0;
  uint32_t version = 0;
  std::string fingerprint;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&magic, "magic"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&version, "version"));
  if (magic != kMagic) {
    return r->Error("bad magic");
  }
  if (version != kVersion) {
    return r->Error("unsupported version " + std::to_string(version) + " (this build reads " +
                    std::to_string(kVersion) + ")");
  }
  FLYWHEEL_RETURN_IF_ERROR(r->GetString(&fingerprint, "parameters"));
  if (fingerprint != ParamsFingerprint(params())) {
    return Corrupt("saved with parameters '" + fingerprint + "', this model has '" +
                   ParamsFingerprint(params()) + "'");
  }
  return Status::Ok();
}

Status Bpr::ReadStatistics(base::ByteReader* r) {
  uint64_t num_known = 0;
  uint64_t recent_next = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&worker_.rng, "rng"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&known_, "known items"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&counts_, "item counts"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&total_count_, "total count"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&num_known, "known count"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&rating_sum_, "rating sum"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&recent_, "recent ring"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&recent_next, "recent position"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&reservoir_, "reservoir"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&positives_seen_, "positives seen"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&worker_.steps, "steps"));
  num_known_ = num_known;
  recent_next_ = recent_next;
  return CheckStatistics();
}

Status Bpr::CheckStatistics() const {
  const size_t n = known_.size();
  const auto counted = static_cast<size_t>(std::count(known_.begin(), known_.end(), 1));
  if (counts_.size() != n || counted != num_known_ ||
      std::any_of(known_.begin(), known_.end(), [](uint8_t k) { return k > 1; })) {
    return Corrupt("item statistics inconsistent");
  }
  const auto window = static_cast<size_t>(options_.recent_window);
  const auto in_range = [n](ItemIdx item) { return item < n; };
  if (recent_.size() > window || recent_next_ >= window ||
      !std::all_of(recent_.begin(), recent_.end(), in_range)) {
    return Corrupt("recent ring inconsistent");
  }
  if (reservoir_.size() > static_cast<size_t>(options_.reservoir) ||
      reservoir_.size() > positives_seen_ ||
      !std::all_of(reservoir_.begin(), reservoir_.end(),
                   [n](const Replayed& e) { return e.item < n && ValidContext(e.context, n); })) {
    return Corrupt("reservoir inconsistent");
  }
  return Status::Ok();
}

Status Bpr::ReadTables(base::ByteReader* r) {
  for (auto* table : {&users_, &items_, &contexts_}) {
    const char* what = table == &users_   ? "user table"
                       : table == &items_ ? "item table"
                                          : "context table";
    std::string_view bytes;
    uint64_t size = 0;
    FLYWHEEL_RETURN_IF_ERROR(r->Get(&size, what));
    FLYWHEEL_RETURN_IF_ERROR(r->GetView(size, &bytes, what));
    FLYWHEEL_ASSIGN_OR_RETURN(auto loaded,
                              embedding::EmbeddingTable::LoadSnapshotBytes(bytes, what));
    const auto& want = (*table)->options();
    const auto& got = loaded->options();
    if (got.dim != want.dim || got.optimizer.kind != want.optimizer.kind || got.seed != want.seed) {
      return Corrupt(std::string(what) + " options differ from the model's");
    }
    *table = std::move(loaded);
  }
  return Status::Ok();
}

void Bpr::RebuildMirror() {
  const size_t n = known_.size();
  const size_t padded = (n + kPanel - 1) / kPanel * kPanel;
  item_bias_.assign(padded, 0.0f);
  panels_.assign(padded * options_.dim, 0.0f);
  std::vector<uint64_t> ids;
  for (size_t item = 0; item < n; ++item) {
    if (items_->Contains(item)) {
      ids.push_back(item);
    }
  }
  RefreshMirror(ids);
}

}  // namespace flywheel::model
