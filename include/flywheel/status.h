// Status: the outcome of an operation that can fail, as a code plus a message, plus for
// validation errors the input field it concerns, as data (WithField/field()).
//
// OK is cheap (no allocation). Messages are lower-case, name the module and what failed with what:
// "data: u.data:12: field 'rating': not a number: 'x'". Status is a value type; copies are
// independent. Not thread-safe for concurrent mutation (like any value), safe to share const.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace flywheel {

// Which code to pick:
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,     // the caller's input is malformed (bad flag, bad JSON, bad field)
  kNotFound = 2,            // a named thing (file, user, item) does not exist
  kAlreadyExists = 3,       // creating something that exists (duplicate id where not allowed)
  kFailedPrecondition = 4,  // the system is not in a state that allows the call
  kResourceExhausted = 5,   // a quota, memory budget or disk is full
  kUnavailable = 6,         // transient: retrying later may succeed
  kDeadlineExceeded = 7,    // a time limit passed
  kCorruption = 8,          // stored bytes are damaged (checksum, truncated record)
  kIoError = 9,             // the operating system refused an I/O call
  kUnimplemented = 10,      // the feature is not available in this build or mode
  kInternal = 11,           // a bug: an invariant of ours was broken
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string_view message);

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view m) { return {StatusCode::kInvalidArgument, m}; }
  static Status NotFound(std::string_view m) { return {StatusCode::kNotFound, m}; }
  static Status AlreadyExists(std::string_view m) { return {StatusCode::kAlreadyExists, m}; }
  static Status FailedPrecondition(std::string_view m) {
    return {StatusCode::kFailedPrecondition, m};
  }
  static Status ResourceExhausted(std::string_view m) {
    return {StatusCode::kResourceExhausted, m};
  }
  static Status Unavailable(std::string_view m) { return {StatusCode::kUnavailable, m}; }
  static Status DeadlineExceeded(std::string_view m) { return {StatusCode::kDeadlineExceeded, m}; }
  static Status Corruption(std::string_view m) { return {StatusCode::kCorruption, m}; }
  static Status IoError(std::string_view m) { return {StatusCode::kIoError, m}; }
  static Status Unimplemented(std::string_view m) { return {StatusCode::kUnimplemented, m}; }
  static Status Internal(std::string_view m) { return {StatusCode::kInternal, m}; }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  // Empty for OK.
  const std::string& message() const;
  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<prefix>: <message>" (OK stays OK); the field is kept.
  Status WithPrefix(std::string_view prefix) const;

  // Structured validation errors: the input field an error concerns ("ts", "context.device",
  // "categories[2]", a query parameter "k"), set by the validator that found it, so that callers
  // (the HTTP API's "field", Engine::Validate's EventError::field) never parse messages. The
  // message still names the field for humans ("event: field 'ts': ..."). Empty when the error
  // concerns no single field (not valid JSON, an unknown field) and for OK.
  const std::string& field() const;
  // Returns a copy carrying `field` (OK stays OK).
  Status WithField(std::string_view field) const;

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;
  ~Status() = default;

  // Compares code and message (the field is derived from the same check as the message).
  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
    std::string field;
  };
  std::unique_ptr<State> state_;
};

}  // namespace flywheel

// Returns from the enclosing function if `expr` (a Status) is not OK.
#define FLYWHEEL_RETURN_IF_ERROR(expr)                \
  do {                                                \
    ::flywheel::Status flywheel_status_tmp_ = (expr); \
    if (!flywheel_status_tmp_.ok()) {                 \
      return flywheel_status_tmp_;                    \
    }                                                 \
  } while (false)
