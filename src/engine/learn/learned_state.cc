#include "engine/learn/learned_state.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/serial.h"
#include "data/interaction.h"
#include "engine/config.h"
#include "engine/loop/impression_record.h"
#include "model/registry.h"

namespace flywheel::engine {

using nlohmann::json;

Status CreateModels(const std::vector<ModelSpec>& specs,
                    std::vector<std::unique_ptr<model::Recommender>>* out) {
  out->clear();
  for (const ModelSpec& spec : specs) {
    model::ModelParams params(spec.params.begin(), spec.params.end());
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<model::Recommender> m,
                              model::CreateRecommender(spec.name, params));
    out->push_back(std::move(m));
  }
  return Status::Ok();
}

namespace {

// Engine::Open refused bad loop options already (ValidateLoopLearning).
ImpressionLearnerOptions LearnerOptions(const LoopOptions& loop) {
  Result<ImpressionLearnerOptions> options = ImpressionLearnerOptionsFrom(loop);
  return options.ok() ? *options : ImpressionLearnerOptions{};
}

}  // namespace

LearnedState::LearnedState(std::vector<ModelSpec> specs, const EventTypeTable& types,
                           size_t user_history, const LoopOptions& loop, bool model_learning)
    : users(user_history),
      attributor(loop, types),
      impression_learner(LearnerOptions(loop)),
      reward_ranker(RewardRankerOptionsFrom(loop)),
      specs_(std::move(specs)),
      types_(types),
      user_history_(user_history),
      loop_(loop),
      model_learning_(model_learning) {
  for (const ModelSpec& spec : specs_) {
    model_names_.push_back(spec.name);
  }
  impression_learner.SetSource(&models, &users);
  reward_ranker.SetSource({&catalog, &models, &model_names_, &users});
  // The impression listeners (closed_impression.h), called in this order when a list closes.
  for (ImpressionListener* listener : learning_listeners()) {
    attributor.AddListener(listener);
  }
}

Status LearnedState::Reset() {
  user_ids = data::IdMap();
  item_ids = data::IdMap();
  users = model::UserStateStore(user_history_);
  catalog = Catalog();
  trending = TrendingLists();
  forgotten_users = 0;
  forgets_applied = 0;
  last_event_ms = 0;
  impression_learner.Reset();
  reward_ranker.Reset();
  attributor.Reset();
  FLYWHEEL_RETURN_IF_ERROR(ValidateAttributionOptions(loop_, types_));
  FLYWHEEL_RETURN_IF_ERROR(CreateModels(specs_, &models));
  for (const auto& m : models) {
    m->SetLearning(model_learning_);
  }
  return Status::Ok();
}

namespace {

Result<base::ByteReader> Section(const SnapshotView& view, const std::string& name,
                                 const std::string& section) {
  auto payload = view.Find(section);
  if (!payload) {
    return Status::Corruption("snapshot " + name + ": missing section '" + section + "'");
  }
  return base::ByteReader(*payload, "snapshot " + name + " section " + section);
}

// Loads section `section` into `target` (anything with Status Load(ByteReader*)), whole.
template <typename T>
Status LoadSection(const SnapshotView& view, const std::string& name, const std::string& section,
                   T* target) {
  FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader r, Section(view, name, section));
  FLYWHEEL_RETURN_IF_ERROR(target->Load(&r));
  return r.ExpectEnd();
}

}  // namespace

