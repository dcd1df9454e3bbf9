// EmbeddingTable::SaveSnapshot / LoadSnapshot. Byte layout: doc/formats/embedding_table.md.
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "base/crc32c.h"
#include "embedding/embedding_table.h"

namespace flywheel::embedding {

static_assert(std::endian::native == std::endian::little,
              "the snapshot code writes native floats/integers: little-endian hosts only");

namespace {

constexpr char kMagic[8] = {'F', 'W', 'E', 'M', 'B', 'T', 'B', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kHeaderSize = 120;
constexpr uint32_t kRowsPerBlock = 256;

// Appends fixed-width little-endian values (native order, checked above).
class Encoder {
 public:
  template <typename T>
  void Put(T value) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    data_.append(bytes, sizeof(T));
  }
  void PutBytes(const void* bytes, size_t n) { data_.append(static_cast<const char*>(bytes), n); }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

// Reads fixed-width values from a buffer; the caller checked its size.
class Decoder {
 public:
  explicit Decoder(const char* data) : data_(data) {}
  template <typename T>
  T Get() {
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

 private:
  const char* data_;
  size_t pos_ = 0;
};

std::string EncodeHeader(const EmbeddingTableOptions& o, size_t state_floats, uint64_t rows,
                         uint32_t sketch_width, uint32_t sketch_depth) {
  Encoder e;
  e.PutBytes(kMagic, sizeof(kMagic));
  e.Put(kVersion);
  e.Put(kHeaderSize);
  e.Put(o.dim);
  e.Put(static_cast<uint32_t>(o.optimizer.kind));
  e.Put(static_cast<uint32_t>(state_floats));
  e.Put(o.admission_count);
  e.Put(rows);
  e.Put(kRowsPerBlock);
  e.Put(sketch_width);
  e.Put(sketch_depth);
  e.Put(uint32_t{0});
  e.Put(o.ttl_ms);
  e.Put(o.max_rows);
  e.Put(o.seed);
  for (float value : {o.init_std, o.optimizer.clip_norm, o.optimizer.adagrad_eps,
                      o.optimizer.adam_beta1, o.optimizer.adam_beta2, o.optimizer.adam_eps,
                      o.optimizer.ftrl_beta, o.optimizer.ftrl_l1, o.optimizer.ftrl_l2}) {
    e.Put(value);
  }
  e.Put(base::crc32c::Value(e.data().data(), e.data().size()));
  return e.data();
}

struct Header {
  EmbeddingTableOptions options;
  uint32_t state_floats = 0;
  uint64_t row_count = 0;
  uint32_t rows_per_block = 0;
};

Header DecodeHeaderFields(const char* bytes) {
  Decoder d(bytes + sizeof(kMagic) + 8);  // past magic, version, header_size
  Header h;
  EmbeddingTableOptions& o = h.options;
  o.dim = d.Get<uint32_t>();
  o.optimizer.kind = static_cast<OptimizerKind>(d.Get<uint32_t>());
  h.state_floats = d.Get<uint32_t>();
  o.admission_count = d.Get<uint32_t>();
  h.row_count = d.Get<uint64_t>();
  h.rows_per_block = d.Get<uint32_t>();
  o.sketch_width = d.Get<uint32_t>();
  o.sketch_depth = d.Get<uint32_t>();
  d.Get<uint32_t>();  // reserved
  o.ttl_ms = d.Get<int64_t>();
  o.max_rows = d.Get<uint64_t>();
  o.seed = d.Get<uint64_t>();
  for (float* field : {&o.init_std, &o.optimizer.clip_norm, &o.optimizer.adagrad_eps,
                       &o.optimizer.adam_beta1, &o.optimizer.adam_beta2, &o.optimizer.adam_eps,
                       &o.optimizer.ftrl_beta, &o.optimizer.ftrl_l1, &o.optimizer.ftrl_l2}) {
    *field = d.Get<float>();
  }
  return h;
}

bool AllFiniteFloats(const float* values, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(values[i])) {
      return false;
    }
  }
  return true;
}

}  // namespace

// A snapshot file being read: tracks the offset for error messages.
class SnapshotFile {
 public:
  SnapshotFile(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  ~SnapshotFile() { std::fclose(file_); }
  SnapshotFile(const SnapshotFile&) = delete;
  SnapshotFile& operator=(const SnapshotFile&) = delete;

  // Reads exactly n bytes; kCorruption "truncated <what>" on a short read.
  Status Read(void* buffer, size_t n, const std::string& what) {
    const size_t got = std::fread(buffer, 1, n, file_);
    if (got != n) {
      if (std::ferror(file_)) {
        return Status::IoError("embedding: read error in snapshot " + path_);
      }
      return Error("truncated " + what, offset_ + got);
    }
    offset_ += n;
    return Status::Ok();
  }
  // Reads n bytes followed by their u32 crc32c; kCorruption on mismatch.
  Status ReadChecked(void* buffer, size_t n, const std::string& what) {
    const uint64_t start = offset_;
    FLYWHEEL_RETURN_IF_ERROR(Read(buffer, n, what));
    uint32_t stored;
    FLYWHEEL_RETURN_IF_ERROR(Read(&stored, sizeof(stored), what + " checksum"));
    if (stored != base::crc32c::Value(buffer, n)) {
      return Error("crc mismatch in " + what, start);
    }
    return Status::Ok();
  }
  Status ExpectEnd() {
    if (std::fgetc(file_) != EOF) {
      return Error("trailing bytes after the sketch block", offset_);
    }
    return Status::Ok();
  }
  Status Error(const std::string& what, uint64_t offset) const {
    return Status::Corruption("embedding: snapshot " + path_ + ": " + what + " at offset " +
                              std::to_string(offset));
  }
  uint64_t offset() const { return offset_; }

 private:
  std::FILE* file_;
  std::string path_;
  uint64_t offset_ = 0;
};

namespace {

Status CheckHeaderSemantics(const Header& h, const SnapshotFile& file) {
  Status valid = ValidateEmbeddingTableOptions(h.options);
  if (!valid.ok()) {
    return file.Error("bad header option (" + valid.message() + ")", 0);
  }
  if (h.state_floats != OptimizerStateFloats(h.options.optimizer.kind, h.options.dim) ||
      h.rows_per_block == 0 || (h.options.max_rows > 0 && h.row_count > h.options.max_rows) ||
      (h.options.admission_count <= 1 && (h.options.sketch_width | h.options.sketch_depth) != 0)) {
    return file.Error("inconsistent header", 0);
  }
  return Status::Ok();
}

Result<Header> ReadHeader(SnapshotFile& file) {
  char bytes[kHeaderSize];
  FLYWHEEL_RETURN_IF_ERROR(file.Read(bytes, kHeaderSize, "header"));
  Decoder d(bytes + sizeof(kMagic));
  const uint32_t version = d.Get<uint32_t>();
  const uint32_t header_size = d.Get<uint32_t>();
  if (std::memcmp(bytes, kMagic, sizeof(kMagic)) != 0 || version != kVersion ||
      header_size != kHeaderSize) {
    return file.Error("bad magic, version or header size", 0);
  }
  uint32_t stored_crc;
  std::memcpy(&stored_crc, bytes + kHeaderSize - 4, sizeof(stored_crc));
  if (stored_crc != base::crc32c::Value(bytes, kHeaderSize - 4)) {
    return file.Error("header crc mismatch", 0);
  }
  Header header = DecodeHeaderFields(bytes);
  FLYWHEEL_RETURN_IF_ERROR(CheckHeaderSemantics(header, file));
  return header;
}

}  // namespace

Status EmbeddingTable::ReadRowsLocked(SnapshotFile& file, uint64_t row_count,
                                      uint32_t rows_per_block) {
  const size_t record_bytes = 16 + row_floats_ * sizeof(float);
  std::vector<char> block;
  std::vector<float> row(row_floats_);
  for (uint64_t done = 0, block_no = 0; done < row_count; ++block_no) {
    const uint64_t rows = std::min<uint64_t>(rows_per_block, row_count - done);
    block.resize(rows * record_bytes);
    const uint64_t start = file.offset();
    FLYWHEEL_RETURN_IF_ERROR(
        file.ReadChecked(block.data(), block.size(), "row block " + std::to_string(block_no)));
    for (uint64_t r = 0; r < rows; ++r) {
      Decoder d(block.data() + r * record_bytes);
      const uint64_t id = d.Get<uint64_t>();
      const auto last_seen = d.Get<int64_t>();
      std::memcpy(row.data(), block.data() + r * record_bytes + 16, row_floats_ * sizeof(float));
      const uint64_t offset = start + r * record_bytes;
      if (!AllFiniteFloats(row.data(), row_floats_)) {
        return file.Error("non-finite value in row", offset);
      }
      Status restored = RestoreRowLocked(id, last_seen, row.data());
      if (!restored.ok()) {
        return file.Error(restored.message(), offset);
      }
    }
    done += rows;
  }
  return Status::Ok();
}

Result<std::unique_ptr<EmbeddingTable>> EmbeddingTable::LoadSnapshot(const std::string& path) {
  std::FILE* raw = std::fopen(path.c_str(), "rb");
  if (raw == nullptr) {
    return Status::IoError("embedding: cannot open snapshot " + path);
  }
  return LoadFromFile(raw, path);
}

Result<std::unique_ptr<EmbeddingTable>> EmbeddingTable::LoadSnapshotBytes(std::string_view bytes,
                                                                          const std::string& what) {
  if (bytes.empty()) {
    return Status::Corruption("embedding: snapshot " + what + ": empty");
  }
  // fmemopen only reads the buffer; the cast drops const for its C signature.
  std::FILE* raw = ::fmemopen(const_cast<char*>(bytes.data()), bytes.size(), "rb");
  if (raw == nullptr) {
    return Status::IoError("embedding: fmemopen failed for " + what);
  }
  return LoadFromFile(raw, what);
}

Status EmbeddingTable::AppendSnapshot(std::string* out) const {
  char* data = nullptr;
  size_t size = 0;
  std::FILE* file = ::open_memstream(&data, &size);
  if (file == nullptr) {
    return Status::IoError("embedding: open_memstream failed");
  }
  Status written;
  {
    std::shared_lock lock(mu_);
    written = WriteSnapshotLocked(file);
  }
  const bool closed = std::fclose(file) == 0;
  if (written.ok() && closed) {
    out->append(data, size);
  }
  std::free(data);  // NOLINT(cppcoreguidelines-no-malloc): open_memstream's buffer
  if (!written.ok() || !closed) {
    return Status::IoError("embedding: in-memory snapshot failed");
  }
  return Status::Ok();
}

Result<std::unique_ptr<EmbeddingTable>> EmbeddingTable::LoadFromFile(std::FILE* raw,
                                                                     const std::string& path) {
  SnapshotFile file(raw, path);
  FLYWHEEL_ASSIGN_OR_RETURN(Header header, ReadHeader(file));
  std::unique_ptr<EmbeddingTable> table(new EmbeddingTable(header.options));
  std::unique_lock lock(table->mu_);
  FLYWHEEL_RETURN_IF_ERROR(table->ReadRowsLocked(file, header.row_count, header.rows_per_block));
  std::span<uint16_t> counters = table->sketch_.mutable_counters();
  FLYWHEEL_RETURN_IF_ERROR(
      file.ReadChecked(counters.data(), counters.size_bytes(), "sketch block"));
  FLYWHEEL_RETURN_IF_ERROR(file.ExpectEnd());
  lock.unlock();
  return table;
}

Status EmbeddingTable::WriteSnapshotLocked(std::FILE* file) const {
  const std::string header =
      EncodeHeader(options_, state_floats_, index_.size(), sketch_.width(), sketch_.depth());
  bool ok = std::fwrite(header.data(), 1, header.size(), file) == header.size();
  Encoder block;
  uint32_t rows_in_block = 0;
  auto flush = [&] {
    const uint32_t crc = base::crc32c::Value(block.data().data(), block.data().size());
    ok =
        ok && std::fwrite(block.data().data(), 1, block.data().size(), file) == block.data().size();
    ok = ok && std::fwrite(&crc, sizeof(crc), 1, file) == 1;
    block = Encoder();
    rows_in_block = 0;
  };
  for (uint32_t slot = 0; slot < slots(); ++slot) {
    if (slot_live_[slot] == 0) {
      continue;
    }
    block.Put(slot_ids_[slot]);
    block.Put(slot_last_seen_[slot]);
    block.PutBytes(RowLocked(slot), row_floats_ * sizeof(float));
    if (++rows_in_block == kRowsPerBlock) {
      flush();
    }
  }
  if (rows_in_block > 0) {
    flush();
  }
  block.PutBytes(sketch_.counters().data(), sketch_.counters().size_bytes());
  flush();
  return ok ? Status::Ok() : Status::IoError("embedding: write failed");
}

Status EmbeddingTable::SaveSnapshot(const std::string& path) const {
  const std::string tmp = path + ".tmp";
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (file == nullptr) {
    return Status::IoError("embedding: cannot create " + tmp);
  }
  Status written;
  {
    std::shared_lock lock(mu_);
    written = WriteSnapshotLocked(file);
  }
  const bool synced = std::fflush(file) == 0 && ::fsync(::fileno(file)) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!written.ok() || !synced || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError("embedding: cannot write snapshot " + path);
  }
  return Status::Ok();
}

}  // namespace flywheel::embedding
