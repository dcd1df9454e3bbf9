#include "wal/log_reader.h"

#include <algorithm>
#include <cstring>

#include "base/crc32c.h"
#include "wal/coding.h"
#include "wal/log_format.h"

namespace flywheel::wal {
namespace {

constexpr uint64_t kNotFound = UINT64_MAX;
// Block size assumed for zero-filled space after a power loss (the smallest sector size).
constexpr uint64_t kZeroBlock = 512;

// Why the segment header at the start of `buffer` is bad; empty when it is good.
std::string CheckHeader(const std::string& buffer) {
  if (buffer.size() < kSegmentHeaderSize) {
    return "segment header truncated (" + std::to_string(buffer.size()) + " bytes)";
  }
  if (std::string_view(buffer.data(), 4) != kSegmentMagic) {
    return "bad segment magic";
  }
  if (base::crc32c::Unmask(DecodeFixed32(buffer.data() + 16)) !=
      base::crc32c::Value(buffer.data(), 16)) {
    return "segment header checksum mismatch";
  }
  const uint32_t version = DecodeFixed32(buffer.data() + 4);
  if (version != kFormatVersion) {
    return "unsupported format version " + std::to_string(version);
  }
  if (DecodeFixed64(buffer.data() + 8) == 0) {
    return "bad first sequence number 0";
  }
  return "";
}

// The first_seq of the segment at `path` from its header; 0 when it cannot be read or is bad.
uint64_t SegmentFirstSeq(io::Env* env, const std::string& path) {
  auto file = env->OpenSequential(path);
  if (!file.ok()) {
    return 0;
  }
  std::string header(kSegmentHeaderSize, '\0');
  auto n = (*file)->Read(header.size(), header.data());
  if (!n.ok() || *n != header.size() || !CheckHeader(header).empty()) {
    return 0;
  }
  return DecodeFixed64(header.data() + 8);
}

}  // namespace

Result<std::unique_ptr<LogReader>> LogReader::Open(io::Env* env, const std::string& dir,
                                                   const ReaderOptions& options) {
  std::vector<Segment> segments;
  Result<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok() && names.status().code() != StatusCode::kNotFound) {
    return names.status();
  }
  for (const std::string& name : names.value_or({})) {
    uint64_t number = 0;
    if (ParseSegmentFileName(name, &number)) {
      segments.push_back({number, io::JoinPath(dir, name)});
    }
  }
  std::sort(segments.begin(), segments.end(),
            [](const Segment& a, const Segment& b) { return a.number < b.number; });
  // Segments wholly before start_seq are not read: damage in a segment that a snapshot already
  // covers must not block recovery from that snapshot.
  // The newest segment whose header is good and starts at or before start_seq is the first read.
  size_t skip = 0;
  for (size_t i = segments.size(); options.start_seq > 1 && i-- > 1;) {
    const uint64_t first = SegmentFirstSeq(env, segments[i].path);
    if (first != 0 && first <= options.start_seq) {
      skip = i;
      break;
    }
  }
  segments.erase(segments.begin(), segments.begin() + static_cast<ptrdiff_t>(skip));
  return std::unique_ptr<LogReader>(new LogReader(env, std::move(segments), options));
}

LogReader::LogReader(io::Env* env, std::vector<Segment> segments, const ReaderOptions& options)
    : env_(env), segments_(std::move(segments)), options_(options) {}

std::string LogReader::Where(uint64_t offset) const {
  return "offset " + std::to_string(offset) + " in " + segments_[index_].path;
}

Result<bool> LogReader::Next(LogRecord* out) {
  for (;;) {
    if (!loaded_) {
      if (index_ >= segments_.size()) {
        report_.next_seq = expected_ == 0 ? 1 : expected_;
        return false;
      }
      FLYWHEEL_RETURN_IF_ERROR(LoadSegment());
      continue;
    }
    if (pos_ >= buffer_.size()) {
      loaded_ = false;
      buffer_.clear();
      ++index_;
      continue;
    }
    uint64_t size = 0;
    const std::string reason = ParseRecordAt(pos_, out, &size);
    if (!reason.empty()) {
      FLYWHEEL_RETURN_IF_ERROR(HandleBadSpot(pos_, reason));
      continue;
    }
    bool skip = false;
    FLYWHEEL_RETURN_IF_ERROR(CheckSequence(out->seq, pos_, &skip));
    pos_ += size;
    if (skip || out->seq < options_.start_seq) {
      continue;
    }
    ++report_.records_returned;
    return true;
  }
}

Status LogReader::LoadSegment() {
  ++report_.segments;
  FLYWHEEL_RETURN_IF_ERROR(io::ReadFileToString(env_, segments_[index_].path, &buffer_));
  loaded_ = true;
  pos_ = 0;
  if (is_last()) {
    report_.tail_file = segments_[index_].path;
  }
  return ParseHeader();
}

