// The parameter tables: parsing, defaults, range and name errors, help, the generated doc.
#include "model/param_table.h"

#include <fstream>
#include <sstream>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/baselines.h"
#include "model/bpr.h"
#include "model/registry.h"
#include "model/sasrec.h"
#include "model/twotower.h"
#include "testing/status_matchers.h"

namespace flywheel::model {
namespace {

using ::flywheel::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Toy {
  int count = 3;
  double rate = 0.5;
  bool on = true;
  BprLoss loss = BprLoss::kMse;
  struct Inner {
    float scale = 2.0f;
  } inner;
};

const ParamTable<Toy>& ToyTable() {
  static const ParamTable<Toy> kTable =
      ParamTable<Toy>("toy")
          .Int("count", &Toy::count, 1, 10, "how many")
          .Double("rate", &Toy::rate, 0, 1, "how fast")
          .Bool("on", &Toy::on, "whether")
          .Choice("loss", &Toy::loss, {{"bpr", BprLoss::kBpr}, {"mse", BprLoss::kMse}}, "which")
          .Double(
              "scale", [](auto& t) -> auto& { return t.inner.scale; }, 0.5, 4, "nested");
  return kTable;
}

TEST(ParamTableTest, InfosCarryTypeDefaultRangeAndDoc) {
  const std::vector<ParamInfo>& infos = ToyTable().infos();
  ASSERT_EQ(infos.size(), 5u);
  EXPECT_EQ(infos[0].name, "count");
  EXPECT_EQ(infos[0].type, ParamType::kInt);
  EXPECT_EQ(infos[0].fallback, "3");
  EXPECT_EQ(infos[0].min, 1);
  EXPECT_EQ(infos[0].max, 10);
  EXPECT_EQ(infos[0].doc, "how many");
  EXPECT_EQ(infos[1].fallback, "0.5");
  EXPECT_EQ(infos[2].type, ParamType::kBool);
  EXPECT_EQ(infos[2].fallback, "1");
  EXPECT_EQ(infos[3].type, ParamType::kChoice);
  EXPECT_EQ(infos[3].fallback, "mse");
  EXPECT_THAT(infos[3].choices, ElementsAre("bpr", "mse"));
  EXPECT_EQ(infos[4].fallback, "2");
  EXPECT_EQ(ParamRangeText(infos[0]), "[1, 10]");
  EXPECT_EQ(ParamRangeText(infos[2]), "0|1");
  EXPECT_EQ(ParamRangeText(infos[3]), "bpr|mse");
}

TEST(ParamTableTest, ParsesEveryTypeIntoTheFields) {
  auto parsed = ToyTable().Parse(
      {{"count", "7"}, {"rate", "0.25"}, {"on", "0"}, {"loss", "bpr"}, {"scale", "3.5"}});
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->count, 7);
  EXPECT_EQ(parsed->rate, 0.25);
  EXPECT_FALSE(parsed->on);
  EXPECT_EQ(parsed->loss, BprLoss::kBpr);
  EXPECT_EQ(parsed->inner.scale, 3.5f);
  // Untouched fields keep their defaults.
  auto partial = ToyTable().Parse({{"count", "1e1"}, {"on", "true"}});
  ASSERT_OK(partial);
  EXPECT_EQ(partial->count, 10);
  EXPECT_TRUE(partial->on);
  EXPECT_EQ(partial->rate, 0.5);
  EXPECT_EQ(partial->loss, BprLoss::kMse);
  EXPECT_FALSE(ToyTable().Parse({{"on", "false"}})->on);
}

TEST(ParamTableTest, RejectsUnknownNamesListingTheValidOnes) {
  EXPECT_THAT(ToyTable().Parse({{"cuont", "2"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("model toy"), HasSubstr("unknown parameter 'cuont'"),
                             HasSubstr("allowed: count, rate, on, loss, scale"))));
}

TEST(ParamTableTest, RejectsBadValuesNamingTheFieldAndTheRange) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"count", "0", "'count' = '0' is out of range [1, 10]"},
      {"count", "11", "is out of range [1, 10]"},
      {"count", "2.5", "'count' = '2.5' must be an integer in [1, 10]"},
      {"count", "x", "must be an integer in [1, 10]"},
      {"rate", "1.5", "'rate' = '1.5' is out of range [0, 1]"},
      {"rate", "nan", "'rate'"},
      {"rate", "", "must be a number in [0, 1]"},
      {"on", "2", "'on' = '2' must be one of 0|1"},
      {"on", "yes", "must be one of 0|1"},
      {"loss", "hinge", "'loss' = 'hinge' must be one of bpr|mse"},
      {"scale", "0.25", "'scale' = '0.25' is out of range [0.5, 4]"},
  };
  for (const auto& [key, value, message] : cases) {
    EXPECT_THAT(ToyTable().Parse({{key, value}}),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr(message)))
        << key << "=" << value;
  }
  // The boundaries themselves are accepted.
  EXPECT_OK(ToyTable().Parse({{"count", "1"}, {"rate", "0"}, {"scale", "4"}}));
  EXPECT_OK(ToyTable().Parse({{"count", "10"}, {"rate", "1"}, {"scale", "0.5"}}));
}

