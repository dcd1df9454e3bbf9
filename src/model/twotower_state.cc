// TwoTower snapshots: SaveState / LoadState (format: doc/models/twotower.md).
//
//   u32 version | u32 magic "TWT1" | u64 body length | body | u32 masked crc32c(body)
// (the version first, as doc/formats/snapshot.md asks of model payloads)
//   body: params text | Rng | steps | known | feature hashes | item features | reservoir |
//         positives_seen | rings | user table | item table | feature table
#include <algorithm>
#include <cmath>
#include <string>

#include "base/crc32c.h"
#include "model/twotower.h"
#include "model/twotower_internal.h"

namespace flywheel::model {
namespace {

constexpr uint32_t kMagic = 0x31545754;  // "TWT1"
constexpr uint32_t kVersion = 1;

std::string ParamsText(const KeyValues& params) {
  std::string text;
  for (const auto& [key, value] : params) {
    text += key + "=" + value + ";";
  }
  return text;
}

void PutTable(const embedding::EmbeddingTable& table, base::ByteWriter* out) {
  std::string bytes;
  (void)table.AppendSnapshot(&bytes);  // appending to memory cannot fail
  out->PutString(bytes);
}

Result<std::unique_ptr<embedding::EmbeddingTable>> GetTable(base::ByteReader* in, const char* what,
                                                            uint32_t dim) {
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, what));
  std::string_view bytes;
  if (n > in->remaining()) {
    return in->Error(std::string("truncated ") + what);
  }
  FLYWHEEL_RETURN_IF_ERROR(in->GetView(n, &bytes, what));
  FLYWHEEL_ASSIGN_OR_RETURN(auto table, embedding::EmbeddingTable::LoadSnapshotBytes(bytes, what));
  if (table->dim() != dim) {
    return in->Error(std::string(what) + ": dim mismatch");
  }
  return table;
}

// ByteReader::GetVector, except that an empty vector never reaches memcpy (GetVector passes
// data() == nullptr with length 0 to memcpy, which UBSan reports).
template <typename T>
Status GetVec(base::ByteReader* in, std::vector<T>* v, std::string_view field) {
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, field));
  if (n > in->remaining() / sizeof(T)) {
    return in->Error("truncated " + std::string(field));
  }
  v->resize(n);
  return n == 0 ? Status::Ok() : in->GetBytes(v->data(), n * sizeof(T), field);
}

Status GetHistoryEntry(base::ByteReader* in, HistoryEntry* entry) {
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&entry->item, "ring item"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&entry->ts_ms, "ring ts"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&entry->weight, "ring weight"));
  return in->Get(&entry->type, "ring type");
}

}  // namespace

Status TwoTower::SaveState(base::ByteWriter* out) const {
  std::string body;
  base::ByteWriter w(&body);
  w.PutString(ParamsText(params()));
  w.Put(worker_->rng);
  w.Put<uint64_t>(steps());
  w.PutVector(known_);
  w.PutVector(counts_);
  w.Put(total_count_);
  w.PutVector(feature_hashes_);
  for (const std::vector<FeatureRef>& refs : item_features_) {
    w.PutVector(refs);
  }
  w.PutVector(reservoir_);
  w.Put<uint64_t>(positives_seen_);
  std::vector<UserIdx> users;
  for (const auto& [user, ring] : rings_) {
    users.push_back(user);
  }
  std::sort(users.begin(), users.end());
  w.Put<uint64_t>(users.size());
  for (UserIdx user : users) {
    const std::vector<HistoryEntry>& ring = rings_.at(user);
    w.Put(user);
    w.Put<uint64_t>(ring.size());
    for (const HistoryEntry& entry : ring) {
      w.Put(entry.item);
      w.Put(entry.ts_ms);
      w.Put(entry.weight);
      w.Put(entry.type);
    }
  }
  PutTable(*users_, &w);
  PutTable(*items_, &w);
  PutTable(*features_, &w);
  out->Put(kVersion);
  out->Put(kMagic);
  out->PutString(body);
  out->Put(base::crc32c::Mask(base::crc32c::Value(body)));
  return Status::Ok();
}

Status TwoTower::LoadState(base::ByteReader* in) {
  uint32_t magic = 0;
  uint32_t version = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&version, "twotower version"));
  if (version != kVersion) {
    return in->Error("twotower: unsupported format version " + std::to_string(version));
  }
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&magic, "twotower magic"));
  if (magic != kMagic) {
    return in->Error("twotower: bad magic");
  }
  uint64_t n = 0;
  std::string_view body;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&n, "twotower body length"));
  if (n > in->remaining()) {
    return in->Error("truncated twotower body");
  }
  FLYWHEEL_RETURN_IF_ERROR(in->GetView(n, &body, "twotower body"));
  uint32_t crc = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&crc, "twotower checksum"));
  if (base::crc32c::Unmask(crc) != base::crc32c::Value(body)) {
    return in->Error("twotower: checksum mismatch");
  }
  base::ByteReader reader(body, "twotower state");
  return LoadBody(&reader);
}

