// Result<T>: either a value of type T or a non-OK Status (like absl::StatusOr / std::expected).
//
// Accessing value() of an error Result aborts with the status message: check ok() first.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "flywheel/status.h"

namespace flywheel {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit by design, so functions can `return value;` or `return status;`.
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) {
      status_ = Status::Internal("result: constructed from an OK status without a value");
    }
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

  T& value() & {
    CheckOk();
    return *value_;
  }
  const T& value() const& {
    CheckOk();
    return *value_;
  }
  T&& value() && {
    CheckOk();
    return std::move(*value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  void CheckOk() const {
    if (!status_.ok()) {
      std::fprintf(stderr, "flywheel: value() of an error result: %s\n",
                   status_.ToString().c_str());
      std::abort();
    }
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace flywheel

#define FLYWHEEL_CONCAT_INNER(a, b) a##b
#define FLYWHEEL_CONCAT(a, b) FLYWHEEL_CONCAT_INNER(a, b)
// `lhs` may be a declaration and `tmp` is a name, so neither can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define FLYWHEEL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) {                                     \
    return tmp.status();                               \
  }                                                    \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)

// Evaluates `expr` (a Result<T>); on error returns its status, else assigns the value to `lhs`
// (which may be a declaration: FLYWHEEL_ASSIGN_OR_RETURN(auto x, F());).
#define FLYWHEEL_ASSIGN_OR_RETURN(lhs, expr) \
  FLYWHEEL_ASSIGN_OR_RETURN_IMPL(FLYWHEEL_CONCAT(flywheel_result_, __LINE__), lhs, expr)
