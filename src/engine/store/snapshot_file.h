// Engine snapshot files (doc/formats/snapshot.md): a header, named sections each with its own
// CRC32C, and a footer with the total length. Encoding and decoding are pure functions; writing
// goes through io::Env (temp file, fdatasync, rename, directory fsync).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"

#include "io/env.h"

namespace flywheel::engine {

inline constexpr uint32_t kSnapshotVersion = 1;

struct SnapshotSection {
  std::string name;
  std::string payload;
};

struct SnapshotView {
  uint64_t seq = 0;
  std::vector<std::pair<std::string, std::string_view>> sections;  // views into the file bytes

  // The payload of section `name`, or nullopt.
  std::optional<std::string_view> Find(std::string_view name) const;
};

std::string EncodeSnapshot(uint64_t seq, std::span<const SnapshotSection> sections);
// kCorruption naming `what` and the byte offset on any damage (magic, version, lengths, CRCs,
// truncation, trailing bytes).
Result<SnapshotView> DecodeSnapshot(std::string_view bytes, const std::string& what);

// "snap-<seq, 20 digits>.fws" and its inverse (nullopt for other names).
std::string SnapshotFileName(uint64_t seq);
std::optional<uint64_t> ParseSnapshotFileName(std::string_view name);

// "snap-<seq, 20 digits>.copy.fws": the second copy of a purge snapshot (the snapshot written
// after a user deletion, when no older snapshot or log may be kept); and its inverse.
std::string SnapshotCopyFileName(uint64_t seq);
std::optional<uint64_t> ParseSnapshotCopyFileName(std::string_view name);
// True for "snap-*.tmp": a snapshot (or copy) whose atomic write did not finish.
bool IsSnapshotTempFileName(std::string_view name);

// Sequence numbers of the snapshot files in `dir`, newest first (missing dir: none). With
// `copies`, those of the copies (snap-*.copy.fws) instead.
Result<std::vector<uint64_t>> ListSnapshots(io::Env* env, const std::string& dir,
                                            bool copies = false);

// Writes `bytes` to dir/name atomically: dir/name.tmp, fdatasync, close, `check(tmp path)` when
// given (e.g. read the file back and decode it), rename, fsync dir. On error (also from `check`)
// the temp file is removed (best effort) and an existing dir/name is untouched.
Status WriteFileAtomically(io::Env* env, const std::string& dir, const std::string& name,
                           std::string_view bytes,
                           const std::function<Status(const std::string&)>& check = nullptr);

}  // namespace flywheel::engine
