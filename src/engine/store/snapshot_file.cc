#include "engine/store/snapshot_file.h"

#include <algorithm>
#include <cstring>

#include "base/crc32c.h"
#include "base/serial.h"

namespace flywheel::engine {
namespace {

constexpr char kMagic[8] = {'F', 'W', 'S', 'N', 'A', 'P', '0', '1'};
constexpr char kEndMagic[8] = {'F', 'W', 'S', 'N', 'E', 'N', 'D', '1'};
constexpr size_t kHeaderBytes = 32;
constexpr size_t kFooterBytes = 16;
constexpr uint32_t kMaxSections = 1u << 16;
constexpr uint32_t kMaxNameBytes = 256;

}  // namespace

std::optional<std::string_view> SnapshotView::Find(std::string_view name) const {
  for (const auto& [section, payload] : sections) {
    if (section == name) {
      return payload;
    }
  }
  return std::nullopt;
}

std::string EncodeSnapshot(uint64_t seq, std::span<const SnapshotSection> sections) {
  std::string out;
  base::ByteWriter w(&out);
  w.PutBytes(kMagic, sizeof(kMagic));
  w.Put<uint32_t>(kSnapshotVersion);
  w.Put<uint32_t>(static_cast<uint32_t>(sections.size()));
  w.Put<uint64_t>(seq);
  w.Put<uint32_t>(base::crc32c::Value(out.data(), out.size()));
  w.Put<uint32_t>(0);  // reserved
  for (const SnapshotSection& s : sections) {
    const size_t start = out.size();
    w.Put<uint32_t>(static_cast<uint32_t>(s.name.size()));
    w.PutBytes(s.name.data(), s.name.size());
    w.Put<uint64_t>(s.payload.size());
    w.PutBytes(s.payload.data(), s.payload.size());
    w.Put<uint32_t>(base::crc32c::Value(out.data() + start, out.size() - start));
  }
  w.PutBytes(kEndMagic, sizeof(kEndMagic));
  w.Put<uint64_t>(out.size() + sizeof(uint64_t));
  return out;
}

Result<SnapshotView> DecodeSnapshot(std::string_view bytes, const std::string& what) {
  base::ByteReader r(bytes, "snapshot " + what);
  if (bytes.size() < kHeaderBytes + kFooterBytes) {
    return r.Error("file of " + std::to_string(bytes.size()) + " bytes is too short");
  }
  if (std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    return r.Error("bad magic (not a Flywheel snapshot)");
  }
  // Footer first: a truncated file fails here with a clear message.
  const std::string_view footer = bytes.substr(bytes.size() - kFooterBytes);
  uint64_t total = 0;
  std::memcpy(&total, footer.data() + sizeof(kEndMagic), sizeof(total));
  if (std::memcmp(footer.data(), kEndMagic, sizeof(kEndMagic)) != 0 || total != bytes.size()) {
    return Status::Corruption("snapshot " + what + ": missing or bad footer (truncated file?)");
  }
  SnapshotView view;
  char magic[8];
  uint32_t version = 0;
  uint32_t count = 0;
  uint32_t header_crc = 0;
  uint32_t reserved = 0;
  FLYWHEEL_RETURN_IF_ERROR(r.GetBytes(magic, sizeof(magic), "magic"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&version, "version"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&count, "section count"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&view.seq, "sequence number"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&header_crc, "header checksum"));
  FLYWHEEL_RETURN_IF_ERROR(r.Get(&reserved, "reserved"));
  if (header_crc != base::crc32c::Value(bytes.data(), 24)) {
    return Status::Corruption("snapshot " + what + ": header checksum mismatch");
  }
  if (version != kSnapshotVersion) {
    return Status::Corruption("snapshot " + what + ": unsupported format version " +
                              std::to_string(version));
  }
  if (count > kMaxSections) {
    return r.Error("section count " + std::to_string(count) + " is too large");
  }
  const std::string_view body = bytes.substr(0, bytes.size() - kFooterBytes);
  base::ByteReader sections(body, "snapshot " + what);
  std::string_view skipped;
  FLYWHEEL_RETURN_IF_ERROR(sections.GetView(kHeaderBytes, &skipped, "header"));
  for (uint32_t i = 0; i < count; ++i) {
    const size_t start = sections.position();
    uint32_t name_len = 0;
    FLYWHEEL_RETURN_IF_ERROR(sections.Get(&name_len, "section name length"));
    if (name_len > kMaxNameBytes) {
      return sections.Error("section name length " + std::to_string(name_len));
    }
    std::string_view name;
    std::string_view payload;
    uint64_t payload_len = 0;
    uint32_t crc = 0;
    FLYWHEEL_RETURN_IF_ERROR(sections.GetView(name_len, &name, "section name"));
    FLYWHEEL_RETURN_IF_ERROR(sections.Get(&payload_len, "section length"));
    if (payload_len > sections.remaining()) {
      return sections.Error("section '" + std::string(name) + "' extends past the end");
    }
    FLYWHEEL_RETURN_IF_ERROR(sections.GetView(payload_len, &payload, "section payload"));
    const size_t end = sections.position();
    FLYWHEEL_RETURN_IF_ERROR(sections.Get(&crc, "section checksum"));
    if (crc != base::crc32c::Value(body.data() + start, end - start)) {
      return Status::Corruption("snapshot " + what + ": checksum mismatch in section '" +
                                std::string(name) + "' at offset " + std::to_string(start));
    }
    view.sections.emplace_back(std::string(name), payload);
  }
  FLYWHEEL_RETURN_IF_ERROR(sections.ExpectEnd());
  return view;
}

std::string SnapshotFileName(uint64_t seq) {
  std::string digits = std::to_string(seq);
  return "snap-" + std::string(20 - std::min<size_t>(20, digits.size()), '0') + digits + ".fws";
}

namespace {

std::optional<uint64_t> ParseNumberedName(std::string_view name, std::string_view suffix) {
  constexpr std::string_view kPrefix = "snap-";
  if (name.size() != kPrefix.size() + 20 + suffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(suffix)) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (char c : name.substr(kPrefix.size(), 20)) {
    if (c < '0' || c > '9' || seq > (UINT64_MAX - 9) / 10) {
      return std::nullopt;
    }
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

}  // namespace

std::optional<uint64_t> ParseSnapshotFileName(std::string_view name) {
  return ParseNumberedName(name, ".fws");
}

std::string SnapshotCopyFileName(uint64_t seq) {
  std::string name = SnapshotFileName(seq);
  return name.insert(name.size() - 4, ".copy");
}

std::optional<uint64_t> ParseSnapshotCopyFileName(std::string_view name) {
  return ParseNumberedName(name, ".copy.fws");
}

bool IsSnapshotTempFileName(std::string_view name) {
  return name.starts_with("snap-") && name.ends_with(".tmp");
}

Result<std::vector<uint64_t>> ListSnapshots(io::Env* env, const std::string& dir, bool copies) {
  std::vector<uint64_t> seqs;
  if (!env->FileExists(dir)) {
    return seqs;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  for (const std::string& name : names) {
    if (auto seq = copies ? ParseSnapshotCopyFileName(name) : ParseSnapshotFileName(name)) {
      seqs.push_back(*seq);
    }
  }
  std::sort(seqs.rbegin(), seqs.rend());
  return seqs;
}

Status WriteFileAtomically(io::Env* env, const std::string& dir, const std::string& name,
                           std::string_view bytes,
                           const std::function<Status(const std::string&)>& check) {
  const std::string path = io::JoinPath(dir, name);
  const std::string tmp = path + ".tmp";
  Status st = [&]() -> Status {
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<io::WritableFile> file, env->OpenWritable(tmp));
    FLYWHEEL_RETURN_IF_ERROR(file->Append(bytes));
    FLYWHEEL_RETURN_IF_ERROR(file->Sync());
    FLYWHEEL_RETURN_IF_ERROR(file->Close());
    if (check) {
      FLYWHEEL_RETURN_IF_ERROR(check(tmp));
    }
    return env->Rename(tmp, path);
  }();
  if (!st.ok()) {
    (void)env->RemoveFile(tmp);
    return st;
  }
  return env->SyncDir(dir);
}

}  // namespace flywheel::engine
