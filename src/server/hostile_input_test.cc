// Hostile inputs against a real server: each must get a 4xx (or a closed connection) and leave the
// server alive (a fresh /healthz answers) with bounded memory. Timeouts in here are generous upper
// bounds, never timings.
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "server/server_test_fixture.h"

namespace flywheel::server {
namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using test::Client;
using test::EventsBody;
using test::RawConnection;
using test::Reply;
using ::testing::AnyOf;
using ::testing::HasSubstr;

constexpr int kGenerousMs = 10'000;

class HostileInputTest : public test::ServerFixture {
 protected:
  // POST /v1/events with `body`; the reply on a fresh connection.
  Reply PostEvents(const std::string& body) {
    Client c(port());
    return c.Send(http::verb::post, "/v1/events", body);
  }
  // One raw request (bytes as given) on a fresh connection; status 0 when the server closed.
  Reply Raw(const std::string& bytes) {
    RawConnection c(port());
    EXPECT_TRUE(c.connected());
    c.Write(bytes);
    return c.ReadResponse(kGenerousMs);
  }
  // An event batch with one event whose `field` is replaced by the raw JSON text `value`.
  static std::string EventWith(const std::string& field, const std::string& value) {
    json event = json::parse(EventsBody(1))["events"][0];
    event[field] = "@@";
    std::string text = json{{"events", {event}}}.dump();
    text.replace(text.find("\"@@\""), 4, value);
    return text;
  }
};

TEST_F(HostileInputTest, DeclaredBodyOverLimitIs413BeforeTheBodyIsSent) {
  ServerOptions options;
  options.max_body_bytes = 64 << 10;
  StartReady({}, options);
  RawConnection c(port());
  // 1 TiB announced, nothing sent: the 413 must come without the server waiting for (or
  // buffering) the body.
  ASSERT_TRUE(
      c.Write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              "Content-Length: 1099511627776\r\n\r\n"));
  Reply r = c.ReadResponse(kGenerousMs);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body["code"], "payload_too_large");
  EXPECT_TRUE(c.ClosedByPeerWithin(kGenerousMs));
  // Just over the limit, also announced.
  RawConnection c2(port());
  ASSERT_TRUE(c2.Write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                       std::to_string((64 << 10) + 1) + "\r\n\r\n"));
  EXPECT_EQ(c2.ReadResponse(kGenerousMs).status, 413);
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, ChunkedBodyOverLimitIs413) {
  ServerOptions options;
  options.max_body_bytes = 64 << 10;
  StartReady({}, options);
  RawConnection c(port());
  ASSERT_TRUE(c.Write("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  // 1 MiB in 4 KiB chunks, 16 times the limit; the server stops reading once over the limit,
  // so a write may fail (peer closed) after the 413 was sent.
  const std::string chunk = "1000\r\n" + std::string(4096, ' ') + "\r\n";
  for (int i = 0; i < 256 && c.Write(chunk); ++i) {
  }
  Reply r = c.ReadResponse(kGenerousMs);
  EXPECT_EQ(r.status, 413) << c.pending().substr(0, 200);
  EXPECT_EQ(r.body["code"], "payload_too_large");
  // A negative or overflowing chunk size is a malformed request.
  for (const std::string size : {"-1", "fffffffffffffffffffff"}) {
    r = Raw("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
            "\r\nxx\r\n0\r\n\r\n");
    EXPECT_THAT(r.status, AnyOf(400, 413)) << size;
  }
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, DeeplyNestedJsonIsRejectedBeforeParsing) {
  StartReady();
  // 100k and 1M levels: parsing would recurse (or allocate) that deep; the depth guard runs
  // first and answers 400.
  for (size_t depth : {size_t{100'000}, size_t{1'000'000}}) {
    Reply r = PostEvents("{\"events\":" + std::string(depth, '['));
    EXPECT_EQ(r.status, 400) << depth;
    EXPECT_THAT(r.body["message"].get<std::string>(), HasSubstr("nested deeper than 32"));
    std::string objects;
    for (size_t i = 0; i < depth / 10; ++i) {
      objects += "{\"a\":";
    }
    r = PostEvents(objects);
    EXPECT_EQ(r.status, 400) << depth;
  }
  // Brackets inside strings do not count; 32 levels are allowed.
  json event = json::parse(EventsBody(1))["events"][0];
  event["id"] = std::string(200, '[');
  EXPECT_EQ(PostEvents(json{{"events", {event}}}.dump()).status, 202);
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, ManySmallValuesAreRejectedBeforeParsing) {
  ApiLimits limits;
  limits.max_events_per_batch = 1000;  // at most 100,000 JSON values
  StartReady({}, {}, limits);
  EXPECT_EQ(PostEvents(EventsBody(1000)).status, 202);  // a full batch of valid events fits
  const long before = test::ResidentKiB();
  // 8 MiB bodies of tiny values would be hundreds of MiB as parsed documents.
  std::string objects = "{\"events\":[";
  std::string numbers = "{\"events\":[{\"a\":[";
  while (objects.size() < (8u << 20) - 64) {
    objects += "{},";
    numbers += "0,";
  }
  objects += "{}]}";
  numbers += "0]}]}";
  for (const std::string* body : {&objects, &numbers}) {
    Reply r = PostEvents(*body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body["message"], "JSON has more than 100000 values");
  }
  const long after = test::ResidentKiB();
  EXPECT_LT(after - before, 128L << 10) << "RSS grew from " << before << " to " << after << " KiB";
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, NonFiniteAndHugeNumbers) {
  StartReady();
  // Not JSON at all (NaN, Infinity) or out of double range (1e999): rejected, never stored.
  for (const std::string field : {"value", "ts"}) {
    for (const std::string& number : std::vector<std::string>{
             "NaN", "Infinity", "-Infinity", "1e999", "-1e999", "nan", std::string(1 << 20, '9')}) {
      Reply r = PostEvents(EventWith(field, number));
      EXPECT_EQ(r.status, 400) << field << "=" << number.substr(0, 20) << ": " << r.text;
      EXPECT_EQ(r.body["code"], "invalid_argument");
    }
  }
  EXPECT_EQ(engine_->stats().last_seq, 0u);
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, UnknownFieldsAndWrongTypes) {
  StartReady();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"usr", "\"u1\""},   {"user", "5"},      {"user", "null"},
      {"user", "[\"u\"]"}, {"item", "{}"},     {"type", "true"},
      {"ts", "\"later\""}, {"ts", "1.5"},      {"value", "\"1\""},
      {"id", "7"},         {"context", "[1]"}, {"context", "{\"a\":{}}"},
      {"user", "\"\""},    {"ts", "-1"},       {"ts", "99999999999999999999"},
  };
  for (const auto& [field, value] : cases) {
    Reply r = PostEvents(EventWith(field, value));
    EXPECT_EQ(r.status, 400) << field << "=" << value << ": " << r.text;
    EXPECT_EQ(r.body["errors"][0]["index"], 0) << field << "=" << value;
    // The field, or a path inside it (context.a).
    EXPECT_THAT(r.body["errors"][0]["field"].get<std::string>(), ::testing::StartsWith(field))
        << field << "=" << value << ": " << r.text;
  }
  // Wrong types for the batch itself and unknown top-level fields.
  for (const std::string body : {"null", "5", "\"events\"", R"({"events": {}})",
                                 R"({"events": [5]})", R"({"events": [null]})"}) {
    Reply r = PostEvents(body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_EQ(r.body["code"], "invalid_argument") << body;
  }
  EXPECT_EQ(engine_->stats().last_seq, 0u);
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, HugeIds) {
  StartReady();
  const std::string huge(1 << 20, 'x');
  for (const std::string field : {"user", "item", "id", "type"}) {
    json event = json::parse(EventsBody(1))["events"][0];
    event[field] = huge;
    Reply r = PostEvents(json{{"events", {event}}}.dump());
    EXPECT_EQ(r.status, 400) << field;
    EXPECT_EQ(r.body["errors"][0]["field"], field) << r.text.substr(0, 300);
  }
  // 256 bytes is the documented maximum.
  json event = json::parse(EventsBody(1))["events"][0];
  event["user"] = std::string(256, 'u');
  EXPECT_EQ(PostEvents(json{{"events", {event}}}.dump()).status, 202);
  // A 1 MB id in the path is a 1 MB request line: over the header limit.
  Reply r = Raw("GET /v1/users/" + huge + "/recommendations HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 431);
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, ControlCharactersInValuesHeadersAndQueries) {
  StartReady();
  // In ids (escaped in JSON): refused (issue 17, item 10), never stored nor reflected raw.
  json event = json::parse(EventsBody(1))["events"][0];
  event["user"] = std::string("a\r\nX-Injected: 1\0b", 19);
  Reply r = PostEvents(json{{"events", {event}}}.dump());
  EXPECT_EQ(r.status, 400) << r.text;
  EXPECT_EQ(r.body["field"], "events[0].user");
  EXPECT_EQ(r.text.find_first_of(std::string("\r\n\0", 3)), std::string::npos);
  // In other values: stored as given, never reflected raw.
  event["user"] = "u1";
  event["context"] = {{"k", "v\r\n"}};
  r = PostEvents(json{{"events", {event}}}.dump());
  EXPECT_EQ(r.status, 202) << r.text;
  // In header values: CR, LF or NUL inside a value is a malformed request.
  for (const std::string& value :
       {std::string("a\rb"), std::string("a\0b", 3), std::string("a\r\nX-Injected: 1\r\nb")}) {
    r = Raw("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: " + value + "\r\n\r\n");
    if (r.status == 200) {  // parsed as separate header lines: nothing injected in the reply
      EXPECT_EQ(r.headers.count("x-injected"), 0u);
      EXPECT_EQ(r.headers["x-request-id"].find_first_of(std::string("\r\n\0", 3)),
                std::string::npos);
    } else {
      EXPECT_THAT(r.status, AnyOf(0, 400)) << value;
    }
  }
  // Percent-encoded CR/LF/NUL in the path and the query: decoded into values, never into the
  // response headers.
  Client c(port());
  r = c.Send(http::verb::get, "/v1/users/a%0D%0AX-Injected:%201%00/recommendations?k=2");
  EXPECT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.headers.count("x-injected"), 0u);
  r = c.Send(http::verb::get, "/v1/users/u1/recommendations?model=%0D%0AX-Injected:%201");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.headers.count("x-injected"), 0u);
  r = c.Send(http::verb::get, "/v1/users/u1/recommendations?k=5%00");
  EXPECT_EQ(r.status, 400);
  // Raw control characters in the request target are malformed.
  for (const std::string& target : {std::string("/healthz\r"), std::string("/hea\0lthz", 9),
                                    std::string("/v1/users/a\tb/recommendations")}) {
    r = Raw("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_THAT(r.status, AnyOf(0, 400)) << target;
  }
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, PercentEncodingErrorsAndBadUtf8) {
  StartReady();
  Client c(port());
  for (const std::string target :
       {"/v1/users/%zz/recommendations", "/v1/users/%/recommendations",
        "/v1/users/%4/recommendations", "/v1/users/u1/recommendations?k=%",
        "/v1/users/u1/recommendations?%zz=1", "/healthz?x=%G0"}) {
    Reply r = c.Send(http::verb::get, target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body["code"], "invalid_argument") << target;
  }
  // Invalid UTF-8 (raw or percent-encoded) in the path, query and body: a 4xx JSON error whose
  // message stays valid UTF-8, never a 500.
  for (const std::string target :
       {"/v1/nowhere/%FF%FE", "/nowhere\xff", "/v1/users/u1/recommendations?model=%C3%28",
        "/v1/users/%FF/recommendations?model=\xc3\x28",
        "/v1/users/u1/recommendations?model=%ED%A0%80"}) {
    Reply r = c.Send(http::verb::get, target);
    EXPECT_GE(r.status, 400) << target;
    EXPECT_LT(r.status, 500) << target << ": " << r.text;
    EXPECT_FALSE(r.body.is_discarded()) << target << ": " << r.text;
  }
  // A bad-UTF-8 user id is an unknown user, not an error.
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/%FF%FE/recommendations").status, 200);
  for (const std::string& bad : {std::string("\xff"), std::string("\xc3\x28"),
                                 std::string("\xed\xa0\x80"), std::string("\xf8\x88\x80\x80")}) {
    const std::string body = R"({"events": [{"user": ")" + bad +
                             R"(", "item": "i", "type": "view", "ts": 1700000000000}]})";
    Reply r = c.Send(http::verb::post, "/v1/events", body);
    EXPECT_EQ(r.status, 400) << r.text;
  }
  EXPECT_EQ(engine_->stats().last_seq, 0u);
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, NegativeHugeAndNonNumericK) {
  StartReady();
  Client c(port());
  for (const std::string k :
       {"-1", "-2147483649", "2147483648", "18446744073709551617", "1e3", "ten", "1,2", "0"}) {
    Reply r = c.Send(http::verb::get, "/v1/users/u1/recommendations?k=" + k);
    EXPECT_EQ(r.status, 400) << k;
    EXPECT_EQ(r.body["field"], "k") << k;
  }
  EXPECT_EQ(c.Send(http::verb::get, "/v1/users/u1/recommendations?k=1&k=1000").status, 200);
}