namespace {

// A state parsed and checked, installed only when everything is valid.
struct Parsed {
  std::vector<uint8_t> known;
  std::vector<float> counts;
  double total_count = 0;
  std::vector<uint64_t> hashes;
  std::unordered_map<uint64_t, uint32_t> index;
  std::vector<std::vector<TwoTower::FeatureRef>> item_features;
  std::vector<TwoTower::Replayed> reservoir;
  uint64_t positives_seen = 0;
  std::unordered_map<UserIdx, std::vector<HistoryEntry>> rings;
};

Status ParseCatalogue(base::ByteReader* in, Parsed* p) {
  FLYWHEEL_RETURN_IF_ERROR(GetVec(in, &p->known, "known items"));
  FLYWHEEL_RETURN_IF_ERROR(GetVec(in, &p->counts, "counts"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&p->total_count, "total count"));
  if (p->counts.size() != p->known.size() || !std::isfinite(p->total_count) || p->total_count < 0) {
    return in->Error("bad counts");
  }
  FLYWHEEL_RETURN_IF_ERROR(GetVec(in, &p->hashes, "feature hashes"));
  for (size_t f = 0; f < p->hashes.size(); ++f) {
    if (!p->index.emplace(p->hashes[f], static_cast<uint32_t>(f)).second) {
      return in->Error("duplicate feature hash");
    }
  }
  p->item_features.resize(p->known.size());
  for (std::vector<TwoTower::FeatureRef>& refs : p->item_features) {
    FLYWHEEL_RETURN_IF_ERROR(GetVec(in, &refs, "item features"));
    for (const TwoTower::FeatureRef& ref : refs) {
      if (ref.feature >= p->hashes.size() || !std::isfinite(ref.weight)) {
        return in->Error("bad item feature");
      }
    }
  }
  return Status::Ok();
}

Status ParseRings(base::ByteReader* in, const TwoTowerOptions& options, Parsed* p) {
  uint64_t num_users = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&num_users, "ring count"));
  for (uint64_t u = 0; u < num_users; ++u) {
    UserIdx user = 0;
    uint64_t size = 0;
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&user, "ring user"));
    FLYWHEEL_RETURN_IF_ERROR(in->Get(&size, "ring size"));
    if (size > static_cast<uint64_t>(options.history) || p->rings.count(user) != 0) {
      return in->Error("bad ring");
    }
    std::vector<HistoryEntry>& ring = p->rings[user];
    ring.resize(size);
    for (HistoryEntry& entry : ring) {
      FLYWHEEL_RETURN_IF_ERROR(GetHistoryEntry(in, &entry));
      if (entry.item >= p->known.size()) {
        return in->Error("bad ring item");
      }
    }
  }
  return Status::Ok();
}

Status ParseReplay(base::ByteReader* in, const TwoTowerOptions& options, Parsed* p) {
  FLYWHEEL_RETURN_IF_ERROR(GetVec(in, &p->reservoir, "reservoir"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&p->positives_seen, "positives seen"));
  if (p->reservoir.size() > static_cast<size_t>(options.reservoir)) {
    return in->Error("reservoir over capacity");
  }
  for (const TwoTower::Replayed& r : p->reservoir) {
    if (r.item >= p->known.size()) {
      return in->Error("bad reservoir entry");
    }
  }
  return ParseRings(in, options, p);
}

}  // namespace

Status TwoTower::LoadBody(base::ByteReader* in) {
  std::string params_text;
  FLYWHEEL_RETURN_IF_ERROR(in->GetString(&params_text, "params"));
  if (params_text != ParamsText(params())) {
    return in->Error("twotower: state saved with other parameters: " + params_text);
  }
  base::Rng rng(0);
  uint64_t steps = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&rng, "rng"));
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&steps, "steps"));
  Parsed p;
  FLYWHEEL_RETURN_IF_ERROR(ParseCatalogue(in, &p));
  FLYWHEEL_RETURN_IF_ERROR(ParseReplay(in, options_, &p));
  FLYWHEEL_ASSIGN_OR_RETURN(auto users, GetTable(in, "user table", options_.dim));
  FLYWHEEL_ASSIGN_OR_RETURN(auto items, GetTable(in, "item table", options_.dim + 1));
  FLYWHEEL_ASSIGN_OR_RETURN(auto features, GetTable(in, "feature table", options_.dim));
  FLYWHEEL_RETURN_IF_ERROR(in->ExpectEnd());
  // Everything parsed and checked: install it.
  worker_->rng = rng;
  steps_.store(steps, std::memory_order_relaxed);
  known_.clear();
  item_features_.clear();
  item_bias_.clear();
  item_panels_.clear();
  if (!p.known.empty()) {
    GrowItems(static_cast<ItemIdx>(p.known.size() - 1));
  }
  num_known_ = static_cast<size_t>(
      std::count_if(p.known.begin(), p.known.end(), [](uint8_t k) { return k != 0; }));
  known_ = std::move(p.known);
  counts_ = std::move(p.counts);
  total_count_ = p.total_count;
  item_features_ = std::move(p.item_features);
  feature_hashes_ = std::move(p.hashes);
  feature_index_ = std::move(p.index);
  feature_panels_.assign((feature_hashes_.size() + internal::kPanel - 1) / internal::kPanel *
                             internal::kPanel * options_.dim,
                         0.0f);
  reservoir_ = std::move(p.reservoir);
  positives_seen_ = p.positives_seen;
  rings_ = std::move(p.rings);
  users_ = std::move(users);
  items_ = std::move(items);
  features_ = std::move(features);
  RebuildMirrors();
  RebuildCsr();
  return Status::Ok();
}

}  // namespace flywheel::model
