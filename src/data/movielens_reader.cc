// MovieLens readers: ml-100k (u.data + u.item), ml-1m (ratings.dat[.gz] + movies.dat),
// ml-latest-small (ratings.csv + movies.csv + tags.csv) and the dslabs movielens.csv.
//
// Events: type "rating", value = the rating (0.5..5), ts_ms = seconds * 1000, user/item ids as
// the decimal strings of the file. Items: title in UTF-8 (Latin-1 files converted), categories =
// genres, attributes {"year", "1995"} from a trailing "(1995)" in the title (or the dslabs year
// column), tags from tags.csv. stats().lines counts the lines of the ratings file; malformed
// lines of the metadata files are counted in skipped like those of the ratings file.
#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sys/stat.h>

#include "base/strings.h"
#include "data/csv.h"
#include "data/dataset.h"
#include "data/reader_common.h"

namespace flywheel::data {
namespace {

enum class MlFormat { k100k, k1m, kLatest, kDslabs };

constexpr std::string_view kLatestHeader = "userId,movieId,rating,timestamp";
constexpr std::string_view kDslabsHeader = "movieId,title,year,genres,userId,rating,timestamp";
constexpr std::string_view kNoGenres = "(no genres listed)";

constexpr std::array<std::string_view, 19> kMl100kGenres = {
    "unknown",     "Action", "Adventure", "Animation", "Children's", "Comedy",  "Crime",
    "Documentary", "Drama",  "Fantasy",   "Film-Noir", "Horror",     "Musical", "Mystery",
    "Romance",     "Sci-Fi", "Thriller",  "War",       "Western"};

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string DirName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct MlFiles {
  MlFormat format;
  std::string ratings;  // the event file
  std::string dir;      // where the metadata files are looked for
};

// Guesses the format of a ratings file with an unusual name (u1.base, ...) from its first line.
Result<MlFormat> SniffFormat(const std::string& path) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  std::string line;
  FLYWHEEL_ASSIGN_OR_RETURN(bool got, reader->ReadLine(&line));
  const std::string_view first = StripBom(base::StripCr(line));
  if (got && first == kLatestHeader) {
    return MlFormat::kLatest;
  }
  if (got && first == kDslabsHeader) {
    return MlFormat::kDslabs;
  }
  if (got && first.find("::") != std::string_view::npos) {
    return MlFormat::k1m;
  }
  if (got && first.find('\t') != std::string_view::npos) {
    return MlFormat::k100k;
  }
  return Status::InvalidArgument("data: cannot tell the MovieLens format of '" + path +
                                 "' from its first line");
}

Result<MlFiles> FindMovieLensFiles(const std::string& path) {
  if (IsDir(path)) {
    const std::pair<const char*, MlFormat> candidates[] = {
        {"u.data", MlFormat::k100k},          {"ratings.dat", MlFormat::k1m},
        {"ratings.dat.gz", MlFormat::k1m},    {"ratings.csv", MlFormat::kLatest},
        {"movielens.csv", MlFormat::kDslabs},
    };
    for (const auto& [name, format] : candidates) {
      if (IsFile(path + "/" + name)) {
        return MlFiles{format, path + "/" + name, path};
      }
    }
    return Status::NotFound("data: no MovieLens ratings file in '" + path +
                            "' (expected u.data, ratings.dat[.gz], ratings.csv or movielens.csv)");
  }
  if (!IsFile(path)) {
    return Status::NotFound("data: no such MovieLens file or directory: '" + path + "'");
  }
  const std::string name = BaseName(path);
  MlFiles files{MlFormat::k100k, path, DirName(path)};
  if (name == "u.data") {
    files.format = MlFormat::k100k;
  } else if (name == "ratings.dat" || name == "ratings.dat.gz") {
    files.format = MlFormat::k1m;
  } else if (name == "ratings.csv") {
    files.format = MlFormat::kLatest;
  } else if (name == "movielens.csv") {
    files.format = MlFormat::kDslabs;
  } else {
    FLYWHEEL_ASSIGN_OR_RETURN(files.format, SniffFormat(path));
  }
  return files;
}

// "1995" when the title ends with "(1995)" (trailing spaces ignored), else "".
std::string YearFromTitle(std::string_view title) {
  const std::string_view t = base::Trim(title);
  if (t.size() < 6 || t.back() != ')' || t[t.size() - 6] != '(') {
    return "";
  }
  const std::string_view year = t.substr(t.size() - 5, 4);
  for (char c : year) {
    if (c < '0' || c > '9') {
      return "";
    }
  }
  return std::string(year);
}

// Appends the genres of a '|'-separated list to the item's categories.
void AddGenres(std::string_view genres, Item* item) {
  if (genres.empty()) {
    return;
  }
  for (std::string_view genre : base::Split(genres, '|')) {
    if (!genre.empty() && genre != kNoGenres) {
      AppendUnique(&item->categories, genre);
    }
  }
}

// Sets the title and the year attribute parsed from it.
void SetTitle(std::string title, Item* item) {
  std::string year = YearFromTitle(title);
  if (!year.empty()) {
    item->attributes.emplace_back("year", std::move(year));
  }
  item->title = std::move(title);
}

// Fills a rating event from its four fields.
Status FillRating(std::string_view user, std::string_view item, std::string_view rating,
                  std::string_view ts, Event* event) {
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(user, "user"));
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(item, "item"));
  FLYWHEEL_ASSIGN_OR_RETURN(const double value, ParseNumberField(rating, "rating"));
  if (value < 0.5 || value > 5.0) {
    return FieldError("rating", "out of range [0.5, 5]: '" + std::string(rating) + "'");
  }
  FLYWHEEL_ASSIGN_OR_RETURN(const TimestampMs ts_ms, ParseSecondsField(ts, "timestamp"));
  event->user.assign(user);
  event->item.assign(item);
  event->type.assign("rating");
  event->value = value;
  event->ts_ms = ts_ms;
  event->id.clear();
  event->context.clear();
  return Status::Ok();
}

