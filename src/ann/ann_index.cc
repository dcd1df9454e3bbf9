#include "ann/ann_index.h"

#include <cmath>
#include <string>

#include "ann/flat_index.h"
#include "ann/hnsw_index.h"

namespace flywheel::ann {

Status CheckVector(std::span<const float> vector, uint32_t dim, std::string_view what) {
  if (vector.size() != dim) {
    return Status::InvalidArgument("ann: " + std::string(what) + " has " +
                                   std::to_string(vector.size()) + " values, expected dim " +
                                   std::to_string(dim));
  }
  for (size_t i = 0; i < vector.size(); ++i) {
    if (!std::isfinite(vector[i])) {
      return Status::InvalidArgument("ann: " + std::string(what) + "[" + std::to_string(i) +
                                     "] is not finite");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<AnnIndex>> MakeAnnIndex(std::string_view kind, uint32_t dim,
                                               const AnnParams& params) {
  if (dim == 0) {
    return Status::InvalidArgument("ann: dim must be > 0");
  }
  if (kind == "flat") {
    return std::unique_ptr<AnnIndex>(std::make_unique<FlatIndex>(dim));
  }
  if (kind == "hnsw") {
    FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> index, HnswIndex::Create(dim, params));
    return std::unique_ptr<AnnIndex>(std::move(index));
  }
  return Status::InvalidArgument("ann: unknown index kind '" + std::string(kind) +
                                 "' (expected flat or hnsw)");
}

}  // namespace flywheel::ann
