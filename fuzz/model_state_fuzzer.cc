// Every model's state decoder (Recommender::LoadState; model/*_state.cc, doc/models/): the first
// byte picks the model (pop, recentpop, itemknn, bpr, twotower, sasrec, default; small dimensions),
// the rest is its snapshot section. Never a crash; a state that loads saves (SaveState) and that
// state loads into a fresh model.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/serial.h"
#include "fuzz_util.h"
#include "model/registry.h"

namespace {

struct ModelChoice {
  const char* name;
  flywheel::model::ModelParams params;
};

std::unique_ptr<flywheel::model::Recommender> Create(const ModelChoice& choice) {
  auto model = flywheel::model::CreateRecommender(choice.name, choice.params);
  FUZZ_CHECK(model.ok(), std::string("cannot create ") + choice.name);
  return std::move(model).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static const ModelChoice kModels[] = {
      {"pop", {}},
      {"recentpop", {}},
      {"itemknn", {}},
      {"bpr", {{"dim", "4"}}},
      {"twotower", {{"dim", "4"}}},
      {"sasrec", {{"dim", "4"}, {"heads", "1"}, {"max_len", "8"}}},
      {"default", {{"sasrec.dim", "4"}, {"sasrec.heads", "1"}, {"sasrec.max_len", "8"}}},
  };
  const ModelChoice& choice = kModels[data[0] % std::size(kModels)];
  std::unique_ptr<flywheel::model::Recommender> model = Create(choice);
  flywheel::base::ByteReader in(flywheel::fuzz::AsText(data + 1, size - 1), "fuzz");
  if (!model->LoadState(&in).ok() || !in.ExpectEnd().ok()) {
    return 0;
  }
  std::string saved;
  flywheel::base::ByteWriter out(&saved);
  const flywheel::Status save = model->SaveState(&out);
  FUZZ_CHECK(save.ok(), "a loaded model does not save: " + save.ToString());
  std::unique_ptr<flywheel::model::Recommender> fresh = Create(choice);
  flywheel::base::ByteReader again(saved, "fuzz saved");
  const flywheel::Status reload = fresh->LoadState(&again);
  FUZZ_CHECK(reload.ok(), "the saved state does not load: " + reload.ToString());
  return 0;
}