// Parses one dslabs line (already split) into *event.
Status FillDslabs(const std::vector<std::string>& f, Event* event) {
  FLYWHEEL_RETURN_IF_ERROR(CheckColumns(f.size(), 7));
  if (!f[2].empty()) {
    FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(f[2], "year"));
  }
  return FillRating(f[4], f[0], f[5], f[6], event);
}

Status CsvError(const Status& status) {
  return FieldError("columns", status.message());
}

class MovieLensReader final : public LineEventReader {
 public:
  MovieLensReader(MlFormat format, std::unique_ptr<LineReader> lines, SkipPolicy skip)
      : LineEventReader(std::move(lines), skip), format_(format) {}

  // Reads the header of CSV formats and the item metadata.
  Status Init(const MlFiles& files);

  std::string default_positive() const override { return "rating>=4"; }
  std::vector<std::string> notes() const override;

 protected:
  Result<bool> ParseLine(std::string_view line, Event* event) override;

 private:
  Status LoadMl100kItems(const std::string& dir);
  Status LoadMl1mItems(const std::string& path);
  Status LoadLatestItems(const std::string& dir);
  Status LoadDslabsItems(const std::string& path);
  // Adds an item unless its id is known; returns it (nullptr when already known).
  Item* AddItem(std::string_view id);

  MlFormat format_;
  std::vector<std::string_view> views_;
  std::vector<std::string> fields_;
  std::unordered_map<std::string, size_t> item_index_;
};

std::vector<std::string> MovieLensReader::notes() const {
  switch (format_) {
    case MlFormat::k100k:
      return {"MovieLens ml-100k format (u.data)"};
    case MlFormat::k1m:
      return {"MovieLens ml-1m format (ratings.dat)"};
    case MlFormat::kLatest:
      return {"MovieLens ml-latest format (ratings.csv)"};
    case MlFormat::kDslabs:
      return {"MovieLens dslabs movielens.csv format"};
  }
  return {};
}

