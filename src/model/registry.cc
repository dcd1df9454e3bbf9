#include "model/registry.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "base/strings.h"
#include "model/baselines.h"
#include "model/blend.h"
#include "model/bpr.h"
#include "model/sasrec.h"
#include "model/twotower.h"

namespace flywheel::model {
namespace {

using Factory = std::function<Result<std::unique_ptr<Recommender>>(const ModelParams&)>;

struct ModelEntry {
  std::string name;
  std::vector<ParamInfo> params;
  Factory create;
};

// Parses with `table`, then `make(options)` (a Recommender or a Result of one).
template <class Options, class Make>
ModelEntry Entry(const ParamTable<Options>& table, Make make) {
  return {table.model(), table.infos(),
          [&table, make](const ModelParams& params) -> Result<std::unique_ptr<Recommender>> {
            FLYWHEEL_ASSIGN_OR_RETURN(Options options, table.Parse(params));
            return make(options);
          }};
}

template <class Model, class Options>
Result<std::unique_ptr<Recommender>> CreateChecked(const Options& options) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::Create(options));
  return std::unique_ptr<Recommender>(std::move(model));
}

struct NoOptions {};

// "default" (model/blend.h): its own parameters, and "CHILD.KEY" ones routed to its arms.
Result<std::unique_ptr<Recommender>> CreateBlend(const ModelParams& params) {
  static const std::vector<std::string> kChildren = {"sasrec", "itemknn", "pop"};
  ModelParams own;
  std::map<std::string, ModelParams> child_params;
  for (const auto& [key, value] : params) {
    const size_t dot = key.find('.');
    if (dot == std::string::npos) {
      own[key] = value;
      continue;
    }
    const std::string child = key.substr(0, dot);
    if (std::find(kChildren.begin(), kChildren.end(), child) == kChildren.end()) {
      return Status::InvalidArgument("model default: parameter '" + key +
                                     "' names no arm (arms: sasrec, itemknn, pop)");
    }
    child_params[child][key.substr(dot + 1)] = value;
  }
  FLYWHEEL_ASSIGN_OR_RETURN(BlendOptions options, BlendParamTable().Parse(own));
  std::vector<Blend::ArmFactory> arms;
  arms.reserve(kChildren.size());
  for (const std::string& child : kChildren) {
    arms.push_back([child, params = child_params[child]]() -> Result<std::unique_ptr<Recommender>> {
      auto created = CreateRecommender(child, params);
      if (!created.ok()) {
        return created.status().WithPrefix("model default");
      }
      return created;
    });
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Blend> blend, Blend::Create(options, std::move(arms)));
  return std::unique_ptr<Recommender>(std::move(blend));
}

const std::vector<ModelEntry>& Models() {
  static const ParamTable<NoOptions> kPopTable("pop");
  static const std::vector<ModelEntry> kModels = {
      Entry(kPopTable,
            [](const NoOptions&) -> Result<std::unique_ptr<Recommender>> {
              return std::unique_ptr<Recommender>(std::make_unique<MostPop>());
            }),
      Entry(RecentPopParamTable(),
            [](const RecentPopOptions& o) -> Result<std::unique_ptr<Recommender>> {
              return std::unique_ptr<Recommender>(std::make_unique<RecentPop>(o));
            }),
      Entry(ItemKnnParamTable(),
            [](const ItemKnnOptions& o) -> Result<std::unique_ptr<Recommender>> {
              return std::unique_ptr<Recommender>(std::make_unique<ItemKnn>(o));
            }),
      Entry(BprParamTable(), CreateChecked<Bpr, BprOptions>),
      Entry(TwoTowerParamTable(), CreateChecked<TwoTower, TwoTowerOptions>),
      Entry(SasrecParamTable(), CreateChecked<Sasrec, SasrecOptions>),
      {BlendParamTable().model(), BlendParamTable().infos(), CreateBlend},
  };
  return kModels;
}

Result<const ModelEntry*> FindModel(const std::string& name) {
  for (const ModelEntry& entry : Models()) {
    if (entry.name == name) {
      return &entry;
    }
  }
  std::string known;
  for (const auto& model : KnownModels()) {
    known += (known.empty() ? "" : ", ") + model;
  }
  return Status::InvalidArgument("unknown model '" + name + "' (known: " + known + ")");
}

std::string MarkdownCell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string MarkdownRange(const ParamInfo& info) {
  if (info.type == ParamType::kChoice || info.type == ParamType::kBool) {
    std::string out;
    const std::vector<std::string> values =
        info.type == ParamType::kBool ? std::vector<std::string>{"0", "1"} : info.choices;
    for (const std::string& value : values) {
      out += (out.empty() ? "`" : ", `") + value + "`";
    }
    return out;
  }
  return ParamRangeText(info);
}

std::string Upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

