// Writes the binary seed corpora of fuzz/corpus/ from the project's own encoders (no dataset
// involved): event log segments (LogWriter), event payloads (EncodeEvent), engine snapshots and
// their sections (LearnedState::Save), model states (SaveState after a small synthetic stream)
// and embedding tables. The text corpora are hand-written files.
//   build/clang-fuzz/bin/fuzz_make_seeds fuzz/corpus
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/random.h"
#include "base/rw_lock.h"
#include "base/serial.h"
#include "data/interaction.h"
#include "embedding/embedding_table.h"
#include "engine/learn/catalog.h"
#include "engine/learn/learned_state.h"
#include "engine/loop/impression_record.h"
#include "engine/store/snapshot_file.h"
#include "fuzz_util.h"
#include "io/env.h"
#include "model/registry.h"
#include "wal/event_codec.h"
#include "wal/log_format.h"
#include "wal/log_writer.h"

namespace flywheel::fuzz {
namespace {

namespace fs = std::filesystem;

std::string g_root;

void Seed(const std::string& target, const std::string& name, std::string_view bytes) {
  const std::string dir = g_root + "/" + target;
  fs::create_directories(dir);
  WriteFile(dir, name, bytes);
}

Event MakeEvent(int i) {
  Event e;
  e.user = "u" + std::to_string(i % 5);
  e.item = "i" + std::to_string(i % 7);
  e.type = i % 3 == 0 ? "purchase" : "view";
  e.value = 1.0 + i;
  e.ts_ms = 1700000000000 + 1000 * i;
  if (i % 2 == 0) {
    e.id = "e-" + std::to_string(i);
  }
  if (i % 4 == 0) {
    e.context = {{"device", "ios"}};
  }
  return e;
}

std::string ReadFile(const std::string& path) {
  std::string out;
  FUZZ_CHECK(io::ReadFileToString(io::Env::Default(), path, &out).ok(), path);
  return out;
}

// Log segments written by LogWriter: one, then two joined with kPartSeparator.
void LogSeeds() {
  for (int i = 0; i < 3; ++i) {
    std::string payload;
    wal::EncodeEvent(static_cast<uint64_t>(i + 1), MakeEvent(i), &payload);
    Seed("event_codec", "event-" + std::to_string(i), payload);
  }
  Event named = MakeEvent(3);  // with the "events naming a list" extension
  named.recommendation_id = "8c1f0e2a9b7d4c36";
  std::string payload;
  wal::EncodeEvent(4, named, &payload);
  Seed("event_codec", "event-recommendation-id", payload);
  const std::string dir = FreshDir() + "/log";
  wal::WriterOptions options;
  options.segment_bytes = 300;  // a few records per segment
  auto writer = wal::LogWriter::Open(io::Env::Default(), dir, options, 1);
  FUZZ_CHECK(writer.ok(), writer.status().ToString());
  for (int i = 0; i < 8; ++i) {  // one batch per event: segments roll between batches
    const Event event = MakeEvent(i);
    FUZZ_CHECK((*writer)->AppendBatch(static_cast<uint64_t>(i + 1), {&event, 1}).ok(), "append");
  }
  FUZZ_CHECK((*writer)->Close().ok(), "close");
  std::vector<std::string> segments;
  for (uint64_t n = 1; fs::exists(dir + "/" + wal::SegmentFileName(n)); ++n) {
    segments.push_back(ReadFile(dir + "/" + wal::SegmentFileName(n)));
  }
  FUZZ_CHECK(!segments.empty(), "no segment written");
  // The first byte of a log_reader input is start_seq.
  Seed("log_reader", "one-segment", "\x00" + segments[0]);
  if (segments.size() > 1) {
    Seed("log_reader", "two-segments",
         "\x00" + segments[0] + std::string(kPartSeparator) + segments[1]);
    Seed("log_reader", "two-segments-start-3",
         "\x03" + segments[0] + std::string(kPartSeparator) + segments[1]);
  }
  Seed("log_reader", "torn-tail", "\x00" + segments[0].substr(0, segments[0].size() - 5));
}

// A LearnedState with a few users, items, a catalogue record, a forgotten user and two open
// impressions (one answered).
void SnapshotSeeds() {
  engine::LearnedState state({ModelSpec{"pop", {}}, ModelSpec{"itemknn", {}}},
                             EventTypeTable::Default(), 50);
  std::vector<engine::SnapshotSection> sections;
  {
    base::WriterLock lock(&state.mu);
    FUZZ_CHECK(state.Reset().ok(), "reset");
    for (int i = 0; i < 20; ++i) {
      state.Apply(MakeEvent(i));
    }
    Item item;
    item.id = "i3";
    item.title = "Heat";
    item.categories = {"drama"};
    item.tags = {"1990s"};
    item.attributes = {{"year", "1995"}};
    state.Apply(engine::ItemPutRecord(item));
    state.Apply(engine::UserDeleteRecord("u2"));
    for (const char* user : {"u1", "u3"}) {
      Impression shown;
      shown.user = user;
      shown.recommendation_id = std::string("00000000000000a") + user[1];
      shown.ts_ms = MakeEvent(19).ts_ms;
      shown.items = {{"i1", 0, 0.9, 0.9}, {"i3", 1, 1.0, 1.0}};
      state.Apply(engine::ImpressionRecord(shown), 30);
    }
    Event click = MakeEvent(19);
    click.user = "u1";
    click.item = "i3";
    state.Apply(click);
  }
  {
    base::ReaderLock lock(&state.mu);
    FUZZ_CHECK(state.Save(42, &sections).ok(), "save");
  }
  Seed("snapshot_file", "learned-state", engine::EncodeSnapshot(42, sections));
  Seed("snapshot_file", "empty", engine::EncodeSnapshot(1, {}));
  // learned_state: the payloads in its order, joined with kPartSeparator.
  const char* order[] = {"meta",      "user_ids",     "item_ids",      "user_states",
                         "catalog",   "user_values",  "catalog_extra", "loop",
                         "model/pop", "model/itemknn"};
  std::string joined;
  for (size_t i = 0; i < std::size(order); ++i) {
    for (const engine::SnapshotSection& section : sections) {
      if (section.name == order[i]) {
        joined += (i == 0 ? "" : std::string(kPartSeparator)) + section.payload;
      }
    }
  }
  Seed("learned_state", "twenty-events", joined);
}

// Each model's state after a small synthetic stream (model_state: first byte = model index).
void ModelSeeds() {
  const std::pair<const char*, model::ModelParams> models[] = {
      {"pop", {}},
      {"recentpop", {}},
      {"itemknn", {}},
      {"bpr", {{"dim", "4"}}},
      {"twotower", {{"dim", "4"}}},
      {"sasrec", {{"dim", "4"}, {"heads", "1"}, {"max_len", "8"}}},
      {"default", {{"sasrec.dim", "4"}, {"sasrec.heads", "1"}, {"sasrec.max_len", "8"}}},
  };
  std::vector<data::Interaction> history;
  base::Rng rng(7);
  for (int n = 0; n < 60; ++n) {
    data::Interaction e;
    e.user = static_cast<UserIdx>(rng.Uniform(6));
    e.item = static_cast<ItemIdx>(rng.Uniform(9));
    e.ts_ms = 1000 * n;
    history.push_back(e);
  }
  for (size_t i = 0; i < std::size(models); ++i) {
    auto model = model::CreateRecommender(models[i].first, models[i].second);
    FUZZ_CHECK(model.ok(), model.status().ToString());
    for (int trained = 0; trained < 2; ++trained) {
      if (trained == 1 && !(*model)->Fit(history).ok()) {
        continue;
      }
      std::string state(1, static_cast<char>(i));
      base::ByteWriter out(&state);
      if (!(*model)->SaveState(&out).ok()) {
        continue;
      }
      Seed("model_state", std::string(models[i].first) + (trained ? "-trained" : "-fresh"), state);
    }
  }
}

// Sasrec deltas (model_delta: first byte bit 0 = content, bit 1 = bare payload): a trainer's
// full, rows and dense exports, whole and as bare payloads.
void DeltaSeeds() {
  for (int content = 0; content < 2; ++content) {
    model::ModelParams params = {{"dim", "4"},     {"heads", "1"},   {"blocks", "1"},
                                 {"max_len", "8"}, {"threads", "1"}, {"feature_buckets", "16"}};
    params["content"] = content != 0 ? "1" : "0";
    auto created = model::CreateRecommender("sasrec", params);
    FUZZ_CHECK(created.ok(), created.status().ToString());
    model::Recommender& trainer = **created;
    model::UserStateStore users;
    base::Rng rng(11);
    const char* kinds[] = {"full", "rows", "dense"};
    const model::DeltaScope scopes[] = {model::DeltaScope::kRows, model::DeltaScope::kRows,
                                        model::DeltaScope::kDense};
    for (int k = 0; k < 3; ++k) {
      for (int n = 0; n < 20; ++n) {
        data::Interaction e;
        e.user = static_cast<UserIdx>(rng.Uniform(4));
        e.item = static_cast<ItemIdx>(rng.Uniform(9));
        e.ts_ms = 1000 * (20 * k + n);
        trainer.Observe(e, users.Get(e.user));
        users.Get(e.user).Add(e);
      }
      std::string delta;
      base::ByteWriter w(&delta);
      model::DeltaInfo info;
      FUZZ_CHECK(trainer.ExportDelta(scopes[k], &w, &info).ok(), "export");
      const std::string name = std::string(kinds[k]) + (content != 0 ? "-content" : "");
      Seed("model_delta", name, std::string(1, static_cast<char>(content)) + delta);
      // The bare payload: after the u64 length, before the CRC.
      Seed("model_delta", name + "-payload",
           std::string(1, static_cast<char>(content | 2)) + delta.substr(8, delta.size() - 12));
    }
  }
}

void EmbeddingSeeds() {
  embedding::EmbeddingTableOptions options;
  options.dim = 4;
  auto table = embedding::EmbeddingTable::Create(options);
  FUZZ_CHECK(table.ok(), table.status().ToString());
  std::string empty;
  FUZZ_CHECK((*table)->AppendSnapshot(&empty).ok(), "save");
  Seed("embedding_snapshot", "empty", empty);
  const float grad[4] = {0.5f, -0.25f, 1.0f, 0.0f};
  for (uint64_t id = 1; id <= 5; ++id) {
    (*table)->ApplyGradient(id, grad, 0.1f, 1000 * static_cast<int64_t>(id));
  }
  std::string rows;
  FUZZ_CHECK((*table)->AppendSnapshot(&rows).ok(), "save");
  Seed("embedding_snapshot", "five-rows", rows);
}

}  // namespace
}  // namespace flywheel::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (fuzz/corpus)\n", argv[0]);
    return 2;
  }
  flywheel::fuzz::g_root = argv[1];
  flywheel::fuzz::LogSeeds();
  flywheel::fuzz::SnapshotSeeds();
  flywheel::fuzz::ModelSeeds();
  flywheel::fuzz::DeltaSeeds();
  flywheel::fuzz::EmbeddingSeeds();
  std::printf("seeds written under %s\n", argv[1]);
  return 0;
}