Status LogReader::ParseHeader() {
  const std::string reason = CheckHeader(buffer_);
  if (!reason.empty()) {
    return HandleBadSpot(0, reason);
  }
  pos_ = kSegmentHeaderSize;
  const uint64_t first_seq = DecodeFixed64(buffer_.data() + 8);
  if (expected_ == 0 && options_.start_seq > 0 && first_seq > options_.start_seq) {
    return Status::Corruption("wal: events missing: the log starts at seq " +
                              std::to_string(first_seq) + " (" + segments_[index_].path +
                              ") but reading from seq " + std::to_string(options_.start_seq) +
                              " was requested");
  }
  if (!report_.damage.empty() && report_.damage.back().last_lost_seq == 0 && expected_ != 0) {
    report_.damage.back().last_lost_seq = first_seq - 1;  // the damage ran to a segment's end
  }
  if (expected_ != 0 && first_seq != expected_) {
    const std::string message = "wal: sequence gap between segments: expected seq " +
                                std::to_string(expected_) + ", " + segments_[index_].path +
                                " starts at " + std::to_string(first_seq);
    if (!options_.tolerate_corruption) {
      return Status::Corruption(message);
    }
    ++report_.sequence_gaps;
    report_.messages.push_back(message);
  }
  expected_ = first_seq;
  return Status::Ok();
}

std::string LogReader::ParseRecordAt(uint64_t offset, LogRecord* out, uint64_t* size) const {
  const uint64_t avail = buffer_.size() - offset;
  if (avail < kRecordHeaderSize) {
    return "truncated record header (" + std::to_string(avail) + " bytes)";
  }
  const char* p = buffer_.data() + offset;
  const uint32_t length = DecodeFixed32(p + 4);
  const auto type = static_cast<uint8_t>(p[8]);
  if (type == kZeroType) {
    return "zero-filled space (record type 0)";
  }
  if (type != kEventType) {
    return "unknown record type " + std::to_string(type);
  }
  if (length == 0 || length > kMaxRecordSize) {
    return "bad record length " + std::to_string(length);
  }
  if (length > avail - kRecordHeaderSize) {
    return "record extends past end of file (length " + std::to_string(length) + ")";
  }
  if (base::crc32c::Unmask(DecodeFixed32(p)) != base::crc32c::Value(p + 4, 5 + length)) {
    return "checksum mismatch";
  }
  const Status decoded = DecodeEvent(std::string_view(p + kRecordHeaderSize, length), out);
  if (!decoded.ok()) {
    return decoded.message();
  }
  *size = kRecordHeaderSize + length;
  return "";
}

uint64_t LogReader::FindGoodRecord(uint64_t from) const {
  const uint64_t size = buffer_.size();
  for (uint64_t offset = from; offset + kRecordHeaderSize <= size; ++offset) {
    // Candidates need type byte 1 at offset + 8: jump straight to the next such byte.
    const void* hit = std::memchr(buffer_.data() + offset + 8, kEventType, size - offset - 8);
    if (hit == nullptr) {
      return kNotFound;
    }
    offset = static_cast<uint64_t>(static_cast<const char*>(hit) - buffer_.data()) - 8;
    uint64_t record_size = 0;
    if (ParseRecordAt(offset, &scratch_, &record_size).empty() && scratch_.seq >= expected_) {
      return offset;
    }
  }
  return kNotFound;
}

bool LogReader::IsTornWrite(uint64_t offset) const {
  const uint64_t size = buffer_.size();
  const uint64_t avail = size - offset;
  if (avail < kRecordHeaderSize) {
    return true;  // a partial record header
  }
  // Zero-filled space: a power loss can leave whole blocks of unsynced data as zeros, from a
  // block boundary to the end of the file.
  uint64_t zeros_from = size;
  while (zeros_from > offset && buffer_[zeros_from - 1] == '\0') {
    --zeros_from;
  }
  const uint64_t boundary = (zeros_from + kZeroBlock - 1) / kZeroBlock * kZeroBlock;
  if (zeros_from == offset || (size - zeros_from >= 8 && boundary < size)) {
    return true;
  }
  // A partial record: a plausible header whose payload runs past the end of the file, unless
  // the bytes to the end form the whole record with a damaged length field (its checksum covers
  // the length: recompute it with the length the file allows).
  const char* p = buffer_.data() + offset;
  const uint32_t length = DecodeFixed32(p + 4);
  if (static_cast<uint8_t>(p[8]) != kEventType || length == 0 || length > kMaxRecordSize ||
      length <= avail - kRecordHeaderSize) {
    return false;  // a complete record, or a header no writer produced: damage
  }
  const uint64_t rest = avail - kRecordHeaderSize;
  if (rest == 0 || rest > kMaxRecordSize) {
    return true;
  }
  char fixed[4];
  EncodeFixed32(fixed, static_cast<uint32_t>(rest));
  uint32_t crc = base::crc32c::Value(fixed, 4);
  crc = base::crc32c::Extend(crc, p + 8, 1 + rest);
  return base::crc32c::Unmask(DecodeFixed32(p)) != crc;
}

