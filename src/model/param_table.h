// ParamTable<Options>: a model's parameters declared once, each with its name, type (integer,
// number, boolean, or a choice among named values), default (the value in a default-constructed
// Options), inclusive range and one line of documentation. The same table
//   - parses "--param MODEL.KEY=VALUE" strings into a typed Options (Parse),
//   - rejects unknown names (naming the parameter and listing the valid ones) and values out of
//     range (naming the parameter and the range),
//   - validates an Options built in code (Validate: the numeric ranges),
//   - writes the CLI help (`flywheel models`) and the tables of doc/params.md
//     (ModelParamsHelp, ModelParamsMarkdown in model/registry.h).
// Text rules: integers and numbers are read as decimal numbers ("1e5" is an integer, "2.5" is
// not); booleans are 0/1 or false/true; choices are one of the listed words.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "flywheel/result.h"
#include "flywheel/status.h"

namespace flywheel::model {

enum class ParamType { kInt, kDouble, kBool, kChoice };

std::string_view ParamTypeName(ParamType type);  // "int", "double", "bool", "choice"

// What a table says about one parameter, without the Options type (help, docs, tests).
struct ParamInfo {
  std::string name;
  ParamType type = ParamType::kDouble;
  double min = 0;                    // kInt, kDouble (kBool: 0)
  double max = 0;                    // kInt, kDouble (kBool: 1)
  std::vector<std::string> choices;  // kChoice
  std::string fallback;              // the default, as text
  std::string doc;                   // one line
};

// "[1, 4096]", "0|1", "sgd|adagrad|adam".
std::string ParamRangeText(const ParamInfo& info);
// Value text of a number as tables print it (%g).
std::string ParamNumberText(double value);

namespace param_internal {
// Parses `text` for `info` into a number (kChoice: the index of the choice), or an
// kInvalidArgument "model MODEL: parameter 'KEY' ..." naming the parameter and its range.
Result<double> ParseValue(const std::string& model, const ParamInfo& info, const std::string& text);
Status UnknownParam(const std::string& model, const std::string& key,
                    const std::vector<ParamInfo>& infos);
Status OutOfRange(const std::string& model, const ParamInfo& info, double value);
}  // namespace param_internal

template <class Options>
class ParamTable {
 public:
  explicit ParamTable(std::string model) : model_(std::move(model)) {}

  // `field` is a pointer to member (&Options::dim) or, for a nested field, a generic lambda
  // [](auto& o) -> auto& { return o.encoder.dim; }; T (the field's type) is any integer type.
  template <class Field>
  ParamTable& Int(const std::string& name, Field field, double min, double max,
                  const std::string& doc) {
    return Number(ParamType::kInt, name, field, min, max, doc);
  }
  // T is float or double.
  template <class Field>
  ParamTable& Double(const std::string& name, Field field, double min, double max,
                     const std::string& doc) {
    return Number(ParamType::kDouble, name, field, min, max, doc);
  }
  template <class Field>
  ParamTable& Bool(const std::string& name, Field field, const std::string& doc) {
    return Number(ParamType::kBool, name, field, 0, 1, doc);
  }
  // `choices`: text -> value of the field's type (an enum, bool, ...), in the order help lists.
  template <class Field, class T = std::remove_reference_t<std::invoke_result_t<Field, Options&>>>
  ParamTable& Choice(const std::string& name, Field field,
                     std::vector<std::pair<std::string, T>> choices, const std::string& doc) {
    Entry e;
    e.info.name = name;
    e.info.type = ParamType::kChoice;
    for (const auto& [text, value] : choices) {
      e.info.choices.push_back(text);
    }
    e.info.max = static_cast<double>(choices.size()) - 1;
    e.info.doc = doc;
    auto values =
        std::make_shared<const std::vector<std::pair<std::string, T>>>(std::move(choices));
    e.get = [field, values](const Options& o) {
      for (size_t i = 0; i < values->size(); ++i) {
        if ((*values)[i].second == std::invoke(field, o)) {
          return static_cast<double>(i);
        }
      }
      return -1.0;  // a value the table does not name
    };
    e.set = [field, values](Options* o, double index) {
      std::invoke(field, *o) = (*values)[static_cast<size_t>(index)].second;
    };
    Add(std::move(e));
    return *this;
  }

  const std::string& model() const { return model_; }
  const std::vector<ParamInfo>& infos() const { return infos_; }

  // Defaults, then every (key, value) of `params` in turn.
  Result<Options> Parse(const std::map<std::string, std::string>& params) const {
    Options o;
    for (const auto& [key, text] : params) {
      const Entry* e = Find(key);
      if (e == nullptr) {
        return param_internal::UnknownParam(model_, key, infos_);
      }
      FLYWHEEL_ASSIGN_OR_RETURN(double value, param_internal::ParseValue(model_, e->info, text));
      e->set(&o, value);
    }
    return o;
  }

  // Every field within its range (choices: one of the named values).
  Status Validate(const Options& o) const {
    for (const Entry& e : entries_) {
      const double value = e.get(o);
      if (!(value >= e.info.min && value <= e.info.max)) {
        return param_internal::OutOfRange(model_, e.info, value);
      }
    }
    return Status::Ok();
  }

  // (name, value text) in table order: numbers as ParamNumberText, choices as their word.
  std::vector<std::pair<std::string, std::string>> Values(const Options& o) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Entry& e : entries_) {
      out.emplace_back(e.info.name, Text(e, o));
    }
    return out;
  }

 private:
  struct Entry {
    ParamInfo info;
    std::function<double(const Options&)> get;
    std::function<void(Options*, double)> set;
  };

  template <class Field>
  ParamTable& Number(ParamType type, const std::string& name, Field field, double min, double max,
                     const std::string& doc) {
    using T = std::remove_reference_t<std::invoke_result_t<Field, Options&>>;
    static_assert(std::is_arithmetic_v<T>, "Int/Double/Bool need an arithmetic field");
    Entry e;
    e.info.name = name;
    e.info.type = type;
    e.info.min = min;
    e.info.max = max;
    e.info.doc = doc;
    e.get = [field](const Options& o) { return static_cast<double>(std::invoke(field, o)); };
    e.set = [field](Options* o, double value) {
      if constexpr (std::is_same_v<T, bool>) {
        std::invoke(field, *o) = value != 0;
      } else {
        std::invoke(field, *o) = static_cast<T>(value);
      }
    };
    Add(std::move(e));
    return *this;
  }

  void Add(Entry e) {
    e.info.fallback = Text(e, Options{});
    infos_.push_back(e.info);
    entries_.push_back(std::move(e));
  }

  static std::string Text(const Entry& e, const Options& o) {
    const double value = e.get(o);
    if (e.info.type == ParamType::kChoice) {
      return value >= 0 ? e.info.choices[static_cast<size_t>(value)] : "?";
    }
    return ParamNumberText(value);
  }

  const Entry* Find(const std::string& key) const {
    for (const Entry& e : entries_) {
      if (e.info.name == key) {
        return &e;
      }
    }
    return nullptr;
  }

  std::string model_;
  std::vector<Entry> entries_;
  std::vector<ParamInfo> infos_;
};

}  // namespace flywheel::model