constexpr std::string_view kBeginMarker = "<!-- BEGIN GENERATED: flywheel models --markdown ";
constexpr std::string_view kEndMarker = "<!-- END GENERATED -->";

}  // namespace

std::vector<std::string> KnownModels() {
  std::vector<std::string> names;
  for (const ModelEntry& entry : Models()) {
    names.push_back(entry.name);
  }
  return names;
}

Result<std::unique_ptr<Recommender>> CreateRecommender(const std::string& name,
                                                       const ModelParams& params) {
  FLYWHEEL_ASSIGN_OR_RETURN(const ModelEntry* entry, FindModel(name));
  return entry->create(params);
}

Result<std::vector<ParamInfo>> ModelParamInfos(const std::string& name) {
  FLYWHEEL_ASSIGN_OR_RETURN(const ModelEntry* entry, FindModel(name));
  return entry->params;
}

Result<std::string> ModelParamsHelp(const std::string& name) {
  FLYWHEEL_ASSIGN_OR_RETURN(const ModelEntry* entry, FindModel(name));
  std::string out = name + (entry->params.empty() ? ": no parameters\n" : ":\n");
  for (const ParamInfo& p : entry->params) {
    std::string head =
        "  --param " + name + "." + p.name + "=" +
        (p.type == ParamType::kChoice ? ParamRangeText(p) : Upper(ParamTypeName(p.type)));
    std::string range = p.type == ParamType::kChoice ? "" : ", range " + ParamRangeText(p);
    out += head + "  (default " + p.fallback + range + ")\n      " + p.doc + "\n";
  }
  return out;
}

Result<std::string> ModelParamsMarkdown(const std::string& name) {
  FLYWHEEL_ASSIGN_OR_RETURN(const ModelEntry* entry, FindModel(name));
  if (entry->params.empty()) {
    return "`" + name + "` has no parameters.\n";
  }
  std::string out =
      "| parameter | type | default | range | meaning and trade-off |\n|---|---|---|---|---|\n";
  for (const ParamInfo& p : entry->params) {
    out += "| `" + name + "." + p.name + "` | " + std::string(ParamTypeName(p.type)) + " | " +
           p.fallback + " | " + MarkdownCell(MarkdownRange(p)) + " | " + MarkdownCell(p.doc) +
           " |\n";
  }
  return out;
}

Result<std::string> RegenerateParamsDoc(std::string_view doc) {
  std::string out;
  std::vector<std::string> missing = KnownModels();
  size_t pos = 0;
  while (true) {
    const size_t begin = doc.find(kBeginMarker, pos);
    if (begin == std::string_view::npos) {
      break;
    }
    const size_t name_at = begin + kBeginMarker.size();
    const size_t close = doc.find(" -->\n", name_at);
    const size_t end = doc.find(kEndMarker, name_at);
    if (close == std::string_view::npos || end == std::string_view::npos || close > end) {
      return Status::InvalidArgument("params doc: unterminated generated block at offset " +
                                     std::to_string(begin));
    }
    const std::string name(doc.substr(name_at, close - name_at));
    FLYWHEEL_ASSIGN_OR_RETURN(std::string table, ModelParamsMarkdown(name));
    std::erase(missing, name);
    out += doc.substr(pos, close + 5 - pos);  // through the begin marker's line
    out += table;
    pos = end;
  }
  out += doc.substr(pos);
  if (!missing.empty()) {
    return Status::InvalidArgument("params doc: no generated block for model '" + missing[0] + "'");
  }
  return out;
}

Result<std::vector<ModelSpec>> ParseModelSpecs(std::string_view models,
                                               const std::vector<std::string>& params) {
  std::vector<ModelSpec> specs;
  if (!base::Trim(models).empty()) {
    for (std::string_view name : base::Split(models, ',')) {
      name = base::Trim(name);
      if (name.empty()) {
        return Status::InvalidArgument("--models: empty model name in '" + std::string(models) +
                                       "'");
      }
      specs.push_back(ModelSpec{std::string(name), {}});
    }
  }
  for (const std::string& param : params) {
    const size_t dot = param.find('.');
    const size_t eq = param.find('=');
    if (dot == std::string::npos || eq == std::string::npos || eq < dot || dot == 0 ||
        eq == dot + 1) {
      return Status::InvalidArgument("--param: expected MODEL.KEY=VALUE, got '" + param + "'");
    }
    const std::string model = param.substr(0, dot);
    bool found = false;
    for (ModelSpec& spec : specs) {
      if (spec.name == model) {
        spec.params[param.substr(dot + 1, eq - dot - 1)] = param.substr(eq + 1);
        found = true;
      }
    }
    if (!found) {
      return Status::InvalidArgument("--param: model '" + model + "' is not in --models");
    }
  }
  return specs;
}

}  // namespace flywheel::model