TEST(ParamTableTest, ValidateChecksOptionsBuiltInCode) {
  Toy toy;
  EXPECT_OK(ToyTable().Validate(toy));
  toy.inner.scale = 9;
  EXPECT_THAT(ToyTable().Validate(toy),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'scale' = 9"), HasSubstr("[0.5, 4]"))));
  toy = Toy();
  toy.loss = static_cast<BprLoss>(7);
  EXPECT_THAT(ToyTable().Validate(toy), StatusIs(StatusCode::kInvalidArgument, HasSubstr("loss")));
  EXPECT_THAT(ToyTable().Values(Toy()),
              ElementsAre(std::make_pair(std::string("count"), std::string("3")),
                          std::make_pair(std::string("rate"), std::string("0.5")),
                          std::make_pair(std::string("on"), std::string("1")),
                          std::make_pair(std::string("loss"), std::string("mse")),
                          std::make_pair(std::string("scale"), std::string("2"))));
}

// Every model: no parameters = the options' defaults; the defaults pass validation.
TEST(ModelParamTablesTest, EmptyParamsGiveTheDefaultOptions) {
  EXPECT_EQ(RecentPopParamTable().Parse({})->half_life_hours, 24.0);
  auto knn = ItemKnnParamTable().Parse({});
  ASSERT_OK(knn);
  EXPECT_EQ(knn->window, 50);
  EXPECT_EQ(knn->history, 20);
  EXPECT_EQ(knn->decay, 0.9);
  EXPECT_EQ(BprParamTable().Values(*BprParamTable().Parse({})),
            BprParamTable().Values(BprOptions()));
  EXPECT_EQ(TwoTowerParamTable().Values(*TwoTowerParamTable().Parse({})),
            TwoTowerParamTable().Values(TwoTowerOptions()));
  EXPECT_EQ(SasrecParamTable().Values(*SasrecParamTable().Parse({})),
            SasrecParamTable().Values(SasrecOptions()));
  EXPECT_OK(BprParamTable().Validate(BprOptions()));
  EXPECT_OK(TwoTowerParamTable().Validate(TwoTowerOptions()));
  EXPECT_OK(SasrecParamTable().Validate(SasrecOptions()));
}

// The defaults the hand-written parsers used before the tables (some were literals in the
// parser, not the struct's): unchanged.
TEST(ModelParamTablesTest, DefaultsAreTheHistoricalOnes) {
  const std::vector<std::tuple<std::string, std::string, std::string>> defaults = {
      {"recentpop", "half_life_hours", "24"},
      {"itemknn", "window", "50"},
      {"itemknn", "history", "20"},
      {"itemknn", "decay", "0.9"},
      {"bpr", "optimizer", "adagrad"},
      {"bpr", "sampling", "uniform"},
      {"bpr", "loss", "bpr"},
      {"bpr", "lr", "0.1"},
      {"bpr", "context", "5"},
      {"bpr", "user_rows", "1"},
      {"twotower", "loss", "softmax"},
      {"twotower", "negatives", "16"},
      {"twotower", "history_decay", "0.7"},
      {"sasrec", "act", "relu"},
      {"sasrec", "loss", "softmax"},
      {"sasrec", "online_dropout", "1"},
      {"sasrec", "online_all", "0"},
      {"sasrec", "online_items_only", "0"},
      {"sasrec", "online_optimizer", "adam"},
      {"sasrec", "online_lr", "1e-05"},
      {"sasrec", "online_anchor", "0.0001"},
      {"sasrec", "scratch_lr", "0.003"},
      {"sasrec", "dim", "64"},
      {"sasrec", "threads", "2"},
  };
  for (const auto& [model, name, fallback] : defaults) {
    auto infos = ModelParamInfos(model);
    ASSERT_OK(infos);
    const std::string wanted = name;  // clang 14 cannot capture a structured binding
    auto it = std::find_if(infos->begin(), infos->end(),
                           [&](const ParamInfo& p) { return p.name == wanted; });
    ASSERT_NE(it, infos->end()) << model << "." << name;
    EXPECT_EQ(it->fallback, fallback) << model << "." << name;
  }
}

// The accepted ranges of the hand-written parsers before the tables, every numeric parameter.
TEST(ModelParamTablesTest, RangesAreTheHistoricalOnes) {
  const std::map<std::string, std::map<std::string, std::pair<double, double>>> ranges = {
      {"recentpop", {{"half_life_hours", {1e-3, 1e7}}}},
      {"itemknn", {{"window", {1, 10000}}, {"history", {1, 10000}}, {"decay", {0, 1}}}},
      {"bpr",
       {{"dim", {1, 4096}},
        {"lr", {1e-30, 1e30}},
        {"l2", {0, 1e6}},
        {"lr_decay", {0, 1e6}},
        {"init_std", {0, 1e3}},
        {"clip", {0, 1e30}},
        {"negatives", {1, 1000}},
        {"recent_window", {1, 1e8}},
        {"replay", {0, 100}},
        {"reservoir", {1, 1e8}},
        {"epochs", {0, 1000}},
        {"seed", {0, 1e15}},
        {"context", {0, kBprMaxContext}},
        {"user_rows", {0, 1}},
        {"threads", {1, 64}}}},
      {"twotower",
       {{"dim", {1, 4096}},
        {"lr", {1e-30, 1e30}},
        {"lr_decay", {0, 1e6}},
        {"l2", {0, 1e6}},
        {"init_std", {0, 1e3}},
        {"clip", {0, 1e30}},
        {"negatives", {1, 1000}},
        {"popularity_sampling", {0, 1}},
        {"history", {0, 1000}},
        {"half_life_hours", {1e-6, 1e9}},
        {"history_decay", {0, 1}},
        {"content", {0, 1}},
        {"max_tags", {0, 1000}},
        {"replay", {0, 100}},
        {"reservoir", {1, 1e8}},
        {"epochs", {0, 1000}},
        {"threads", {1, 64}},
        {"seed", {0, 1e15}}}},
      {"sasrec",
       {{"dim", {1, 1024}},
        {"heads", {1, 64}},
        {"blocks", {0, 16}},
        {"max_len", {1, 1024}},
        {"dropout", {0, 0.99}},
        {"negatives", {1, 100000}},
        {"lr", {1e-9, 10}},
        {"l2", {0, 10}},
        {"init_std", {1e-6, 10}},
        {"batch", {1, 100000}},
        {"epochs", {0, 100000}},
        {"patience", {1, 1000}},
        {"valid_users", {0, 1e8}},
        {"max_chunks", {0, 1e6}},
        {"threads", {1, 64}},
        {"online_lr", {0, 10}},
        {"scratch_lr", {0, 10}},
        {"replay", {0, 1000}},
        {"reservoir", {1, 1e7}},
        {"feature_buckets", {1, 1 << 24}},
        {"content", {0, 1}},
        {"online_dropout", {0, 1}},
        {"online_all", {0, 1}},
        {"online_anchor", {0, 1}},
        {"online_items_only", {0, 1}},
        {"seed", {0, 1e15}}}},
  };
  for (const auto& [model, expected] : ranges) {
    auto infos = ModelParamInfos(model);
    ASSERT_OK(infos);
    size_t numeric = 0;
    for (const ParamInfo& p : *infos) {
      if (p.type == ParamType::kChoice) {
        continue;
      }
      ++numeric;
      auto it = expected.find(p.name);
      ASSERT_NE(it, expected.end()) << model << "." << p.name;
      EXPECT_EQ(p.min, it->second.first) << model << "." << p.name;
      EXPECT_EQ(p.max, it->second.second) << model << "." << p.name;
    }
    EXPECT_EQ(numeric, expected.size()) << model;
  }
}

TEST(ModelParamTablesTest, ChoicesAreTheHistoricalOnes) {
  auto choices = [](const std::string& model, const std::string& name) {
    const std::vector<ParamInfo> infos = *ModelParamInfos(model);
    for (const ParamInfo& p : infos) {
      if (p.name == name) {
        return p.choices;
      }
    }
    return std::vector<std::string>{};
  };
  EXPECT_THAT(choices("bpr", "optimizer"), ElementsAre("sgd", "adagrad", "adam"));
  EXPECT_THAT(choices("bpr", "sampling"), ElementsAre("uniform", "popularity", "recent"));
  EXPECT_THAT(choices("bpr", "loss"), ElementsAre("bpr", "mse"));
  EXPECT_THAT(choices("twotower", "optimizer"), ElementsAre("sgd", "adagrad", "adam"));
  EXPECT_THAT(choices("twotower", "loss"), ElementsAre("bpr", "softmax"));
  EXPECT_THAT(choices("sasrec", "act"), ElementsAre("relu", "gelu"));
  EXPECT_THAT(choices("sasrec", "loss"), ElementsAre("softmax", "sampled", "bce"));
  EXPECT_THAT(choices("sasrec", "online_optimizer"), ElementsAre("adam", "sgd"));
}

TEST(ModelParamTablesTest, SasrecEncoderFieldsParseIntoTheEncoderConfig) {
  auto o = SasrecParamTable().Parse(
      {{"dim", "16"}, {"heads", "2"}, {"blocks", "1"}, {"max_len", "8"}, {"act", "gelu"}});
  ASSERT_OK(o);
  EXPECT_EQ(o->encoder.dim, 16);
  EXPECT_EQ(o->encoder.heads, 2);
  EXPECT_EQ(o->encoder.blocks, 1);
  EXPECT_EQ(o->encoder.max_len, 8);
  EXPECT_TRUE(o->encoder.gelu);
  EXPECT_EQ(o->encoder.dropout, nn::EncoderConfig().dropout);
}

TEST(ModelParamTablesTest, RegistryErrorsNameTheParameterAndRange) {
  EXPECT_THAT(CreateRecommender("bpr", {{"dim", "0"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("model bpr"), HasSubstr("'dim'"), HasSubstr("[1, 4096]"))));
  EXPECT_THAT(CreateRecommender("sasrec", {{"dropout", "0.995"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("'dropout'"), HasSubstr("[0, 0.99]"))));
  EXPECT_THAT(CreateRecommender("twotower", {{"lossy", "bpr"}}),
              StatusIs(StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("unknown parameter 'lossy'"),
                             HasSubstr("allowed: dim, lr, lr_decay"), HasSubstr("optimizer"))));
  EXPECT_THAT(CreateRecommender("pop", {{"k", "1"}}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("(allowed: none)")));
  EXPECT_THAT(ModelParamInfos("magic"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unknown model 'magic'")));
}

TEST(ModelParamsHelpTest, OneEntryPerParameterWithTypeDefaultRangeAndDoc) {
  auto help = ModelParamsHelp("itemknn");
  ASSERT_OK(help);
  EXPECT_EQ(*help,
            "itemknn:\n"
            "  --param itemknn.window=INT  (default 50, range [1, 10000])\n"
            "      " +
                ItemKnnParamTable().infos()[0].doc +
                "\n"
                "  --param itemknn.history=INT  (default 20, range [1, 10000])\n"
                "      " +
                ItemKnnParamTable().infos()[1].doc +
                "\n"
                "  --param itemknn.decay=DOUBLE  (default 0.9, range [0, 1])\n"
                "      " +
                ItemKnnParamTable().infos()[2].doc + "\n");
  EXPECT_EQ(*ModelParamsHelp("pop"), "pop: no parameters\n");
  auto bpr = ModelParamsHelp("bpr");
  ASSERT_OK(bpr);
  EXPECT_THAT(*bpr, HasSubstr("  --param bpr.sampling=uniform|popularity|recent  (default "
                              "uniform)\n"));
  EXPECT_THAT(*bpr, HasSubstr("  --param bpr.user_rows=BOOL  (default 1, range 0|1)\n"));
  for (const std::string& name : KnownModels()) {
    auto text = ModelParamsHelp(name);
    ASSERT_OK(text);
    const std::vector<ParamInfo> infos = *ModelParamInfos(name);
    for (const ParamInfo& p : infos) {
      EXPECT_THAT(*text, HasSubstr("--param " + name + "." + p.name + "=")) << name;
      EXPECT_FALSE(p.doc.empty()) << name << "." << p.name;
    }
  }
}

TEST(ModelParamsMarkdownTest, TableRowsAndEscaping) {
  auto md = ModelParamsMarkdown("bpr");
  ASSERT_OK(md);
  EXPECT_THAT(*md,
              HasSubstr("| parameter | type | default | range | meaning and trade-off |\n"
                        "|---|---|---|---|---|\n| `bpr.loss` | choice | bpr | `bpr`, `mse` |"));
  EXPECT_THAT(*md, HasSubstr("| `bpr.dim` | int | 32 | [1, 4096] | factor dimension"));
  EXPECT_EQ(*ModelParamsMarkdown("pop"), "`pop` has no parameters.\n");
}

TEST(ParamsDocTest, RegenerateReplacesBlocksAndNeedsOneForEveryModel) {
  std::string doc = "intro\n";
  for (const std::string& name : KnownModels()) {
    doc += "<!-- BEGIN GENERATED: flywheel models --markdown " + name + " -->\nstale\n" +
           "<!-- END GENERATED -->\ntext after " + name + "\n";
  }
  auto regenerated = RegenerateParamsDoc(doc);
  ASSERT_OK(regenerated);
  EXPECT_THAT(*regenerated, ::testing::Not(HasSubstr("stale")));
  EXPECT_THAT(*regenerated, HasSubstr("-->\n" + *ModelParamsMarkdown("itemknn") +
                                      "<!-- END GENERATED -->\ntext after itemknn\n"));
  EXPECT_EQ(*RegenerateParamsDoc(*regenerated), *regenerated);  // a fixed point
  EXPECT_THAT(RegenerateParamsDoc("intro\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("no generated block for model")));
  EXPECT_THAT(RegenerateParamsDoc("<!-- BEGIN GENERATED: flywheel models --markdown magic -->\n"
                                  "<!-- END GENERATED -->\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unknown model 'magic'")));
  EXPECT_THAT(RegenerateParamsDoc("<!-- BEGIN GENERATED: flywheel models --markdown pop -->\n"),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("unterminated")));
}

// doc/params.md's parameter tables are exactly what the code's tables generate (tests run in the
// source directory). To update: build/release/bin/flywheel models --update-doc doc/params.md
TEST(ParamsDocTest, CommittedDocMatchesTheTables) {
  std::ifstream in("doc/params.md");
  ASSERT_TRUE(in.good()) << "doc/params.md not found: run the test from the source directory";
  std::stringstream text;
  text << in.rdbuf();
  auto regenerated = RegenerateParamsDoc(text.str());
  ASSERT_OK(regenerated);
  EXPECT_EQ(*regenerated, text.str())
      << "doc/params.md is stale: run flywheel models --update-doc doc/params.md";
}

TEST(ParseModelSpecsTest, NamesAndParams) {
  auto specs = ParseModelSpecs(" pop, bpr ,itemknn",
                               {"bpr.dim=8", "bpr.lr=0.5", "itemknn.decay=1", "bpr.dim=16"});
  ASSERT_OK(specs);
  ASSERT_EQ(specs->size(), 3u);
  EXPECT_EQ((*specs)[0].name, "pop");
  EXPECT_TRUE((*specs)[0].params.empty());
  EXPECT_EQ((*specs)[1].name, "bpr");
  EXPECT_EQ((*specs)[1].params, (ModelParams{{"dim", "16"}, {"lr", "0.5"}}));  // last one wins
  EXPECT_EQ((*specs)[2].params, (ModelParams{{"decay", "1"}}));
  // Values may contain '=' and '.'.
  EXPECT_EQ((*ParseModelSpecs("sasrec", {"sasrec.act=a=b.c"}))[0].params.at("act"), "a=b.c");
  EXPECT_TRUE(ParseModelSpecs("", {})->empty());
}

TEST(ParseModelSpecsTest, Errors) {
  EXPECT_THAT(ParseModelSpecs("pop,,bpr", {}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("empty model name")));
  EXPECT_THAT(ParseModelSpecs("pop", {"bpr.dim=8"}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("model 'bpr' is not in --models")));
  EXPECT_THAT(ParseModelSpecs("", {"bpr.dim=8"}),
              StatusIs(StatusCode::kInvalidArgument, HasSubstr("not in --models")));
  for (const char* bad : {"bprdim=8", "bpr.dim", "bpr=dim.8", ".dim=8", "bpr.=8"}) {
    EXPECT_THAT(ParseModelSpecs("bpr", {bad}),
                StatusIs(StatusCode::kInvalidArgument, HasSubstr("expected MODEL.KEY=VALUE")))
        << bad;
  }
}

}  // namespace
}  // namespace flywheel::model
