#include "stream/redis_client.h"

#include <charconv>
#include <utility>

#include <hiredis/hiredis.h>

namespace flywheel::stream {
namespace {

timeval ToTimeval(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

RedisReply Copy(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) {
        out.elements.push_back(Copy(r->element[i]));
      }
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty()) {
    return false;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

const RedisReply* RedisReply::Find(std::string_view key) const {
  for (size_t i = 0; i + 1 < elements.size(); i += 2) {
    if (elements[i].str == key) {
      return &elements[i + 1];
    }
  }
  return nullptr;
}

std::string StreamAddress::ToString() const {
  return "redis://" + host + ":" + std::to_string(port) + "/" + stream;
}

Result<StreamAddress> ParseStreamUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("'" + std::string(url) + "': " + why +
                                   " (expected redis://[:PASSWORD@]HOST[:PORT]/STREAM)");
  };
  if (url.substr(0, kScheme.size()) != kScheme) {
    return bad("not a redis:// URL");
  }
  std::string_view rest = url.substr(kScheme.size());
  StreamAddress out;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view auth = rest.substr(0, at);
    if (auth.empty() || auth.front() != ':') {
      return bad("only a password is supported before '@' (redis://:PASSWORD@HOST)");
    }
    out.password = std::string(auth.substr(1));
    rest = rest.substr(at + 1);
  }
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
    return bad("no stream name after the address");
  }
  out.stream = std::string(rest.substr(slash + 1));
  std::string_view hostport = rest.substr(0, slash);
  if (const size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    uint64_t port = 0;
    if (!ParseU64(hostport.substr(colon + 1), &port) || port == 0 || port > 65535) {
      return bad("port must be 1..65535");
    }
    out.port = static_cast<int>(port);
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) {
    return bad("no host");
  }
  out.host = std::string(hostport);
  if (out.stream.find_first_of(" \t\r\n") != std::string::npos) {
    return bad("the stream name contains white space");
  }
  return out;
}

Result<std::unique_ptr<RedisClient>> RedisClient::Connect(const StreamAddress& address,
                                                          int timeout_ms) {
  std::unique_ptr<RedisClient> client(new RedisClient(address, timeout_ms));
  FLYWHEEL_RETURN_IF_ERROR(client->Open());
  return client;
}

RedisClient::~RedisClient() {
  if (context_ != nullptr) {
    redisFree(context_);
  }
}

Status RedisClient::Open() {
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
  redisContext* c =
      redisConnectWithTimeout(address_.host.c_str(), address_.port, ToTimeval(timeout_ms_));
  if (c == nullptr) {
    return Status::Unavailable("redis " + address_.ToString() + ": cannot allocate a context");
  }
  if (c->err != 0) {
    std::string why = c->errstr;
    redisFree(c);
    return Status::Unavailable("redis " + address_.ToString() + ": connect: " + why);
  }
  redisSetTimeout(c, ToTimeval(timeout_ms_));
  redisEnableKeepAlive(c);
  context_ = c;
  if (!address_.password.empty()) {
    Result<RedisReply> auth = Command({"AUTH", address_.password});
    if (!auth.ok()) {
      return auth.status();
    }
  }
  return Status::Ok();
}

Status RedisClient::Reconnect() {
  return Open();
}

Status RedisClient::Broken(std::string_view what) {
  std::string why = context_ != nullptr && context_->err != 0 ? context_->errstr : "closed";
  if (context_ != nullptr) {
    redisFree(context_);
    context_ = nullptr;
  }
  return Status::Unavailable("redis " + address_.ToString() + ": " + std::string(what) + ": " +
                             why);
}

Result<RedisReply> RedisClient::Command(const std::vector<std::string>& argv) {
  FLYWHEEL_ASSIGN_OR_RETURN(std::vector<RedisReply> replies, Pipeline({argv}));
  RedisReply& reply = replies.front();
  if (reply.is_error()) {
    return Status::FailedPrecondition("redis " + argv.front() + ": " + reply.str);
  }
  return std::move(reply);
}

Result<std::vector<RedisReply>> RedisClient::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  if (context_ == nullptr) {
    return Status::Unavailable("redis " + address_.ToString() + ": not connected");
  }
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const std::vector<std::string>& argv : commands) {
    args.clear();
    lens.clear();
    for (const std::string& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(args.size()), args.data(), lens.data()) !=
        REDIS_OK) {
      return Broken("send");
    }
  }
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      return Broken("reply");
    }
    auto* reply = static_cast<redisReply*>(raw);
    replies.push_back(Copy(reply));
    freeReplyObject(reply);
  }
  return replies;
}

bool ParseEntryId(std::string_view id, uint64_t* ms, uint64_t* seq) {
  const size_t dash = id.find('-');
  if (dash == std::string_view::npos) {
    return false;
  }
  return ParseU64(id.substr(0, dash), ms) && ParseU64(id.substr(dash + 1), seq);
}

int CompareEntryIds(std::string_view a, std::string_view b) {
  uint64_t am = 0;
  uint64_t as = 0;
  uint64_t bm = 0;
  uint64_t bs = 0;
  const bool ap = ParseEntryId(a, &am, &as);
  const bool bp = ParseEntryId(b, &bm, &bs);
  if (!ap || !bp) {
    return ap == bp ? 0 : (ap ? 1 : -1);
  }
  if (am != bm) {
    return am < bm ? -1 : 1;
  }
  return as == bs ? 0 : (as < bs ? -1 : 1);
}

}  // namespace flywheel::stream
