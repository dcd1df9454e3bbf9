#include "eval/harness.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include <sys/utsname.h>
#include <unistd.h>

#include "eval/protocols.h"
#include "flywheel_commit.h"
#include "model/registry.h"

namespace flywheel::eval {
namespace internal {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

double SecondsSince(int64_t start_ns) {
  return static_cast<double>(NowNs() - start_ns) * 1e-9;
}

void AddRatingError(const ProtocolContext& ctx, const model::Recommender& model,
                    const data::Interaction& event, RatingErrorAccumulator* acc) {
  if (event.type != ctx.rating_type) {
    return;
  }
  const std::optional<float> predicted = model.PredictRating(event.user, event.item);
  if (predicted.has_value()) {
    acc->Add(*predicted, event.value);
  }
}

void RatingErrorJson(const RatingErrorAccumulator& acc, nlohmann::json* result) {
  if (acc.count() == 0) {
    return;
  }
  (*result)["metrics"]["rmse"] = acc.rmse();
  (*result)["metrics"]["mae"] = acc.mae();
  (*result)["rated"] = acc.count();
}

void DeliverItemContent(const data::Dataset& dataset, size_t from, size_t to,
                        model::Recommender* model) {
  to = std::min(to, dataset.item_meta.size());
  for (size_t i = from; i < to; ++i) {
    if (!dataset.item_meta[i].id.empty()) {
      model->SetItemContent(static_cast<ItemIdx>(i), dataset.item_meta[i]);
    }
  }
}

nlohmann::json ParamsJson(const model::Recommender& model) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [key, value] : model.params()) {
    params[key] = value;
  }
  return params;
}

}  // namespace internal

namespace {

std::string MachineDescription() {
  std::string cpu;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  struct utsname names {};
  ::uname(&names);
  return cpu + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores, " + names.sysname +
         " " + names.machine;
}

}  // namespace

Result<std::vector<ModelEntry>> MakeModelEntries(const std::vector<ModelSpec>& specs) {
  std::vector<ModelEntry> entries;
  for (const ModelSpec& spec : specs) {
    FLYWHEEL_RETURN_IF_ERROR(model::CreateRecommender(spec.name, spec.params).status());
    entries.push_back(ModelEntry{
        spec.name, [spec]() { return model::CreateRecommender(spec.name, spec.params); }, spec});
  }
  return entries;
}

Result<nlohmann::json> RunEvaluation(const data::Dataset& dataset,
                                     const std::vector<ModelEntry>& models,
                                     const EvalOptions& options) {
  if (options.k <= 0 || options.k > 10000) {
    return Status::InvalidArgument("eval: k must be in [1, 10000]");
  }
  if (options.warmup < 0 || options.warmup >= 1) {
    return Status::InvalidArgument("eval: warmup must be in [0, 1)");
  }
  if (options.split <= 0 || options.split >= 1) {
    return Status::InvalidArgument("eval: split must be in (0, 1)");
  }
  const std::string positive_text =
      options.positive.empty() ? dataset.default_positive : options.positive;
  FLYWHEEL_ASSIGN_OR_RETURN(PositiveFilter positive,
                            PositiveFilter::Parse(positive_text, dataset.types));
  const int64_t start = internal::NowNs();
  nlohmann::json doc;
  doc["dataset"] = dataset.name;
  doc["protocol"] = std::string(ProtocolName(options.protocol));
  doc["k"] = options.k;
  doc["filters"] = {{"exclude_seen", options.exclude_seen},
                    {"positive", positive.text()},
                    {"rating_threshold", dataset.types.rating_threshold()}};
  doc["warmup"] = options.warmup;
  doc["events_total"] = dataset.events.size();
  doc["events_scored"] = 0;
  doc["users"] = dataset.users.size();
  doc["items"] = dataset.num_items_with_events;
  doc["notes"] = dataset.notes;
  doc["results"] = nlohmann::json::array();
  internal::ProtocolContext ctx{&dataset, &options, &positive};
  if (auto rating = dataset.types.Find("rating"); rating.ok()) {
    ctx.rating_type = *rating;
  }
  for (const ModelEntry& model : models) {
    Status status;
    switch (options.protocol) {
      case Protocol::kPrequential:
        status = internal::RunPrequential(ctx, model, &doc);
        break;
      case Protocol::kLeaveLastOut:
        status = internal::RunLeaveLastOut(ctx, model, &doc);
        break;
      case Protocol::kTemporal:
        status = internal::RunTemporal(ctx, model, &doc);
        break;
    }
    FLYWHEEL_RETURN_IF_ERROR(status.WithPrefix("eval: model " + model.name));
  }
  doc["commit"] = FLYWHEEL_GIT_COMMIT;
  doc["machine"] = MachineDescription();
  if (options.timing) {
    doc["seconds"] = internal::SecondsSince(start);
  }
  return doc;
}

}  // namespace flywheel::eval
