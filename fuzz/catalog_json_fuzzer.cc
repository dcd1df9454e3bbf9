// The catalogue routes' bodies (data/catalog_json.h): PUT /v1/items/{id} and PUT /v1/users/{id}.
// Never a crash; what is accepted passes ValidateItem / ValidateUser.
#include <cstddef>
#include <cstdint>

#include "data/catalog_json.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = flywheel::fuzz::AsText(data, size);
  const auto item = flywheel::data::ParseItemJson("i1", text);
  if (item.ok()) {
    FUZZ_CHECK(flywheel::data::ValidateItem(*item).ok(), "accepted item is invalid");
  }
  const auto user = flywheel::data::ParseUserJson("u1", text);
  if (user.ok()) {
    FUZZ_CHECK(flywheel::data::ValidateUser(*user).ok(), "accepted user is invalid");
  }
  return 0;
}