TEST_F(HostileInputTest, SlowlorisIsClosedWithinTheRequestTimeout) {
  ServerOptions options;
  options.request_timeout_ms = 300;
  options.idle_timeout_ms = 60'000;  // the trickler must hit the request limit, not this one
  StartReady({}, options);
  // Headers, one byte every 50 ms: the whole request must arrive within request_timeout_ms.
  RawConnection headers(port());
  const std::string request =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(400, 'a') + "\r\n\r\n";
  bool closed = false;
  for (size_t i = 0; i < request.size() && !closed; ++i) {
    headers.Write(request.substr(i, 1));
    closed = headers.ClosedByPeerWithin(50);
  }
  EXPECT_TRUE(closed || headers.ClosedByPeerWithin(kGenerousMs));
  EXPECT_TRUE(headers.pending().empty()) << headers.pending();  // closed, no response
  // A body trickled after complete headers: the same limit.
  RawConnection body(port());
  body.Write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{");
  closed = false;
  for (int i = 0; i < 400 && !closed; ++i) {
    body.Write(" ");
    closed = body.ClosedByPeerWithin(50);
  }
  EXPECT_TRUE(closed || body.ClosedByPeerWithin(kGenerousMs));
  EXPECT_TRUE(body.pending().empty()) << body.pending();
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, IdleConnectionsAreClosed) {
  ServerOptions options;
  options.idle_timeout_ms = 200;
  StartReady({}, options);
  RawConnection silent(port());
  EXPECT_TRUE(silent.ClosedByPeerWithin(kGenerousMs));
  EXPECT_TRUE(silent.pending().empty());  // closed without a response
  RawConnection kept(port());             // idle after one request on a keep-alive connection
  ASSERT_TRUE(kept.Write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(kept.ReadResponse().status, 200);
  EXPECT_TRUE(kept.ClosedByPeerWithin(kGenerousMs));
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, ConnectionsOverTheLimitGet503) {
  ServerOptions options;
  options.max_connections = 8;
  StartReady({}, options);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawConnection>(port()));
    ASSERT_TRUE(idle.back()->connected());
  }
  ASSERT_TRUE(WaitForConnections(8));
  for (int i = 0; i < 5; ++i) {
    RawConnection extra(port());
    Reply r = extra.ReadResponse(kGenerousMs);  // answered without sending anything
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.body["code"], "unavailable");
    EXPECT_TRUE(extra.ClosedByPeerWithin(kGenerousMs));
  }
  idle.clear();
  ASSERT_TRUE(WaitForConnections(0));
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, PipelinedRequestsAnswerInOrder) {
  StartReady();
  RawConnection c(port());
  const std::string events = EventsBody(2);
  std::string batch = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  batch +=
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(events.size()) +
      "\r\n\r\n" + events;
  batch += "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n";
  batch += "GET /v1/stats HTTP/1.1\r\nHost: x\r\nX-Request-Id: last\r\n\r\n";
  batch += "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  batch += "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";  // after close: never answered
  ASSERT_TRUE(c.Write(batch));
  EXPECT_EQ(c.ReadResponse().status, 200);
  EXPECT_EQ(c.ReadResponse().status, 202);
  EXPECT_EQ(c.ReadResponse().status, 404);
  Reply r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["x-request-id"], "last");
  EXPECT_EQ(r.body["events"], 2);
  EXPECT_EQ(c.ReadResponse().status, 200);
  EXPECT_TRUE(c.ClosedByPeerWithin(kGenerousMs));
  EXPECT_TRUE(c.pending().empty());
}