Status LearnedState::Load(const SnapshotView& view, const std::string& name) {
  {
    FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader meta, Section(view, name, "meta"));
    std::string text;
    FLYWHEEL_RETURN_IF_ERROR(meta.GetString(&text, "meta"));
    json doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.contains("models")) {
      return Status::Corruption("snapshot " + name + ": bad meta section");
    }
    FLYWHEEL_ASSIGN_OR_RETURN(std::vector<ModelSpec> stored, ModelsFromJson(doc["models"]));
    if (!SameModels(stored, specs_)) {
      return Status::FailedPrecondition("snapshot " + name + " was written for models " +
                                        DescribeModels(stored));
    }
    if (doc.contains("last_event_ms") && doc["last_event_ms"].is_number_integer()) {
      last_event_ms = doc["last_event_ms"].get<TimestampMs>();
    }
  }
  FLYWHEEL_RETURN_IF_ERROR(LoadSection(view, name, "user_ids", &user_ids));
  FLYWHEEL_RETURN_IF_ERROR(LoadSection(view, name, "item_ids", &item_ids));
  FLYWHEEL_RETURN_IF_ERROR(LoadSection(view, name, "user_states", &users));
  FLYWHEEL_RETURN_IF_ERROR(LoadSection(view, name, "catalog", &catalog));
  // Sections added later: snapshots written before them load without (values unknown, no
  // tags or attributes, interaction counts from the snapshot on).
  if (view.Find("user_values")) {
    FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader r, Section(view, name, "user_values"));
    FLYWHEEL_RETURN_IF_ERROR(users.LoadValues(&r));
    FLYWHEEL_RETURN_IF_ERROR(r.ExpectEnd());
  }
  if (view.Find("catalog_extra")) {
    FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader r, Section(view, name, "catalog_extra"));
    FLYWHEEL_RETURN_IF_ERROR(catalog.LoadExtra(&r));
    FLYWHEEL_RETURN_IF_ERROR(r.ExpectEnd());
  }
  // Learning from impressions (doc/loop.md sections 5, 6): optional (older snapshots: fresh).
  if (view.Find("loop_learner")) {
    FLYWHEEL_RETURN_IF_ERROR(LoadSection(view, name, "loop_learner", &impression_learner));
  }
  if (view.Find("loop_reward")) {
    FLYWHEEL_RETURN_IF_ERROR(LoadSection(view, name, "loop_reward", &reward_ranker));
  }
  if (view.Find("loop")) {  // impressions (absent before them: none open, counters from 0)
    FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader r, Section(view, name, "loop"));
    FLYWHEEL_RETURN_IF_ERROR(attributor.Load(&r, user_ids.size(), item_ids.size()));
    FLYWHEEL_RETURN_IF_ERROR(r.ExpectEnd());
  } else {
    attributor.Reset();
  }
  forgotten_users = 0;
  for (UserIdx u = 0; u < user_ids.size(); ++u) {
    forgotten_users += user_ids.forgotten(u) ? 1 : 0;
  }
  if (users.size() > user_ids.size()) {
    return Status::Corruption("snapshot " + name + ": more user states than users");
  }
  for (size_t i = 0; i < models.size(); ++i) {
    FLYWHEEL_ASSIGN_OR_RETURN(base::ByteReader r, Section(view, name, "model/" + specs_[i].name));
    FLYWHEEL_RETURN_IF_ERROR(models[i]->LoadState(&r));
    FLYWHEEL_RETURN_IF_ERROR(r.ExpectEnd());
  }
  return Status::Ok();
}

Status LearnedState::Save(uint64_t seq, std::vector<SnapshotSection>* sections) const {
  auto add = [&](std::string name) -> std::string* {
    sections->push_back(SnapshotSection{std::move(name), {}});
    return &sections->back().payload;
  };
  {
    const json meta = {{"models", ModelsToJson(specs_)},
                       {"seq", seq},
                       {"last_event_ms", last_event_ms},
                       {"users", user_ids.size()},
                       {"items", item_ids.size()}};
    base::ByteWriter w(add("meta"));
    w.PutString(meta.dump());
  }
  {
    base::ByteWriter w(add("user_ids"));
    user_ids.Save(&w);
  }
  {
    base::ByteWriter w(add("item_ids"));
    item_ids.Save(&w);
  }
  {
    base::ByteWriter w(add("user_states"));
    users.Save(&w);
  }
  {
    base::ByteWriter w(add("catalog"));
    catalog.Save(&w);
  }
  {
    base::ByteWriter w(add("user_values"));
    users.SaveValues(&w);
  }
  {
    base::ByteWriter w(add("catalog_extra"));
    catalog.SaveExtra(&w);
  }
  {
    base::ByteWriter w(add("loop_learner"));
    impression_learner.Save(&w);
  }
  {
    base::ByteWriter w(add("loop_reward"));
    reward_ranker.Save(&w);
  }
  {
    base::ByteWriter w(add("loop"));
    attributor.Save(&w);
  }
  for (size_t i = 0; i < models.size(); ++i) {
    base::ByteWriter w(add("model/" + specs_[i].name));
    FLYWHEEL_RETURN_IF_ERROR(models[i]->SaveState(&w));
  }
  return Status::Ok();
}

LearnedState::Applied LearnedState::Apply(const Event& event, uint64_t seq) {
  Applied applied = IsControl(event) ? ApplyControl(event, seq) : ApplyEvent(event);
  applied.moved = impression_learner.TakeMoved();  // closes may follow any record
  return applied;
}

