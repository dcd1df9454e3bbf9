#include "eval/options.h"

#include <string>

#include "base/strings.h"

namespace flywheel::eval {

Result<Protocol> ParseProtocol(std::string_view text) {
  if (text == "prequential" || text == "P") {
    return Protocol::kPrequential;
  }
  if (text == "loo" || text == "L" || text == "leave-last-out") {
    return Protocol::kLeaveLastOut;
  }
  if (text == "temporal" || text == "T") {
    return Protocol::kTemporal;
  }
  return Status::InvalidArgument("unknown protocol '" + std::string(text) +
                                 "' (known: prequential, loo, temporal)");
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kPrequential:
      return "prequential";
    case Protocol::kLeaveLastOut:
      return "loo";
    case Protocol::kTemporal:
      return "temporal";
  }
  return "?";
}

namespace {

Result<int64_t> ParsePeriodMs(std::string_view text) {
  if (text == "hourly") {
    return int64_t{3600000};
  }
  if (text == "daily") {
    return int64_t{86400000};
  }
  if (text == "weekly") {
    return int64_t{7 * 86400000LL};
  }
  if (text.size() >= 2) {
    const char unit = text.back();
    const int64_t scale = unit == 's'   ? 1000
                          : unit == 'm' ? 60000
                          : unit == 'h' ? 3600000
                          : unit == 'd' ? 86400000
                                        : 0;
    auto number = base::ParseDouble(text.substr(0, text.size() - 1));
    if (scale != 0 && number.ok() && *number > 0) {
      return static_cast<int64_t>(*number * static_cast<double>(scale));
    }
  }
  return Status::InvalidArgument("update: bad retrain period '" + std::string(text) +
                                 "' (use e.g. daily, hourly, weekly, 12h, 3d, 600s)");
}

}  // namespace

Result<UpdateMode> UpdateMode::Parse(std::string_view text) {
  UpdateMode mode;
  if (text == "online") {
    return mode;
  }
  if (text == "frozen") {
    mode.kind = Kind::kFrozen;
    return mode;
  }
  if (text.substr(0, 8) == "retrain:") {
    mode.kind = Kind::kRetrain;
    FLYWHEEL_ASSIGN_OR_RETURN(mode.period_ms, ParsePeriodMs(text.substr(8)));
    return mode;
  }
  return Status::InvalidArgument("unknown update mode '" + std::string(text) +
                                 "' (known: online, frozen, retrain:<period>)");
}

std::string UpdateMode::ToString() const {
  switch (kind) {
    case Kind::kOnline:
      return "online";
    case Kind::kFrozen:
      return "frozen";
    case Kind::kRetrain:
      return "retrain:" + std::to_string(period_ms / 1000) + "s";
  }
  return "?";
}

Result<PositiveFilter> PositiveFilter::Parse(std::string_view text, const EventTypeTable& types) {
  PositiveFilter filter;
  filter.text_ = std::string(text);
  if (text == "all") {
    return filter;
  }
  if (text.substr(0, 8) == "rating>=") {
    filter.kind_ = Kind::kRating;
    auto threshold = base::ParseDouble(text.substr(8));
    if (!threshold.ok()) {
      return threshold.status().WithPrefix("positive filter 'rating>=X'");
    }
    filter.min_rating_ = *threshold;
    FLYWHEEL_ASSIGN_OR_RETURN(filter.rating_type_, types.Find("rating"));
    for (size_t id = 0; id < types.size(); ++id) {
      filter.type_positive_.push_back(types.type(static_cast<EventTypeId>(id)).positive);
    }
    return filter;
  }
  if (text.substr(0, 6) == "types:") {
    filter.kind_ = Kind::kTypes;
    for (std::string_view name : base::Split(text.substr(6), ',')) {
      auto id = types.Find(base::Trim(name));
      if (!id.ok()) {
        return id.status().WithPrefix("positive filter");
      }
      filter.types_.insert(*id);
    }
    return filter;
  }
  return Status::InvalidArgument("unknown positive filter '" + std::string(text) +
                                 "' (use all, rating>=X or types:a,b,c)");
}

bool PositiveFilter::Accept(const data::Interaction& event) const {
  switch (kind_) {
    case Kind::kAll:
      return event.weight > 0;
    case Kind::kRating:
      if (event.type == rating_type_) {
        return event.value >= min_rating_;
      }
      return event.type < type_positive_.size() && type_positive_[event.type];
    case Kind::kTypes:
      return types_.count(event.type) != 0;
  }
  return false;
}

}  // namespace flywheel::eval
