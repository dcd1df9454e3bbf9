#include "engine/loop/impression_record.h"

#include <cmath>
#include <cstring>
#include <string>
#include <unordered_set>

#include "base/strings.h"
#include "wal/coding.h"

namespace flywheel::engine {
namespace {

Status Invalid(const std::string& field, const std::string& what) {
  return Status::InvalidArgument("impression: field '" + field + "': " + what).WithField(field);
}

bool ValidProbability(double p) {
  return std::isnan(p) || (p > 0.0 && p <= 1.0);
}

void PutFloat(std::string* out, double value) {
  const auto f = static_cast<float>(value);
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof(bits));
  wal::PutFixed32(out, bits);
}

bool GetFloat(std::string_view* in, double* value) {
  if (in->size() < 4) {
    return false;
  }
  const uint32_t bits = wal::DecodeFixed32(in->data());
  in->remove_prefix(4);
  float f = 0;
  std::memcpy(&f, &bits, sizeof(f));
  *value = f;
  return true;
}

Status Corrupt(const std::string& what) {
  return Status::Corruption("impression record: " + what);
}

}  // namespace

Status ValidateImpression(const Impression& impression) {
  if (impression.user.empty()) {
    return Invalid("user", "must not be empty");
  }
  if (impression.items.empty() || impression.items.size() > kMaxImpressionItems) {
    return Invalid("items",
                   "must hold 1..1000 items, got " + std::to_string(impression.items.size()));
  }
  std::unordered_set<std::string_view> seen;
  for (size_t i = 0; i < impression.items.size(); ++i) {
    const ShownItem& shown = impression.items[i];
    const std::string field = "items[" + std::to_string(i) + "]";
    if (shown.item.empty()) {
      return Invalid(field, "empty item id");
    }
    if (!seen.insert(shown.item).second) {
      return Invalid(field, "item '" + shown.item + "' appears twice");
    }
    if (i > 0 && shown.position <= impression.items[i - 1].position) {
      return Invalid(field + ".position", "positions must increase");
    }
    if (!ValidProbability(shown.propensity)) {
      return Invalid(field + ".propensity", "must be in (0, 1]");
    }
    if (!ValidProbability(shown.step)) {
      return Invalid(field + ".step", "must be in (0, 1]");
    }
  }
  return Status::Ok();
}

Event ImpressionRecord(const Impression& impression) {
  Event record;
  record.type = std::string(kImpressionType);
  record.user = impression.user;
  record.item = impression.recommendation_id;
  record.ts_ms = impression.ts_ms;
  record.value = 0;
  std::string packed;
  wal::PutVarint32(&packed, static_cast<uint32_t>(impression.items.size()));
  for (const ShownItem& shown : impression.items) {
    wal::PutVarint32(&packed, shown.position);
    wal::PutLengthPrefixed(&packed, shown.item);
    PutFloat(&packed, shown.propensity);
    PutFloat(&packed, shown.step);
  }
  record.context = {{"policy", impression.policy},
                    {"model", impression.model},
                    {"version", std::to_string(impression.model_version)},
                    {"items", std::move(packed)}};
  return record;
}

Result<Impression> DecodeImpression(const Event& record) {
  if (record.type != kImpressionType) {
    return Corrupt("type '" + record.type + "'");
  }
  const KeyValues& c = record.context;
  if (c.size() != 4 || c[0].first != "policy" || c[1].first != "model" || c[2].first != "version" ||
      c[3].first != "items") {
    return Corrupt("context must be policy, model, version, items");
  }
  Impression out;
  out.user = record.user;
  out.recommendation_id = record.item;
  out.ts_ms = record.ts_ms;
  out.policy = c[0].second;
  out.model = c[1].second;
  const auto version = base::ParseInt64(c[2].second);
  if (!version.ok() || *version < 0) {
    return Corrupt("version '" + c[2].second + "'");
  }
  out.model_version = static_cast<uint64_t>(*version);
  std::string_view in = c[3].second;
  uint32_t count = 0;
  if (!wal::GetVarint32(&in, &count) || count == 0 || count > kMaxImpressionItems) {
    return Corrupt("item count");
  }
  out.items.resize(count);
  for (ShownItem& shown : out.items) {
    if (!wal::GetVarint32(&in, &shown.position) || !wal::GetLengthPrefixed(&in, &shown.item) ||
        !GetFloat(&in, &shown.propensity) || !GetFloat(&in, &shown.step)) {
      return Corrupt("truncated item");
    }
  }
  if (!in.empty()) {
    return Corrupt("trailing bytes after the items");
  }
  if (Status valid = ValidateImpression(out); !valid.ok()) {
    return Corrupt(valid.message());
  }
  return out;
}

}  // namespace flywheel::engine
