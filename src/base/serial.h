// ByteWriter / ByteReader: little-endian binary encoding of model state for engine snapshots
// (doc/formats/snapshot.md). A writer appends to a std::string; a reader walks a byte span and
// turns every short read or bad length into kCorruption naming what was being read, so that a
// damaged snapshot is rejected with a clear message and never crashes the loader.
//
// Encoding: fixed-width little-endian integers and IEEE floats; a string or vector is a u64
// count followed by its elements. Models write a version number first and check it on load.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "flywheel/status.h"

namespace flywheel::base {

static_assert(std::endian::native == std::endian::little, "snapshots are little-endian");

class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}

  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    out_->append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void PutBytes(const void* data, size_t n) {
    if (n > 0) {
      out_->append(static_cast<const char*>(data), n);
    }
  }
  void PutString(std::string_view s) {
    Put<uint64_t>(s.size());
    out_->append(s.data(), s.size());
  }
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put<uint64_t>(v.size());
    PutBytes(v.data(), v.size() * sizeof(T));
  }
  size_t size() const { return out_->size(); }

 private:
  std::string* out_;
};

class ByteReader {
 public:
  ByteReader(std::string_view data, std::string what) : data_(data), what_(std::move(what)) {}

  template <typename T>
  Status Get(T* value, std::string_view field) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (remaining() < sizeof(T)) {
      return Truncated(field);
    }
    std::memcpy(value, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }
  Status GetBytes(void* out, size_t n, std::string_view field) {
    if (remaining() < n) {
      return Truncated(field);
    }
    if (n == 0) {
      return Status::Ok();  // `out` may be null (an empty vector's data())
    }
    std::memcpy(out, data_.data() + pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  // A view of the next n bytes (valid as long as the underlying data).
  Status GetView(size_t n, std::string_view* out, std::string_view field) {
    if (remaining() < n) {
      return Truncated(field);
    }
    *out = data_.substr(pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  Status GetString(std::string* s, std::string_view field) {
    uint64_t n = 0;
    if (Status st = Get(&n, field); !st.ok()) {
      return st;
    }
    if (n > remaining()) {
      return Truncated(field);
    }
    s->assign(data_.data() + pos_, n);
    pos_ += n;
    return Status::Ok();
  }
  template <typename T>
  Status GetVector(std::vector<T>* v, std::string_view field) {
    static_assert(std::is_trivially_copyable_v<T>);
    uint64_t n = 0;
    if (Status st = Get(&n, field); !st.ok()) {
      return st;
    }
    if (n > remaining() / sizeof(T)) {
      return Truncated(field);
    }
    v->resize(n);
    return GetBytes(v->data(), n * sizeof(T), field);
  }
  // kCorruption unless every byte was consumed.
  Status ExpectEnd() const {
    if (remaining() != 0) {
      return Status::Corruption(what_ + ": " + std::to_string(remaining()) +
                                " unexpected trailing bytes");
    }
    return Status::Ok();
  }
  // kCorruption "<what>: <message> at offset N".
  Status Error(std::string_view message) const {
    return Status::Corruption(what_ + ": " + std::string(message) + " at offset " +
                              std::to_string(pos_));
  }
  size_t remaining() const { return data_.size() - pos_; }
  size_t position() const { return pos_; }

 private:
  Status Truncated(std::string_view field) const {
    return Error("truncated " + std::string(field));
  }

  std::string_view data_;
  size_t pos_ = 0;
  std::string what_;
};

}  // namespace flywheel::base