LearnedState::Applied LearnedState::ApplyEvent(const Event& event) {
  const EventTypeId type = types_.Find(event.type).value();  // validated before logging
  data::Interaction x;
  x.user = user_ids.GetOrAdd(event.user);
  const size_t items_before = item_ids.size();
  x.item = item_ids.GetOrAdd(event.item);
  x.ts_ms = event.ts_ms;
  x.value = static_cast<float>(event.value);
  x.weight = types_.Weight(type, event.value);
  x.type = type;
  x.rating = types_.IsRating(type);
  model::UserState& user = users.Get(x.user);
  const bool new_item = item_ids.size() != items_before;
  if (new_item) {
    catalog.EnsureItem(x.item, event.ts_ms);
  }
  catalog.CountEvent(x.item, x.weight, event.ts_ms);
  for (auto& m : models) {
    if (new_item) {
      m->SetItemContent(x.item, Item{event.item, {}, {}, {}, {}, 0});
    }
    m->Observe(x, user);
  }
  user.Add(x);
  last_event_ms = std::max(last_event_ms, event.ts_ms);
  attributor.OnEvent(event, x.user, x.item, type);  // after the models: closes may follow
  return Applied{x.item, {}, {}};
}

LearnedState::Applied LearnedState::ApplyControl(const Event& record, uint64_t seq) {
  if (record.type == kImpressionType) {
    return ApplyImpression(record, seq);
  }
  if (record.type == kImpressionCloseType) {
    attributor.CloseDue(record.ts_ms);
    return Applied{};
  }
  if (record.type == kItemPutType) {
    Result<Item> item = DecodeItemPut(record);
    if (!item.ok()) {
      return Applied{kNoItem, "engine: skipped a control record: " + item.status().ToString(), {}};
    }
    const ItemIdx idx = item_ids.GetOrAdd(item->id);
    // First seen: the log's event time (the item's creation time before any event).
    catalog.PutItem(idx, *item, last_event_ms > 0 ? last_event_ms : item->created_ms);
    for (auto& m : models) {
      m->SetItemContent(idx, *item);
    }
    return Applied{idx, {}, {}};
  }
  if (record.type == kItemDeleteType) {
    catalog.DeleteItem(item_ids.GetOrAdd(record.item));
  } else if (record.type == kUserPutType) {
    Result<User> user = DecodeUserPut(record);
    if (!user.ok()) {
      return Applied{kNoItem, "engine: skipped a control record: " + user.status().ToString(), {}};
    }
    catalog.PutUser(user_ids.GetOrAdd(user->id), std::move(user->attributes));
  } else if (record.type == kUserDeleteType) {
    ++forgets_applied;
    const std::optional<uint32_t> idx = user_ids.Find(record.user);
    if (!idx) {
      return Applied{};
    }
    users.Clear(*idx);
    attributor.ForgetUser(*idx);
    for (auto& m : models) {
      m->ForgetUser(*idx);
    }
    catalog.ForgetUser(*idx);
    reward_ranker.ForgetUser(*idx);
    user_ids.Forget(*idx);
    ++forgotten_users;
  }
  return Applied{};
}

LearnedState::Applied LearnedState::ApplyImpression(const Event& record, uint64_t seq) {
  Result<Impression> impression = DecodeImpression(record);
  if (!impression.ok()) {
    attributor.CountBadRecord();
    return Applied{
        kNoItem, "engine: skipped a control record: " + impression.status().ToString(), {}};
  }
  // A user first seen in an impression is known from now on (like a user put); an item unknown
  // to the maps stays kNoItem (the API refuses such lists; only a foreign log has them).
  const UserIdx user = user_ids.GetOrAdd(impression->user);
  std::vector<ItemIdx> items;
  items.reserve(impression->items.size());
  for (const ShownItem& shown : impression->items) {
    items.push_back(item_ids.Find(shown.item).value_or(kNoItem));
  }
  attributor.OnImpression(seq, *impression, user, items);
  return Applied{};
}

void LearnedState::RebuildTrending(const PipelineOptions& options) {
  const size_t per_list = static_cast<size_t>(std::max(options.trending_candidates, 1)) + 100;
  TrendingLists lists;
  {
    // Shared: requests go on meanwhile; the learner (the only writer) is this thread.
    base::ReaderLock lock(&mu);
    lists = TrendingLists::Build(catalog, last_event_ms, options.new_item_window_ms, per_list);
  }
  base::WriterLock lock(&mu);
  trending = std::move(lists);
}

Result<size_t> LearnedState::ModelIndex(const std::string& name) const {
  if (name.empty()) {
    return size_t{0};
  }
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) {
      return i;
    }
  }
  return Status::InvalidArgument("field 'model': '" + name + "' is not configured in this engine")
      .WithField("model");
}

void LearnedState::ReplaceModel(size_t which, std::unique_ptr<model::Recommender> fresh) {
  retired_models_.push_back(std::move(models[which]));
  models[which] = std::move(fresh);
}

}  // namespace flywheel::engine
