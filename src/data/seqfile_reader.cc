// Reader of the standard sequential-recommendation benchmark files (SASRec's ml-1m.txt, the
// S3-Rec Beauty.txt): one line per user, "user item item ...", items in time order, no
// timestamps. A user's k-th item (k from 0) becomes a "click" event at ts_ms = k * 1000, so the
// dataset's stable time sort keeps every user's order and interleaves users by position; protocol
// L then splits exactly as the papers do (last item test, second-to-last validation).
//
// Errors name file, line and token: "data: ml-1m.txt:12: field 'item': token 4: not an integer
// id: 'x'". A user on two lines is an error (the format has one line per user).
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/strings.h"
#include "data/dataset.h"
#include "data/reader_common.h"

namespace flywheel::data {
namespace {

constexpr TimestampMs kMsPerPosition = 1000;

// Splits on runs of spaces and tabs.
void SplitTokens(std::string_view line, std::vector<std::string_view>* out) {
  out->clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
    size_t end = i;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') {
      ++end;
    }
    if (end > i) {
      out->push_back(line.substr(i, end - i));
    }
    i = end;
  }
}

class SeqFileReader final : public EventReader {
 public:
  SeqFileReader(std::unique_ptr<LineReader> lines, SkipPolicy skip)
      : lines_(std::move(lines)), guard_(skip, &stats_) {}

  Result<bool> Next(Event* event) override;
  const std::vector<Item>& items() const override { return items_; }
  const ReadStats& stats() const override { return stats_; }
  bool has_timestamps() const override { return false; }
  std::vector<std::string> notes() const override {
    return {
        "no timestamps: a user's k-th item is at time k (users interleaved by position); "
        "protocol L splits exactly as the benchmark papers do, prequential numbers are not a "
        "temporal replay"};
  }

 private:
  // Checks one line and makes it current; a FieldError for a malformed one.
  Status TakeLine(std::string_view text);

  std::unique_ptr<LineReader> lines_;
  ReadStats stats_;
  SkipGuard guard_;
  std::vector<Item> items_;  // none: the files carry no metadata
  std::string line_;
  std::vector<std::string_view> tokens_;  // into line_: user, items...
  size_t next_ = 0;                       // next token of tokens_ to emit
  std::unordered_map<std::string, int64_t> user_line_;
};

Status SeqFileReader::TakeLine(std::string_view text) {
  SplitTokens(text, &tokens_);
  if (tokens_.size() < 2) {
    return FieldError("line", "expected 'user item [item ...]', got '" + std::string(text) + "'");
  }
  FLYWHEEL_RETURN_IF_ERROR(CheckIntegerId(tokens_[0], "user"));
  for (size_t i = 1; i < tokens_.size(); ++i) {
    Status status = CheckIntegerId(tokens_[i], "item");
    if (!status.ok()) {
      return FieldError("item", "token " + std::to_string(i + 1) + ": not an integer id: '" +
                                    std::string(tokens_[i]) + "'");
    }
  }
  auto [it, fresh] = user_line_.emplace(std::string(tokens_[0]), lines_->line_number());
  if (!fresh) {
    return FieldError("user", "user '" + it->first + "' already has line " +
                                  std::to_string(it->second) + " (one line per user)");
  }
  next_ = 1;
  return Status::Ok();
}

Result<bool> SeqFileReader::Next(Event* event) {
  while (next_ == 0 || next_ >= tokens_.size()) {
    next_ = 0;
    tokens_.clear();
    FLYWHEEL_ASSIGN_OR_RETURN(bool got, lines_->ReadLine(&line_));
    if (!got) {
      return false;
    }
    ++stats_.lines;
    const std::string_view text = base::StripCr(line_);
    if (text.empty()) {
      continue;
    }
    Status status = TakeLine(text);
    if (!status.ok()) {
      next_ = 0;
      FLYWHEEL_RETURN_IF_ERROR(guard_.Skip(lines_->name(), lines_->line_number(), status));
    }
  }
  event->user.assign(tokens_[0]);
  event->item.assign(tokens_[next_]);
  event->type.assign("click");
  event->value = 1.0;
  event->ts_ms = static_cast<TimestampMs>(next_ - 1) * kMsPerPosition;
  event->id.clear();
  event->context.clear();
  ++next_;
  ++stats_.events;
  return true;
}

}  // namespace

Result<std::unique_ptr<EventReader>> OpenSeqFile(const std::string& path, SkipPolicy skip) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> lines, LineReader::Open(path));
  return std::unique_ptr<EventReader>(std::make_unique<SeqFileReader>(std::move(lines), skip));
}

}  // namespace flywheel::data
