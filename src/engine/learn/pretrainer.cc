#include "engine/learn/pretrainer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <vector>

#include "data/interaction.h"
#include "model/registry.h"
#include "wal/log_reader.h"

namespace flywheel::engine {
namespace {

// Item content the catalogue kept (title, categories), as recovery gave it to the live model.
void GiveCatalogContent(const LearnedState& state, model::Recommender* fresh)
    REQUIRES_SHARED(state.mu) {
  for (ItemIdx i = 0; i < state.catalog.num_items(); ++i) {
    const ItemInfo* info = state.catalog.item(i);
    if (info != nullptr && info->has_content) {
      Item item;
      item.id = state.item_ids.external(i);
      item.title = info->title;
      for (uint32_t c : info->categories) {
        item.categories.push_back(state.catalog.category(c));
      }
      item.created_ms = info->created_ms;
      fresh->SetItemContent(i, item);
    }
  }
}

// Reads the log through `result->through_seq`: the interactions of users still known, and the full
// item records (given to `fresh` in log order).
Status ReadHistory(const PretrainInputs& in, const LearnedState& state, model::Recommender* fresh,
                   std::vector<data::Interaction>* history, PretrainResult* result)
    REQUIRES_SHARED(state.mu) {
  wal::ReaderOptions reader_options;
  reader_options.tolerate_corruption = in.skip_corruption;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<wal::LogReader> reader,
                            wal::LogReader::Open(in.env, in.wal_dir, reader_options));
  wal::LogRecord record;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (!more || record.seq > result->through_seq) {
      break;
    }
    if (result->first_seq == 0) {
      result->first_seq = record.seq;
    }
    const Event& event = record.event;
    if (event.type == kItemPutType) {
      Result<Item> item = DecodeItemPut(event);
      const std::optional<uint32_t> idx = item.ok() ? state.item_ids.Find(item->id) : std::nullopt;
      if (idx) {
        fresh->SetItemContent(*idx, *item);
      }
      continue;
    }
    if (IsControl(event)) {
      continue;
    }
    const std::optional<uint32_t> user = state.user_ids.Find(event.user);
    const std::optional<uint32_t> item = state.item_ids.Find(event.item);
    const Result<EventTypeId> type = state.types().Find(event.type);
    if (!user || !item || !type.ok()) {
      ++result->skipped;
      continue;
    }
    data::Interaction x;
    x.user = *user;
    x.item = *item;
    x.ts_ms = event.ts_ms;
    x.value = static_cast<float>(event.value);
    x.weight = state.types().Weight(*type, event.value);
    x.type = *type;
    x.rating = state.types().IsRating(*type);
    history->push_back(x);
  }
  std::stable_sort(
      history->begin(), history->end(),
      [](const data::Interaction& a, const data::Interaction& b) { return a.ts_ms < b.ts_ms; });
  return Status::Ok();
}

}  // namespace

Status PretrainModel(const PretrainInputs& in, size_t which, const Learner& learner,
                     LearnedState* state, VectorIndexer* indexer, PretrainResult* result) {
  if (!state->model_learning()) {
    return Status::FailedPrecondition("engine: a delta replica's models come from its trainer");
  }
  base::WriterLock lock(&state->mu);
  result->through_seq = learner.applied_seq();
  const ModelSpec& spec = state->specs()[which];
  result->model = spec.name;
  FLYWHEEL_ASSIGN_OR_RETURN(
      std::unique_ptr<model::Recommender> fresh,
      model::CreateRecommender(spec.name,
                               model::ModelParams(spec.params.begin(), spec.params.end())));
  GiveCatalogContent(*state, fresh.get());
  std::vector<data::Interaction> history;
  FLYWHEEL_RETURN_IF_ERROR(ReadHistory(in, *state, fresh.get(), &history, result));
  result->events = history.size();
  const auto start = std::chrono::steady_clock::now();
  FLYWHEEL_RETURN_IF_ERROR(fresh->Fit(history));
  result->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state->ReplaceModel(which, std::move(fresh));
  indexer->MarkAllDirty(which, state->item_ids.size());
  return Status::Ok();
}

}  // namespace flywheel::engine
