// flywheel import-items: a catalogue file (CSV or JSON Lines, doc/formats/catalog_file.md) into a
// running server (POST /v1/items:batch) or, offline, into a data directory (Engine::PutItems).
// The whole file is validated first: any bad line is reported as FILE:LINE:field: message and
// nothing is imported.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "flywheel/engine.h"

#include "client/http_client.h"
#include "commands.h"
#include "data/item_batch.h"
#include "flags.h"

namespace flywheel::cli {
namespace {

using nlohmann::json;

json ItemJson(const Item& item) {
  json out = {{"id", item.id}};
  if (!item.title.empty()) {
    out["title"] = item.title;
  }
  if (!item.categories.empty()) {
    out["categories"] = item.categories;
  }
  if (!item.tags.empty()) {
    out["tags"] = item.tags;
  }
  if (!item.attributes.empty()) {
    json attributes = json::object();
    for (const auto& [key, value] : item.attributes) {
      attributes[key] = value;
    }
    out["attributes"] = std::move(attributes);
  }
  if (item.created_ms != 0) {
    out["created"] = item.created_ms;
  }
  return out;
}

// What was imported so far (printed as the summary, also after a failure part-way).
struct Progress {
  size_t items = 0;
  size_t batches = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  void Add(size_t n, uint64_t first) {
    first_seq = batches == 0 ? first : first_seq;
    last_seq = first + n - 1;
    items += n;
    ++batches;
  }
};

Status SendBatch(client::HttpClient* http, const std::string& target, std::span<const Item> items,
                 Progress* progress) {
  json list = json::array();
  for (const Item& item : items) {
    list.push_back(ItemJson(item));
  }
  const std::string body = json{{"items", std::move(list)}}.dump();
  FLYWHEEL_ASSIGN_OR_RETURN(client::Response res, http->Post(target, body));
  const json doc = json::parse(res.body, nullptr, /*allow_exceptions=*/false);
  if (res.status != 202) {
    const std::string message =
        doc.is_object() ? doc.value("message", res.body) : res.body.substr(0, 200);
    const std::string text =
        "import-items: server answered " + std::to_string(res.status) + ": " + message;
    return res.status == 400 || res.status == 401 || res.status == 403
               ? Status::InvalidArgument(text)
               : Status::Unavailable(text);
  }
  if (!doc.is_object() || !doc.contains("first_seq") || !doc["first_seq"].is_number_unsigned()) {
    return Status::Internal("import-items: unexpected answer: " + res.body.substr(0, 200));
  }
  progress->Add(items.size(), doc["first_seq"].get<uint64_t>());
  return Status::Ok();
}

Status ImportOverHttp(const Flags& flags, const std::vector<Item>& items, size_t batch,
                      Progress* progress) {
  FLYWHEEL_ASSIGN_OR_RETURN(client::Url url, client::ParseUrl(flags.Get("url")));
  client::ClientOptions options;
  options.host = url.host;
  options.port = url.port;
  options.bearer_token = flags.Get("key");
  if (options.bearer_token.empty()) {
    const char* env = std::getenv("FLYWHEEL_KEY");  // NOLINT(concurrency-mt-unsafe): no threads
    options.bearer_token = env != nullptr ? env : "";
  }
  options.retry_non_idempotent = true;  // putting an item twice changes nothing
  client::HttpClient http(options);
  const std::string target = url.prefix + "/v1/items:batch";
  for (size_t start = 0; start < items.size(); start += batch) {
    const size_t n = std::min(batch, items.size() - start);
    FLYWHEEL_RETURN_IF_ERROR(
        SendBatch(&http, target, std::span<const Item>(items).subspan(start, n), progress));
  }
  return Status::Ok();
}

Status ImportOffline(const Flags& flags, const std::vector<Item>& items, size_t batch,
                     Progress* progress) {
  EngineOptions options;
  options.data_dir = flags.Get("data-dir");
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Open(options));
  for (size_t start = 0; start < items.size(); start += batch) {
    const size_t n = std::min(batch, items.size() - start);
    FLYWHEEL_ASSIGN_OR_RETURN(uint64_t first,
                              engine->PutItems(std::span<const Item>(items).subspan(start, n)));
    progress->Add(n, first);
  }
  return engine->Close();
}

Status RunImportItems(const Flags& flags) {
  if (flags.Has("url") == flags.Has("data-dir")) {
    return Status::InvalidArgument("import-items: give exactly one of --url and --data-dir");
  }
  if (flags.positional().size() != 1) {
    return Status::InvalidArgument("import-items: expected one FILE (.csv or .jsonl)");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(int64_t batch, flags.GetInt("batch"));
  if (batch < 1 || batch > static_cast<int64_t>(data::kMaxItemsPerBatch)) {
    return Status::InvalidArgument("--batch must be in 1.." +
                                   std::to_string(data::kMaxItemsPerBatch));
  }
  const std::string& path = flags.positional()[0];
  FLYWHEEL_ASSIGN_OR_RETURN(data::CatalogFile file, data::ReadCatalogFile(path));
  if (!file.errors.empty()) {
    for (const std::string& e : file.errors) {
      std::fprintf(stderr, "%s\n", e.c_str());
    }
    return Status::InvalidArgument("import-items: " + path +
                                   ": bad lines (above); nothing was imported");
  }
  if (file.items.empty()) {
    return Status::InvalidArgument("import-items: " + path + ": no items");
  }
  Progress progress;
  Status status = flags.Has("url")
                      ? ImportOverHttp(flags, file.items, static_cast<size_t>(batch), &progress)
                      : ImportOffline(flags, file.items, static_cast<size_t>(batch), &progress);
  std::printf("%s\n", json{{"file", path},
                           {"items", progress.items},
                           {"of", file.items.size()},
                           {"batches", progress.batches},
                           {"first_seq", progress.first_seq},
                           {"last_seq", progress.last_seq}}
                          .dump()
                          .c_str());
  std::fflush(stdout);
  if (!status.ok() && progress.items > 0) {
    return status.WithPrefix("after importing " + std::to_string(progress.items) + " of " +
                             std::to_string(file.items.size()) +
                             " items (run again to finish: putting an item is idempotent)");
  }
  return status;
}

}  // namespace

int ImportItemsMain(int argc, char** argv) {
  Flags flags(
      "import-items",
      "Imports a catalogue file into a running server (--url, POST /v1/items:batch) or a data "
      "directory no server has open (--data-dir). FILE is CSV with a header "
      "(id,title,categories,tags,created, other columns become attributes; lists are "
      "';'-separated) or JSON Lines (one PUT /v1/items body plus \"id\" per line); see "
      "doc/formats/catalog_file.md. The whole file is checked first: bad lines are reported as "
      "FILE:LINE:field: message and nothing is imported. Prints a JSON summary.",
      {{"url", "URL", "the server, e.g. http://127.0.0.1:8080", ""},
       {"key", "KEY", "API key with write scope (default: $FLYWHEEL_KEY)", ""},
       {"data-dir", "DIR", "import offline into this data directory instead", ""},
       {"batch", "N", "items per request (1..1000)", "1000"}});
  return RunCommand(std::move(flags), argc, argv, RunImportItems);
}

}  // namespace flywheel::cli