Result<bool> MovieLensReader::ParseLine(std::string_view line, Event* event) {
  switch (format_) {
    case MlFormat::k100k:
    case MlFormat::k1m:
      if (format_ == MlFormat::k100k) {
        base::SplitInto(line, '\t', &views_);
      } else {
        base::SplitInto(line, "::", &views_);
      }
      FLYWHEEL_RETURN_IF_ERROR(CheckColumns(views_.size(), 4));
      FLYWHEEL_RETURN_IF_ERROR(FillRating(views_[0], views_[1], views_[2], views_[3], event));
      return true;
    case MlFormat::kLatest:
      if (Status s = SplitCsvLine(line, ',', &fields_); !s.ok()) {
        return CsvError(s);
      }
      FLYWHEEL_RETURN_IF_ERROR(CheckColumns(fields_.size(), 4));
      FLYWHEEL_RETURN_IF_ERROR(FillRating(fields_[0], fields_[1], fields_[2], fields_[3], event));
      return true;
    case MlFormat::kDslabs:
      if (Status s = SplitCsvLine(line, ',', &fields_); !s.ok()) {
        return CsvError(s);
      }
      FLYWHEEL_RETURN_IF_ERROR(FillDslabs(fields_, event));
      return true;
  }
  return Status::Internal("data: unknown MovieLens format");
}

Item* MovieLensReader::AddItem(std::string_view id) {
  auto [it, inserted] = item_index_.emplace(std::string(id), mutable_items().size());
  if (!inserted) {
    return nullptr;
  }
  Item& item = mutable_items().emplace_back();
  item.id.assign(id);
  return &item;
}

Status MovieLensReader::Init(const MlFiles& files) {
  if (format_ == MlFormat::kLatest || format_ == MlFormat::kDslabs) {
    FLYWHEEL_ASSIGN_OR_RETURN(std::string header, ReadHeader());
    const std::string_view expected = format_ == MlFormat::kLatest ? kLatestHeader : kDslabsHeader;
    FLYWHEEL_RETURN_IF_ERROR(CheckHeader(lines().name(), header, expected));
  }
  switch (format_) {
    case MlFormat::k100k:
      return LoadMl100kItems(files.dir);
    case MlFormat::k1m:
      return LoadMl1mItems(files.dir + "/movies.dat");
    case MlFormat::kLatest:
      return LoadLatestItems(files.dir);
    case MlFormat::kDslabs:
      return LoadDslabsItems(files.ratings);
  }
  return Status::Ok();
}

Status MovieLensReader::LoadMl100kItems(const std::string& dir) {
  std::vector<std::string> genres(kMl100kGenres.begin(), kMl100kGenres.end());
  if (IsFile(dir + "/u.genre")) {
    genres.clear();
    Status status =
        ForEachLine(dir + "/u.genre", "", &guard(), [&](std::string_view line, int64_t) {
          const auto f = base::Split(line, '|');
          FLYWHEEL_RETURN_IF_ERROR(CheckColumns(f.size(), 2));
          genres.push_back(base::Latin1ToUtf8(f[0]));
          return Status::Ok();
        });
    if (!status.ok()) {
      return status;
    }
  }
  if (!IsFile(dir + "/u.item")) {
    return Status::Ok();
  }
  return ForEachLine(dir + "/u.item", "", &guard(), [&](std::string_view line, int64_t) {
    base::SplitInto(line, '|', &views_);
    FLYWHEEL_RETURN_IF_ERROR(CheckColumns(views_.size(), 5 + genres.size()));
    FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(views_[0], "id"));
    for (size_t g = 0; g < genres.size(); ++g) {
      if (views_[5 + g] != "0" && views_[5 + g] != "1") {
        return FieldError("genres", "flag is not 0 or 1: '" + std::string(views_[5 + g]) + "'");
      }
    }
    Item* item = AddItem(views_[0]);
    if (item == nullptr) {
      return Status::Ok();
    }
    SetTitle(base::Latin1ToUtf8(views_[1]), item);
    for (size_t g = 0; g < genres.size(); ++g) {
      if (views_[5 + g] == "1" && genres[g] != "unknown") {
        AppendUnique(&item->categories, genres[g]);
      }
    }
    return Status::Ok();
  });
}

