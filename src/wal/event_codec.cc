#include "wal/event_codec.h"

#include <bit>

#include "base/crc32c.h"
#include "wal/coding.h"
#include "wal/log_format.h"

namespace flywheel::wal {

namespace {
constexpr uint32_t kExtRecommendationId = 1;  // ext_flags bit 0: a recommendation id follows
}  // namespace

void EncodeEvent(uint64_t seq, const Event& event, std::string* out) {
  PutFixed64(out, seq);
  PutLengthPrefixed(out, event.user);
  PutLengthPrefixed(out, event.item);
  PutLengthPrefixed(out, event.type);
  PutFixed64(out, std::bit_cast<uint64_t>(event.value));
  PutFixed64(out, static_cast<uint64_t>(event.ts_ms));
  PutLengthPrefixed(out, event.id);
  PutVarint32(out, static_cast<uint32_t>(event.context.size()));
  for (const auto& [key, value] : event.context) {
    PutLengthPrefixed(out, key);
    PutLengthPrefixed(out, value);
  }
  // The extension (doc/formats/event_log.md, "Events naming a list"): absent when unused, so
  // such payloads are byte-identical to the ones written before it.
  if (!event.recommendation_id.empty()) {
    PutVarint32(out, kExtRecommendationId);
    PutLengthPrefixed(out, event.recommendation_id);
  }
}

namespace {

Status Truncated(std::string_view field) {
  return Status::Corruption("wal: event payload truncated or malformed in field '" +
                            std::string(field) + "'");
}

Status DecodeContext(std::string_view* in, KeyValues* context) {
  uint32_t count = 0;
  if (!GetVarint32(in, &count)) {
    return Truncated("context");
  }
  // Each entry needs at least two bytes, which bounds the allocation by the input size.
  if (count > kMaxContextEntries || count > in->size() / 2) {
    return Status::Corruption("wal: event payload has a bad context entry count " +
                              std::to_string(count));
  }
  context->resize(count);
  for (auto& [key, value] : *context) {
    if (!GetLengthPrefixed(in, &key) || !GetLengthPrefixed(in, &value)) {
      return Truncated("context");
    }
  }
  return Status::Ok();
}

// The optional extension after the context: ext_flags, then the fields its bits name.
Status DecodeExtension(std::string_view* in, Event* event) {
  if (in->empty()) {
    return Status::Ok();  // written before the extension, or nothing to extend
  }
  uint32_t flags = 0;
  if (!GetVarint32(in, &flags)) {
    return Truncated("ext_flags");
  }
  if ((flags & ~kExtRecommendationId) != 0) {
    return Status::Corruption("wal: event payload has unknown extension flags " +
                              std::to_string(flags));
  }
  if ((flags & kExtRecommendationId) != 0 &&
      (!GetLengthPrefixed(in, &event->recommendation_id) || event->recommendation_id.empty())) {
    return Truncated("recommendation_id");
  }
  return Status::Ok();
}

}  // namespace

Status DecodeEvent(std::string_view payload, LogRecord* out) {
  std::string_view in = payload;
  Event& event = out->event;
  uint64_t value_bits = 0;
  uint64_t ts_bits = 0;
  if (!GetFixed64(&in, &out->seq)) {
    return Truncated("seq");
  }
  if (!GetLengthPrefixed(&in, &event.user) || !GetLengthPrefixed(&in, &event.item) ||
      !GetLengthPrefixed(&in, &event.type)) {
    return Truncated("user/item/type");
  }
  if (!GetFixed64(&in, &value_bits) || !GetFixed64(&in, &ts_bits)) {
    return Truncated("value/ts");
  }
  event.value = std::bit_cast<double>(value_bits);
  event.ts_ms = static_cast<TimestampMs>(ts_bits);
  if (!GetLengthPrefixed(&in, &event.id)) {
    return Truncated("id");
  }
  FLYWHEEL_RETURN_IF_ERROR(DecodeContext(&in, &event.context));
  FLYWHEEL_RETURN_IF_ERROR(DecodeExtension(&in, &event));
  if (!in.empty()) {
    return Status::Corruption("wal: event payload has " + std::to_string(in.size()) +
                              " trailing bytes");
  }
  return Status::Ok();
}

Status AppendEventRecord(uint64_t seq, const Event& event, std::string* out) {
  const size_t start = out->size();
  out->append(kRecordHeaderSize, '\0');
  EncodeEvent(seq, event, out);
  const size_t payload_size = out->size() - start - kRecordHeaderSize;
  if (payload_size > kMaxRecordSize) {
    out->resize(start);
    return Status::InvalidArgument("wal: event " + std::to_string(seq) + " encodes to " +
                                   std::to_string(payload_size) + " bytes, more than the " +
                                   std::to_string(kMaxRecordSize) + " allowed");
  }
  char* header = out->data() + start;
  EncodeFixed32(header + 4, static_cast<uint32_t>(payload_size));
  header[8] = static_cast<char>(kEventType);
  EncodeFixed32(header, base::crc32c::Mask(base::crc32c::Value(header + 4, 5 + payload_size)));
  return Status::Ok();
}

std::string EncodeSegmentHeader(uint64_t first_seq) {
  std::string header(kSegmentMagic);
  PutFixed32(&header, kFormatVersion);
  PutFixed64(&header, first_seq);
  PutFixed32(&header, base::crc32c::Mask(base::crc32c::Value(header)));
  return header;
}

}  // namespace flywheel::wal