Damage LogReader::DescribeDamage(uint64_t offset, uint64_t resume, uint64_t resume_seq,
                                 const std::string& reason) const {
  Damage d;
  d.file = segments_[index_].path;
  d.offset = offset;
  d.bytes = resume - offset;
  d.reason = reason;
  d.first_lost_seq = expected_ == 0 ? 0 : expected_;
  d.last_lost_seq = resume_seq == 0 ? 0 : resume_seq - 1;
  // Ids of damaged records whose payload still decodes (a flipped checksum or length byte).
  for (uint64_t at = offset; at + kRecordHeaderSize <= resume && at >= kSegmentHeaderSize;) {
    const char* p = buffer_.data() + at;
    const uint32_t length = DecodeFixed32(p + 4);
    if (static_cast<uint8_t>(p[8]) != kEventType || length == 0 ||
        length > resume - at - kRecordHeaderSize) {
      break;
    }
    LogRecord record;
    if (DecodeEvent(std::string_view(p + kRecordHeaderSize, length), &record).ok() &&
        !record.event.id.empty()) {
      d.lost_ids.push_back(record.event.id);
    }
    at += kRecordHeaderSize + length;
  }
  return d;
}

Status LogReader::HandleBadSpot(uint64_t offset, const std::string& reason) {
  const bool header = pos_ == 0 && offset == 0;
  const uint64_t next = FindGoodRecord(header ? 0 : offset + 1);
  const uint64_t size = buffer_.size();
  // Nothing valid after the damage in the last segment: what a crash leaves (a power loss may
  // also leave unsynced blocks as garbage, so a complete-looking last record can be torn too). It
  // is cut and reported; after a clean close the durable mark refuses the shorter log instead.
  if (is_last() && next == kNotFound) {
    const bool complete = !header && !IsTornWrite(offset);
    report_.tail_truncated = true;
    report_.tail_header_torn = header;
    report_.tail_valid_bytes = offset;
    report_.tail_dropped_bytes = size - offset;
    report_.messages.push_back("wal: torn tail: cut " + segments_[index_].path + " at offset " +
                               std::to_string(offset) + ", " + std::to_string(size - offset) +
                               " bytes dropped (" + reason +
                               (complete ? "; a complete last record was damaged, seq " +
                                               std::to_string(expected_) + " if it held one"
                                         : "") +
                               ")");
    pos_ = size;
    return Status::Ok();
  }
  const uint64_t resume = next == kNotFound ? size : next;
  Damage damage = DescribeDamage(offset, resume, next == kNotFound ? 0 : scratch_.seq, reason);
  std::string what =
      reason + " at " + Where(offset) + ", " + std::to_string(resume - offset) + " bytes damaged";
  if (next != kNotFound) {
    what += " (valid records follow: not a torn tail)";
  }
  if (damage.first_lost_seq != 0) {
    what += "; events from seq " + std::to_string(damage.first_lost_seq) +
            (damage.last_lost_seq != 0 ? " to " + std::to_string(damage.last_lost_seq) : "") +
            " are affected";
  }
  if (!options_.tolerate_corruption) {
    return Status::Corruption("wal: " + what);
  }
  ++report_.corruptions_skipped;
  report_.bytes_skipped += resume - offset;
  report_.messages.push_back("wal: skipped " + what);
  report_.damage.push_back(std::move(damage));
  pos_ = resume;
  return Status::Ok();
}

Status LogReader::CheckSequence(uint64_t seq, uint64_t offset, bool* skip) {
  if (expected_ != 0 && seq != expected_) {
    const std::string message = std::string("wal: sequence ") +
                                (seq < expected_ ? "repeat" : "gap") + " at " + Where(offset) +
                                ": expected seq " + std::to_string(expected_) + ", found " +
                                std::to_string(seq);
    if (!options_.tolerate_corruption) {
      return Status::Corruption(message);
    }
    ++report_.sequence_gaps;
    report_.messages.push_back(message);
    if (seq < expected_) {
      *skip = true;
      return Status::Ok();
    }
  }
  if (report_.first_seq == 0) {
    report_.first_seq = seq;
  }
  report_.last_seq = seq;
  expected_ = seq + 1;
  return Status::Ok();
}

Status TruncateTail(io::Env* env, const std::string& dir, const ReadReport& report) {
  if (!report.tail_truncated) {
    return Status::Ok();
  }
  if (report.tail_header_torn) {
    FLYWHEEL_RETURN_IF_ERROR(env->RemoveFile(report.tail_file));
    return env->SyncDir(dir);
  }
  return env->Truncate(report.tail_file, report.tail_valid_bytes);
}

Status CollectEventIds(io::Env* env, const std::string& dir, const ReaderOptions& options,
                       std::unordered_set<std::string>* ids, ReadReport* report) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader, LogReader::Open(env, dir, options));
  LogRecord record;
  for (;;) {
    FLYWHEEL_ASSIGN_OR_RETURN(const bool more, reader->Next(&record));
    if (!more) {
      break;
    }
    if (!record.event.id.empty()) {
      ids->insert(record.event.id);
    }
  }
  if (report != nullptr) {
    *report = reader->report();
  }
  return Status::Ok();
}

}  // namespace flywheel::wal