Status MovieLensReader::LoadMl1mItems(const std::string& path) {
  if (!IsFile(path)) {
    return Status::Ok();
  }
  return ForEachLine(path, "", &guard(), [&](std::string_view line, int64_t) {
    base::SplitInto(line, "::", &views_);
    FLYWHEEL_RETURN_IF_ERROR(CheckColumns(views_.size(), 3));
    FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(views_[0], "id"));
    if (Item* item = AddItem(views_[0]); item != nullptr) {
      SetTitle(base::Latin1ToUtf8(views_[1]), item);
      AddGenres(views_[2], item);
    }
    return Status::Ok();
  });
}

Status MovieLensReader::LoadLatestItems(const std::string& dir) {
  std::vector<std::string> f;
  if (IsFile(dir + "/movies.csv")) {
    Status status = ForEachLine(dir + "/movies.csv", "movieId,title,genres", &guard(),
                                [&](std::string_view line, int64_t) {
                                  if (Status s = SplitCsvLine(line, ',', &f); !s.ok()) {
                                    return CsvError(s);
                                  }
                                  FLYWHEEL_RETURN_IF_ERROR(CheckColumns(f.size(), 3));
                                  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(f[0], "movieId"));
                                  if (Item* item = AddItem(f[0]); item != nullptr) {
                                    SetTitle(ToUtf8Lenient(f[1]), item);
                                    AddGenres(f[2], item);
                                  }
                                  return Status::Ok();
                                });
    if (!status.ok()) {
      return status;
    }
  }
  if (!IsFile(dir + "/tags.csv")) {
    return Status::Ok();
  }
  return ForEachLine(dir + "/tags.csv", "userId,movieId,tag,timestamp", &guard(),
                     [&](std::string_view line, int64_t) {
                       if (Status s = SplitCsvLine(line, ',', &f); !s.ok()) {
                         return CsvError(s);
                       }
                       FLYWHEEL_RETURN_IF_ERROR(CheckColumns(f.size(), 4));
                       FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(f[1], "movieId"));
                       const auto it = item_index_.find(f[1]);
                       if (it != item_index_.end() && !f[2].empty()) {
                         AppendUnique(&mutable_items()[it->second].tags, ToUtf8Lenient(f[2]));
                       }
                       return Status::Ok();
                     });
}

// The dslabs file carries the movie columns on every rating line: one pass at open collects
// them (malformed lines are ignored here and reported when the events are read).
Status MovieLensReader::LoadDslabsItems(const std::string& path) {
  std::vector<std::string> f;
  Event event;
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> reader, LineReader::Open(path));
  std::string line;
  while (true) {
    FLYWHEEL_ASSIGN_OR_RETURN(bool got, reader->ReadLine(&line));
    if (!got) {
      return Status::Ok();
    }
    if (reader->line_number() == 1 || !SplitCsvLine(base::StripCr(line), ',', &f).ok() ||
        !FillDslabs(f, &event).ok()) {
      continue;
    }
    if (Item* item = AddItem(f[0]); item != nullptr) {
      item->title = ToUtf8Lenient(f[1]);
      if (!f[2].empty()) {
        item->attributes.emplace_back("year", f[2]);
      }
      AddGenres(f[3], item);
    }
  }
}

}  // namespace

Result<std::unique_ptr<EventReader>> OpenMovieLens(const std::string& path, SkipPolicy skip) {
  FLYWHEEL_ASSIGN_OR_RETURN(const MlFiles files, FindMovieLensFiles(path));
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> lines, LineReader::Open(files.ratings));
  auto reader = std::make_unique<MovieLensReader>(files.format, std::move(lines), skip);
  FLYWHEEL_RETURN_IF_ERROR(reader->Init(files));
  return std::unique_ptr<EventReader>(std::move(reader));
}

}  // namespace flywheel::data