TEST_F(HostileInputTest, OversizedRequestLineAndHeaders) {
  StartReady();
  // A 1 MB request line, a 1 MB header value, 10,000 small headers: 431 (header limit 16 KiB).
  std::vector<std::string> requests = {
      "GET /healthz?" + std::string(1 << 20, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n",
  };
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 10'000; ++i) {
    many += "X-" + std::to_string(i) + ": v\r\n";
  }
  requests.push_back(many + "\r\n");
  for (const std::string& request : requests) {
    Reply r = Raw(request);
    EXPECT_EQ(r.status, 431) << request.substr(0, 40);
    EXPECT_EQ(r.body["code"], "payload_too_large");
  }
  EXPECT_TRUE(Alive());
}

TEST_F(HostileInputTest, MemoryStaysBoundedUnderABarrage) {
  ServerOptions options;
  options.max_body_bytes = 1 << 20;
  StartReady({}, options);
  // Warm up the allocator and the server's per-route state first.
  EXPECT_EQ(PostEvents(EventsBody(10)).status, 202);
  const long before = test::ResidentKiB();
  ASSERT_GT(before, 0);
  for (int round = 0; round < 20; ++round) {
    {  // announced 1 TiB
      RawConnection c(port());
      c.Write("POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1099511627776\r\n\r\n");
      EXPECT_EQ(c.ReadResponse().status, 413);
    }
    {  // 8 MiB chunked against a 1 MiB limit
      RawConnection c(port());
      c.Write("POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
      const std::string chunk = "10000\r\n" + std::string(1 << 16, '[') + "\r\n";
      for (int i = 0; i < 128 && c.Write(chunk); ++i) {
      }
      EXPECT_EQ(c.ReadResponse().status, 413);
    }
    EXPECT_EQ(PostEvents("{\"events\":" + std::string(500'000, '[')).status, 400);
    EXPECT_EQ(Raw("GET /healthz HTTP/1.1\r\nX: " + std::string(1 << 20, 'a') + "\r\n\r\n").status,
              431);
  }
  EXPECT_TRUE(Alive());
  const long after = test::ResidentKiB();
  // Generous: the barrage announced 20 TiB and streamed 160 MiB + 20 MiB of headers. (ASan keeps
  // freed memory in its quarantine, so the bound is not tight.)
  EXPECT_LT(after - before, 256L << 10) << "RSS grew from " << before << " to " << after << " KiB";
}

}  // namespace
}  // namespace flywheel::server
