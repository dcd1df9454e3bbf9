// Last.fm HetRec 2011 reader: user_artists.dat ("userID\tartistID\tweight", header, CRLF) gives
// "play" events with value = the listening count; artists.dat ("id\tname\turl\tpictureURL",
// header, UTF-8, no quoting) gives the item titles. The files have no timestamps: every event has
// ts_ms = 0, so file order is the only order.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>

#include "base/strings.h"
#include "data/dataset.h"
#include "data/reader_common.h"

namespace flywheel::data {
namespace {

constexpr std::string_view kUserArtistsHeader = "userID\tartistID\tweight";
constexpr std::string_view kArtistsHeader = "id\tname\turl\tpictureURL";

bool IsFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

class LastfmReader final : public LineEventReader {
 public:
  using LineEventReader::LineEventReader;

  // Checks the header and loads the artists of `artists_path` when that file exists.
  Status Init(const std::string& artists_path);

  bool has_timestamps() const override { return false; }
  std::vector<std::string> notes() const override {
    return {
        "no timestamps: file order is used as time; prequential numbers on this dataset are "
        "not a temporal replay"};
  }

 protected:
  Result<bool> ParseLine(std::string_view line, Event* event) override;

 private:
  std::vector<std::string_view> fields_;
};

Status LastfmReader::Init(const std::string& artists_path) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::string header, ReadHeader());
  FLYWHEEL_RETURN_IF_ERROR(CheckHeader(lines().name(), header, kUserArtistsHeader));
  if (!IsFile(artists_path)) {
    return Status::Ok();
  }
  return ForEachLine(artists_path, kArtistsHeader, &guard(), [&](std::string_view line, int64_t) {
    base::SplitInto(line, '\t', &fields_);
    FLYWHEEL_RETURN_IF_ERROR(CheckColumns(fields_.size(), 4));
    FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(fields_[0], "id"));
    Item& item = mutable_items().emplace_back();
    item.id.assign(fields_[0]);
    item.title = ToUtf8Lenient(fields_[1]);
    return Status::Ok();
  });
}

Result<bool> LastfmReader::ParseLine(std::string_view line, Event* event) {
  base::SplitInto(line, '\t', &fields_);
  FLYWHEEL_RETURN_IF_ERROR(CheckColumns(fields_.size(), 3));
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(fields_[0], "user"));
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(fields_[1], "item"));
  FLYWHEEL_ASSIGN_OR_RETURN(const double weight, ParseNumberField(fields_[2], "weight"));
  if (weight < 0) {
    return FieldError("weight", "negative play count: '" + std::string(fields_[2]) + "'");
  }
  event->user.assign(fields_[0]);
  event->item.assign(fields_[1]);
  event->type.assign("play");
  event->value = weight;
  event->ts_ms = 0;
  event->id.clear();
  event->context.clear();
  return true;
}

}  // namespace

Result<std::unique_ptr<EventReader>> OpenLastfm(const std::string& path, SkipPolicy skip) {
  std::string file = path;
  std::string dir;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    dir = path;
    file = path + "/user_artists.dat";
  } else {
    const size_t slash = path.find_last_of('/');
    dir = slash == std::string::npos ? "." : path.substr(0, slash);
  }
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> lines, LineReader::Open(file));
  auto reader = std::make_unique<LastfmReader>(std::move(lines), skip);
  FLYWHEEL_RETURN_IF_ERROR(reader->Init(dir + "/artists.dat"));
  return std::unique_ptr<EventReader>(std::move(reader));
}

}  // namespace flywheel::data
