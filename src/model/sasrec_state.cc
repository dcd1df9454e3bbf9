// Sasrec snapshots: version, the options that fix the shapes, every weight and Adam moment, the
// item statistics, reservoirs and counters (the RNG state is the stream counter), all inside
// one length-prefixed payload followed by its CRC32C, so that any flipped byte is kCorruption.
// Version 2 appends the content state (a flag; when set: the id rows, the feature rows and
// their moments, each item's (bucket, weight) list); version 1 snapshots load as "no content".
// Version 3 appends the user of each reservoir sequence (for ForgetUser; older versions load
// with unknown users) and the online anchor (encoder and item rows; empty when not captured).
#include <string>

#include "base/crc32c.h"
#include "model/sasrec.h"

namespace flywheel::model {
namespace {

constexpr uint32_t kVersion = 3;

}  // namespace

Status Sasrec::SaveState(base::ByteWriter* out) const {
  std::string payload;
  base::ByteWriter w(&payload);
  w.Put<uint32_t>(kVersion);
  for (int v : {options_.encoder.dim, options_.encoder.heads, options_.encoder.blocks,
                options_.encoder.max_len, static_cast<int>(options_.loss)}) {
    w.Put<int32_t>(v);
  }
  w.PutVector(encoder_.params());
  w.PutVector(enc_m_);
  w.PutVector(enc_v_);
  w.Put<uint64_t>(rows_);
  w.PutVector(items_);
  w.PutVector(item_m_);
  w.PutVector(item_v_);
  w.PutVector(known_);
  w.PutVector(counts_);
  w.PutVector(known_list_);
  w.PutVector(positives_);
  w.Put<uint64_t>(positives_seen_);
  w.Put<double>(total_count_);
  w.Put<uint64_t>(reservoir_.size());
  for (const auto& seq : reservoir_) {
    w.PutVector(seq);
  }
  w.Put<uint64_t>(reservoir_seen_);
  w.Put<uint64_t>(steps_);
  w.Put<uint64_t>(streams_);
  w.Put<uint64_t>(skipped_non_finite_);
  w.Put<int32_t>(best_epoch_);
  SaveContent(&w);
  w.PutVector(reservoir_users_);
  w.PutVector(anchor_enc_);
  w.PutVector(anchor_items_);
  out->PutString(payload);
  out->Put<uint32_t>(base::crc32c::Value(payload));
  return Status::Ok();
}

Status Sasrec::LoadShape(base::ByteReader* r, uint32_t* version) const {
  FLYWHEEL_RETURN_IF_ERROR(r->Get(version, "version"));
  if (*version < 1 || *version > kVersion) {
    return r->Error("unsupported version " + std::to_string(*version));
  }
  for (int expected : {options_.encoder.dim, options_.encoder.heads, options_.encoder.blocks,
                       options_.encoder.max_len, static_cast<int>(options_.loss)}) {
    int32_t v = 0;
    FLYWHEEL_RETURN_IF_ERROR(r->Get(&v, "shape"));
    if (v != expected) {
      return r->Error("shape option mismatch (dim/heads/blocks/max_len/loss)");
    }
  }
  return Status::Ok();
}

// The encoder and item tables with their optimizer moments, and the item bookkeeping.
Status Sasrec::LoadWeights(base::ByteReader* r) {
  const size_t n_params = encoder_.params().size();
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&encoder_.params(), "encoder"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&enc_m_, "encoder m"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&enc_v_, "encoder v"));
  if (encoder_.params().size() != n_params || enc_m_.size() != n_params ||
      enc_v_.size() != n_params) {
    return r->Error("encoder size mismatch");
  }
  uint64_t rows = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&rows, "rows"));
  rows_ = rows;
  const size_t cells = rows_ * static_cast<size_t>(options_.encoder.dim);
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&items_, "items"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&item_m_, "items m"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&item_v_, "items v"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&known_, "known"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&counts_, "counts"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&known_list_, "known list"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&positives_, "positives"));
  if (items_.size() != cells || item_m_.size() != cells || item_v_.size() != cells ||
      known_.size() != rows_ || counts_.size() != rows_) {
    return r->Error("item table size mismatch");
  }
  for (ItemIdx item : known_list_) {
    if (item >= rows_) {
      return r->Error("known item out of range");
    }
  }
  for (ItemIdx item : positives_) {
    if (item >= rows_) {
      return r->Error("positive item out of range");
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&positives_seen_, "positives seen"));
  return r->Get(&total_count_, "total count");
}

Status Sasrec::LoadReservoir(base::ByteReader* r) {
  uint64_t n_res = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&n_res, "reservoir size"));
  if (n_res > static_cast<uint64_t>(options_.reservoir) || n_res > r->remaining() / 8) {
    return r->Error("reservoir too large");
  }
  reservoir_.assign(n_res, {});
  for (auto& seq : reservoir_) {
    FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&seq, "reservoir sequence"));
    if (seq.size() < 2 || seq.size() > static_cast<size_t>(options_.encoder.max_len) + 1) {
      return r->Error("reservoir sequence length");
    }
    for (ItemIdx item : seq) {
      if (item >= rows_) {
        return r->Error("reservoir item out of range");
      }
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&reservoir_seen_, "reservoir seen"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&steps_, "steps"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&streams_, "streams"));
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&skipped_non_finite_, "skipped"));
  int32_t best = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&best, "best epoch"));
  best_epoch_ = best;
  return Status::Ok();
}

