// Sasrec's delta replication (Recommender::ExportDelta / ApplyDelta; doc/stream.md, "Delta mode").
//
// A delta is one length-prefixed payload followed by its CRC32C (like the snapshot):
//   u32 version (1), u8 flags (1: full, 2: dense), i32 dim, u8 content, i32 feature_buckets,
//   u64 rows (the trainer's item rows),
//   u64 n, n x u32 item, n x dim f32     the item rows the optimizer updates (IdRows: the id
//                                        rows with content, E itself without)
//   u64 m, m x u32 bucket, m x dim f32   content feature rows (m = 0 without content)
//   dense: u64 p, p x f32                every encoder weight
// A full delta holds every item row, every non-zero feature row and the encoder. The replica
// recomputes E for the items whose id row or feature rows arrived (RefreshRow), the same
// computation the trainer ran, so its E equals the trainer's bit for bit.
#include <algorithm>
#include <memory>
#include <string>

#include "base/crc32c.h"
#include "model/sasrec.h"

namespace flywheel::model {
namespace {

constexpr uint32_t kDeltaVersion = 1;
constexpr uint8_t kFull = 1;
constexpr uint8_t kDense = 2;
constexpr uint64_t kMaxRowsAhead = 1 << 20;

void Mark(uint32_t index, std::vector<uint8_t>* marks, std::vector<uint32_t>* list) {
  if (index >= marks->size()) {
    marks->resize(static_cast<size_t>(index) + 1, 0);
  }
  if ((*marks)[index] == 0) {
    (*marks)[index] = 1;
    list->push_back(index);
  }
}

void PutRows(const std::vector<uint32_t>& indices, const std::vector<float>& table, size_t d,
             base::ByteWriter* w) {
  w->Put<uint64_t>(indices.size());
  w->PutBytes(indices.data(), indices.size() * sizeof(uint32_t));
  for (uint32_t i : indices) {
    w->PutBytes(table.data() + static_cast<size_t>(i) * d, d * sizeof(float));
  }
}

// Reads n indices (each < limit) and n rows of d floats.
Status GetRows(base::ByteReader* r, size_t d, uint64_t limit, const char* what,
               std::vector<uint32_t>* indices, std::vector<float>* rows) {
  uint64_t n = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&n, what));
  if (n > r->remaining() / (sizeof(uint32_t) + d * sizeof(float))) {
    return r->Error(std::string("truncated ") + what);
  }
  indices->resize(n);
  FLYWHEEL_RETURN_IF_ERROR(r->GetBytes(indices->data(), n * sizeof(uint32_t), what));
  for (uint32_t i : *indices) {
    if (i >= limit) {
      return r->Error(std::string(what) + " index " + std::to_string(i) + " out of range");
    }
  }
  rows->resize(n * d);
  return r->GetBytes(rows->data(), rows->size() * sizeof(float), what);
}

}  // namespace

void Sasrec::MarkDeltaStep(std::span<const uint32_t> rows, bool encoder) {
  if (!delta_tracking_ || delta_all_) {
    return;
  }
  for (uint32_t row : rows) {
    Mark(row, &delta_row_mark_, &delta_rows_);
  }
  for (uint32_t bucket : touched_feats_) {
    Mark(bucket, &delta_feat_mark_, &delta_feats_);
  }
  delta_encoder_ = delta_encoder_ || encoder;
}

void Sasrec::ClearDeltaMarks() {
  for (uint32_t row : delta_rows_) {
    delta_row_mark_[row] = 0;
  }
  for (uint32_t bucket : delta_feats_) {
    delta_feat_mark_[bucket] = 0;
  }
  delta_rows_.clear();
  delta_feats_.clear();
}

Status Sasrec::ExportDelta(DeltaScope scope, base::ByteWriter* out, DeltaInfo* info) {
  const size_t d = static_cast<size_t>(options_.encoder.dim);
  delta_all_ = delta_all_ || scope == DeltaScope::kFull;
  const bool dense = scope == DeltaScope::kDense;
  std::vector<uint32_t> rows, feats;
  if (delta_all_) {
    rows.resize(rows_);
    for (size_t i = 0; i < rows_; ++i) {
      rows[i] = static_cast<uint32_t>(i);
    }
    for (size_t b = 0; options_.content && b * d < feat_.size(); ++b) {
      const float* f = feat_.data() + b * d;
      if (std::any_of(f, f + d, [](float v) { return v != 0.0f; })) {
        feats.push_back(static_cast<uint32_t>(b));
      }
    }
  } else {
    rows = delta_rows_;
    feats = delta_feats_;
    std::sort(rows.begin(), rows.end());
    std::sort(feats.begin(), feats.end());
  }
  const bool with_encoder = delta_all_ || (dense && delta_encoder_);
  info->full = delta_all_;
  info->dense = with_encoder;
  info->rows = rows.size() + feats.size();
  std::string payload;
  base::ByteWriter w(&payload);
  w.Put<uint32_t>(kDeltaVersion);
  w.Put<uint8_t>(static_cast<uint8_t>((delta_all_ ? kFull : 0) | (with_encoder ? kDense : 0)));
  w.Put<int32_t>(options_.encoder.dim);
  w.Put<uint8_t>(options_.content ? 1 : 0);
  w.Put<int32_t>(options_.feature_buckets);
  w.Put<uint64_t>(rows_);
  PutRows(rows, options_.content ? ids_ : items_, d, &w);
  PutRows(feats, feat_, d, &w);
  if (with_encoder) {
    w.PutVector(encoder_.params());
  }
  out->PutString(payload);
  out->Put<uint32_t>(base::crc32c::Value(payload));
  ClearDeltaMarks();
  delta_all_ = false;
  delta_tracking_ = true;
  if (with_encoder) {
    delta_encoder_ = false;
  }
  return Status::Ok();
}

