// Sasrec's delta decoder (Recommender::ApplyDelta; src/model/sasrec_delta.cc, doc/stream.md
// "Delta mode") on a replica model (learning off) that has seen a small stream. The first byte:
// bit 0 content features on, bit 1 the rest is a bare payload that the target wraps with its
// length and a correct CRC32C (so the decoder behind the checksum is reached), else the rest is
// taken as it comes. Never a crash; a refused delta leaves the model's state as it was; an
// accepted one leaves a model that saves, recommends and exports.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "base/serial.h"
#include "fuzz_util.h"
#include "model/sasrec.h"

namespace {

using flywheel::model::Sasrec;

std::unique_ptr<Sasrec> Replica(bool content) {
  flywheel::model::SasrecOptions o;
  o.encoder.dim = 4;
  o.encoder.heads = 1;
  o.encoder.blocks = 1;
  o.encoder.max_len = 8;
  o.threads = 1;
  o.content = content;
  o.feature_buckets = 16;
  auto model = Sasrec::Create(o);
  FUZZ_CHECK(model.ok(), model.status().ToString());
  (*model)->SetLearning(false);
  flywheel::model::UserStateStore users;
  for (int n = 0; n < 30; ++n) {
    flywheel::data::Interaction e;
    e.user = static_cast<flywheel::UserIdx>(n % 4);
    e.item = static_cast<flywheel::ItemIdx>((n * 7) % 9);
    e.ts_ms = 1000 * n;
    (*model)->Observe(e, users.Get(e.user));
    users.Get(e.user).Add(e);
  }
  return std::move(model).value();
}

std::string State(const Sasrec& model) {
  std::string bytes;
  flywheel::base::ByteWriter w(&bytes);
  FUZZ_CHECK(model.SaveState(&w).ok(), "save");
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const bool content = (data[0] & 1) != 0;
  std::string input(flywheel::fuzz::AsText(data + 1, size - 1));
  if ((data[0] & 2) != 0) {
    std::string wrapped;
    flywheel::base::ByteWriter w(&wrapped);
    w.PutString(input);
    w.Put<uint32_t>(flywheel::base::crc32c::Value(input));
    input = std::move(wrapped);
  }
  std::unique_ptr<Sasrec> model = Replica(content);
  const std::string before = State(*model);
  flywheel::base::ByteReader in(input, "fuzz");
  std::vector<flywheel::ItemIdx> changed;
  const flywheel::Status st = model->ApplyDelta(&in, &changed);
  if (!st.ok()) {
    FUZZ_CHECK(State(*model) == before, "a refused delta changed the model: " + st.ToString());
    FUZZ_CHECK(changed.empty(), "a refused delta reported changed items");
    return 0;
  }
  for (flywheel::ItemIdx item : changed) {
    FUZZ_CHECK(item < model->num_items(), "a changed item beyond the model's rows");
  }
  (void)State(*model);
  flywheel::model::UserState user;
  flywheel::data::Interaction e;
  e.item = 1;
  user.Add(e);
  flywheel::model::RecommendRequest request;
  request.user = 0;
  request.user_state = &user;
  std::vector<flywheel::model::ScoredItem> out;
  model->Recommend(request, &out);
  std::string exported;
  flywheel::base::ByteWriter w(&exported);
  flywheel::model::DeltaInfo info;
  FUZZ_CHECK(model->ExportDelta(flywheel::model::DeltaScope::kFull, &w, &info).ok(), "export");
  return 0;
}
