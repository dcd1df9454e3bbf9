// RedisClient: one synchronous connection to a Redis server over hiredis (doc/stream.md).
//
// Commands are argument vectors (binary-safe, no format strings); replies are copied into a
// RedisReply tree, so no hiredis object outlives a call. Any transport failure (connect, timeout,
// a closed socket) marks the connection broken: every later call fails fast with kUnavailable
// until Reconnect(). Error replies ("-ERR ...") are returned as replies of type kError by
// Pipeline and as kFailedPrecondition by Command, with Redis' message.
//
// Threads: one caller at a time (the owner's thread); not internally synchronised.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flywheel/result.h"

struct redisContext;

namespace flywheel::stream {

// Where a stream lives: redis://[:PASSWORD@]HOST[:PORT]/STREAM.
struct StreamAddress {
  std::string host;
  int port = 6379;
  std::string password;  // empty: no AUTH
  std::string stream;
  std::string ToString() const;  // the URL without the password
};

// kInvalidArgument naming the part that is wrong.
Result<StreamAddress> ParseStreamUrl(std::string_view url);

struct RedisReply {
  enum class Type { kNil, kString, kStatus, kInteger, kArray, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  int64_t integer = 0;
  std::vector<RedisReply> elements;  // kArray

  bool is_error() const { return type == Type::kError; }
  bool is_nil() const { return type == Type::kNil; }
  // For a reply that is a flat key/value array (XINFO): the value of `key`, or null.
  const RedisReply* Find(std::string_view key) const;
};

class RedisClient {
 public:
  // Connects (and AUTHs when a password is given). `timeout_ms` bounds connecting and each
  // reply; blocking commands must ask for less.
  static Result<std::unique_ptr<RedisClient>> Connect(const StreamAddress& address, int timeout_ms);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // One command; an error reply is kFailedPrecondition with Redis' message.
  Result<RedisReply> Command(const std::vector<std::string>& argv);
  // Several commands in one round trip; each reply in order (error replies included as such).
  Result<std::vector<RedisReply>> Pipeline(const std::vector<std::vector<std::string>>& commands);

  // Drops the connection and connects again.
  Status Reconnect();
  bool broken() const { return context_ == nullptr; }

 private:
  RedisClient(StreamAddress address, int timeout_ms)
      : address_(std::move(address)), timeout_ms_(timeout_ms) {}
  Status Open();
  Status Broken(std::string_view what);

  StreamAddress address_;
  int timeout_ms_;
  redisContext* context_ = nullptr;
};

// Stream entry ids "<ms>-<seq>" compared as numbers; false when either does not parse.
bool ParseEntryId(std::string_view id, uint64_t* ms, uint64_t* seq);
// -1, 0, 1; an id that does not parse sorts first.
int CompareEntryIds(std::string_view a, std::string_view b);

}  // namespace flywheel::stream