// What later versions added: content tables (2), reservoir users and the online anchor (3).
Status Sasrec::LoadVersionedTail(base::ByteReader* r, uint32_t version) {
  if (version == 1) {
    if (options_.content) {
      ids_ = items_;
      item_feats_.assign(rows_, {});
      dirty_.assign(rows_, 0);
      feature_items_.assign(options_.feature_buckets, {});
    }
  } else {
    FLYWHEEL_RETURN_IF_ERROR(LoadContent(r));
  }
  if (version >= 3) {
    FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&reservoir_users_, "reservoir users"));
    if (reservoir_users_.size() != reservoir_.size()) {
      return r->Error("reservoir users size mismatch");
    }
    FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&anchor_enc_, "anchor encoder"));
    FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&anchor_items_, "anchor items"));
    if ((!anchor_enc_.empty() && anchor_enc_.size() != encoder_.params().size()) ||
        anchor_items_.size() > IdRows().size() ||
        anchor_items_.size() % options_.encoder.dim != 0) {
      return r->Error("anchor size mismatch");
    }
  } else {
    reservoir_users_.assign(reservoir_.size(), kNoUser);
    anchor_enc_.clear();
    anchor_items_.clear();
  }
  return Status::Ok();
}

Status Sasrec::LoadState(base::ByteReader* in) {
  std::string payload;
  FLYWHEEL_RETURN_IF_ERROR(in->GetString(&payload, "sasrec payload"));
  uint32_t crc = 0;
  FLYWHEEL_RETURN_IF_ERROR(in->Get(&crc, "sasrec checksum"));
  if (crc != base::crc32c::Value(payload)) {
    return in->Error("sasrec: checksum mismatch");
  }
  base::ByteReader r(payload, "sasrec snapshot");
  uint32_t version = 0;
  FLYWHEEL_RETURN_IF_ERROR(LoadShape(&r, &version));
  FLYWHEEL_RETURN_IF_ERROR(LoadWeights(&r));
  FLYWHEEL_RETURN_IF_ERROR(LoadReservoir(&r));
  ++version_;
  delta_all_ = true;
  FLYWHEEL_RETURN_IF_ERROR(LoadVersionedTail(&r, version));
  return r.ExpectEnd();
}

void Sasrec::SaveContent(base::ByteWriter* w) const {
  w->Put<uint8_t>(options_.content ? 1 : 0);
  if (!options_.content) {
    return;
  }
  w->Put<int32_t>(options_.feature_buckets);
  w->PutVector(ids_);
  w->PutVector(feat_);
  w->PutVector(feat_m_);
  w->PutVector(feat_v_);
  for (const auto& feats : item_feats_) {
    std::vector<uint32_t> buckets;
    std::vector<float> weights;
    for (const auto& [bucket, weight] : feats) {
      buckets.push_back(bucket);
      weights.push_back(weight);
    }
    w->PutVector(buckets);
    w->PutVector(weights);
  }
}

Status Sasrec::LoadContent(base::ByteReader* r) {
  uint8_t content = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&content, "content flag"));
  if ((content != 0) != options_.content) {
    return r->Error("content option mismatch");
  }
  if (!options_.content) {
    return Status::Ok();
  }
  int32_t buckets = 0;
  FLYWHEEL_RETURN_IF_ERROR(r->Get(&buckets, "feature buckets"));
  if (buckets != options_.feature_buckets) {
    return r->Error("feature_buckets mismatch");
  }
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&ids_, "id rows"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&feat_, "feature rows"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&feat_m_, "feature m"));
  FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&feat_v_, "feature v"));
  const size_t cells = static_cast<size_t>(buckets) * options_.encoder.dim;
  if (ids_.size() != items_.size() || feat_.size() != cells || feat_m_.size() != cells ||
      feat_v_.size() != cells) {
    return r->Error("content table size mismatch");
  }
  item_feats_.assign(rows_, {});
  feature_items_.assign(options_.feature_buckets, {});
  for (ItemIdx item = 0; item < rows_; ++item) {
    std::vector<uint32_t> bucket_ids;
    std::vector<float> weights;
    FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&bucket_ids, "item buckets"));
    FLYWHEEL_RETURN_IF_ERROR(r->GetVector(&weights, "item weights"));
    if (bucket_ids.size() != weights.size()) {
      return r->Error("item feature list mismatch");
    }
    for (size_t j = 0; j < bucket_ids.size(); ++j) {
      if (bucket_ids[j] >= static_cast<uint32_t>(buckets)) {
        return r->Error("feature bucket out of range");
      }
      item_feats_[item].emplace_back(bucket_ids[j], weights[j]);
    }
    LinkFeatures(item, true);
  }
  dirty_.assign(rows_, 0);
  RefreshAllRows();  // E from the id and feature rows (bit-identical to the saved table)
  return Status::Ok();
}

}  // namespace flywheel::model
