// An HttpClient for a server URL "http://host:port", with an optional bearer key: the e2e tests'
// way to talk to a `flywheel serve` subprocess.
#ifndef FLYWHEEL_TESTS_E2E_URL_CLIENT_H_
#define FLYWHEEL_TESTS_E2E_URL_CLIENT_H_

#include <string>

#include <gtest/gtest.h>

#include "client/http_client.h"

namespace flywheel::e2e {

inline client::HttpClient ClientFor(const std::string& url, const std::string& key = "") {
  Result<client::Url> parsed = client::ParseUrl(url);
  EXPECT_TRUE(parsed.ok()) << url;
  client::ClientOptions options;
  options.host = parsed.ok() ? parsed->host : "";
  options.port = parsed.ok() ? parsed->port : 0;
  options.bearer_token = key;
  return client::HttpClient(options);
}

}  // namespace flywheel::e2e

#endif  // FLYWHEEL_TESTS_E2E_URL_CLIENT_H_
