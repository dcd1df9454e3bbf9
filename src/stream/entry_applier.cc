#include "stream/entry_applier.h"

#include <algorithm>
#include <span>

namespace flywheel::stream {
namespace {

bool RefusedOnItsMerits(const Status& st) {
  return st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kNotFound;
}

std::string Reason(const std::string& where, const std::string& field, const std::string& msg) {
  return where + (field.empty() ? "" : "." + field) + ": " + msg;
}

// One run of event entries [begin, end) as one Ingest (or one per entry when refused whole).
Status ApplyRun(Engine* engine, std::vector<DecodedEntry>* entries, const std::vector<bool>& skip,
                size_t begin, size_t end, AppliedEntries* out) {
  std::vector<Event> events;
  std::vector<size_t> entry_of;
  std::vector<size_t> index_in_entry;
  std::vector<bool> refused(end - begin, false);
  for (size_t e = begin; e < end; ++e) {
    if (skip[e]) {
      refused[e - begin] = true;
      continue;
    }
    for (size_t i = 0; i < (*entries)[e].events.size(); ++i) {
      events.push_back(std::move((*entries)[e].events[i]));
      entry_of.push_back(e);
      index_in_entry.push_back(i);
    }
  }
  for (const EventError& err : engine->Validate(events)) {
    const size_t e = entry_of[err.index];
    if (!refused[e - begin]) {
      refused[e - begin] = true;
      const std::string where = (*entries)[e].events.size() == 1 && index_in_entry[err.index] == 0
                                    ? "event"
                                    : "events[" + std::to_string(index_in_entry[err.index]) + "]";
      out->refused.emplace_back(e, Reason(where, err.field, err.message));
    }
  }
  std::vector<Event> good;
  std::vector<size_t> good_entry;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!refused[entry_of[i] - begin]) {
      good.push_back(std::move(events[i]));
      good_entry.push_back(entry_of[i]);
    }
  }
  if (good.empty()) {
    return Status::Ok();
  }
  const auto add = [&](const IngestResult& r) {
    out->accepted += r.accepted;
    out->duplicates += r.duplicates;
    out->last_seq = std::max(out->last_seq, r.accepted > 0 ? r.last_seq : 0);
  };
  Result<IngestResult> all = engine->Ingest(good);
  if (all.ok()) {
    add(*all);
    return Status::Ok();
  }
  if (all.status().code() != StatusCode::kInvalidArgument) {
    return all.status();
  }
  for (size_t i = 0; i < good.size();) {
    size_t j = i;
    while (j < good.size() && good_entry[j] == good_entry[i]) {
      ++j;
    }
    Result<IngestResult> one =
        engine->Ingest(std::span<const Event>(good.data() + i, good.data() + j));
    if (one.ok()) {
      add(*one);
    } else if (RefusedOnItsMerits(one.status())) {
      out->refused.emplace_back(good_entry[i], one.status().message());
    } else {
      return one.status();
    }
    i = j;
  }
  return Status::Ok();
}

Result<uint64_t> ApplyCatalog(Engine* engine, const CatalogEntry& c) {
  switch (c.kind) {
    case CatalogEntry::Kind::kPutItems: {
      FLYWHEEL_ASSIGN_OR_RETURN(const uint64_t first, engine->PutItems(c.items));
      return first + c.items.size() - 1;
    }
    case CatalogEntry::Kind::kDeleteItem:
      return engine->DeleteItem(c.id);
    case CatalogEntry::Kind::kPutUser:
      return engine->PutUser(c.user);
    case CatalogEntry::Kind::kForgetUser: {
      FLYWHEEL_ASSIGN_OR_RETURN(const ForgetResult forgotten, engine->ForgetUser(c.id));
      return forgotten.seq;
    }
  }
  return Status::Internal("unknown catalogue entry");
}

const char* CatalogField(CatalogEntry::Kind kind) {
  switch (kind) {
    case CatalogEntry::Kind::kPutItems:
      return "items";
    case CatalogEntry::Kind::kDeleteItem:
      return "delete_item";
    case CatalogEntry::Kind::kPutUser:
      return "user";
    case CatalogEntry::Kind::kForgetUser:
      return "forget_user";
  }
  return "";
}

}  // namespace

Result<AppliedEntries> ApplyEntries(Engine* engine, std::vector<DecodedEntry>* entries,
                                    const std::vector<bool>& skip) {
  AppliedEntries out;
  size_t e = 0;
  while (e < entries->size()) {
    if (!skip[e] && (*entries)[e].catalog) {
      Result<uint64_t> seq = ApplyCatalog(engine, *(*entries)[e].catalog);
      if (seq.ok()) {
        out.last_seq = std::max(out.last_seq, *seq);
        ++out.catalog;
      } else if (RefusedOnItsMerits(seq.status())) {
        out.refused.emplace_back(e, std::string(CatalogField((*entries)[e].catalog->kind)) + ": " +
                                        seq.status().message());
      } else {
        return seq.status();
      }
      ++e;
      continue;
    }
    size_t end = e;
    while (end < entries->size() && (skip[end] || !(*entries)[end].catalog)) {
      ++end;
    }
    FLYWHEEL_RETURN_IF_ERROR(ApplyRun(engine, entries, skip, e, end, &out));
    e = end;
  }
  return out;
}

}  // namespace flywheel::stream