namespace {

// What DecodeDelta checked, for ApplyDecoded.
struct SasrecDelta final : DecodedDelta {
  uint8_t flags = 0;
  uint64_t rows = 0;
  std::vector<uint32_t> row_ids, feat_ids;
  std::vector<float> row_values, feat_values, encoder;
};

}  // namespace

Result<std::unique_ptr<DecodedDelta>> Sasrec::DecodeDelta(base::ByteReader* in) const {
  std::string payload;
  FLYWHEEL_RETURN_IF_ERROR(in->GetString(&payload, "sasrec delta"));
  uint32_t crc = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&crc, "sasrec delta checksum"));
  if (crc != base::crc32c::Value(payload)) {
    return in->Error("sasrec delta: checksum mismatch");
  }
  base::ByteReader r(payload, "sasrec delta");
  auto out = std::make_unique<SasrecDelta>();
  uint32_t version = 0;
  int32_t dim = 0;
  uint8_t content = 0;
  int32_t buckets = 0;
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&version, "version"));
  if (version != kDeltaVersion) {
    return r.Error("unsupported delta version " + std::to_string(version));
  }
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&out->flags, "flags"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&dim, "dim"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&content, "content"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&buckets, "feature_buckets"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&out->rows, "rows"));
  if (dim != options_.encoder.dim || (content != 0) != options_.content ||
      (options_.content && buckets != options_.feature_buckets)) {
    return Status::FailedPrecondition(
        "sasrec delta: shape mismatch (dim/content/feature_buckets differ from this model's)");
  }
  // The replica applies a delta once its own events reached the delta's version, so it knows
  // (nearly) every item the trainer did: a row count far beyond its own is a bad delta, refused
  // before it can allocate (rows_ only grows until ApplyDecoded).
  if (out->rows > rows_ + kMaxRowsAhead) {
    return r.Error("rows " + std::to_string(out->rows) + " is more than " +
                   std::to_string(kMaxRowsAhead) + " ahead of this model's " +
                   std::to_string(rows_));
  }
  const size_t d = static_cast<size_t>(dim);
  FLYWHEEL_RETURN_IF_ERROR(GetRows(&r, d, out->rows, "item rows", &out->row_ids, &out->row_values));
  const uint64_t bucket_limit = options_.content ? static_cast<uint64_t>(buckets) : 0;
  FLYWHEEL_RETURN_IF_ERROR(
      GetRows(&r, d, bucket_limit, "feature rows", &out->feat_ids, &out->feat_values));
  if ((out->flags & kDense) != 0) {
    FLYWHEEL_RETURN_IF_ERROR(r.GetVector(&out->encoder, "encoder"));
    if (out->encoder.size() != encoder_.params().size()) {
      return r.Error("encoder size " + std::to_string(out->encoder.size()) + ", expected " +
                     std::to_string(encoder_.params().size()));
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(r.ExpectEnd());
  return std::unique_ptr<DecodedDelta>(std::move(out));
}

Status Sasrec::ApplyDecoded(const DecodedDelta& decoded, std::vector<ItemIdx>* changed) {
  const auto* delta = dynamic_cast<const SasrecDelta*>(&decoded);
  if (delta == nullptr) {
    return Status::InvalidArgument("sasrec: a delta decoded by another model");
  }
  const size_t d = static_cast<size_t>(options_.encoder.dim);
  if (delta->rows > 0) {
    GrowItems(static_cast<ItemIdx>(delta->rows - 1));
  }
  std::vector<float>& table = IdRows();
  for (size_t n = 0; n < delta->row_ids.size(); ++n) {
    std::copy_n(delta->row_values.data() + n * d, d,
                table.data() + static_cast<size_t>(delta->row_ids[n]) * d);
  }
  for (size_t n = 0; n < delta->feat_ids.size(); ++n) {
    std::copy_n(delta->feat_values.data() + n * d, d,
                feat_.data() + static_cast<size_t>(delta->feat_ids[n]) * d);
  }
  if ((delta->flags & kDense) != 0) {
    std::copy(delta->encoder.begin(), delta->encoder.end(), encoder_.params().begin());
  }
  std::vector<ItemIdx> refresh(delta->row_ids.begin(), delta->row_ids.end());
  if (options_.content) {
    for (uint32_t bucket : delta->feat_ids) {
      refresh.insert(refresh.end(), feature_items_[bucket].begin(), feature_items_[bucket].end());
    }
    std::sort(refresh.begin(), refresh.end());
    refresh.erase(std::unique(refresh.begin(), refresh.end()), refresh.end());
    for (ItemIdx item : refresh) {
      RefreshRow(item);
    }
  }
  changed->insert(changed->end(), refresh.begin(), refresh.end());
  ++version_;
  return Status::Ok();
}

}  // namespace flywheel::model
