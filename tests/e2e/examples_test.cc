// End-to-end tests of examples/: the README's quick-start script, the Python client (python3)
// and the JavaScript snippet (node), each against a real `flywheel serve`.
#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "run_cli.h"
#include "serve_process.h"
#include "testing/status_matchers.h"

namespace flywheel {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using e2e::RunCli;
using e2e::RunResult;
using e2e::Server;
using ::flywheel::testing::TempDir;

const std::string kSource = FLYWHEEL_SOURCE_DIR;

// Runs a shell command in the source directory; exit code and stdout + stderr.
RunResult Shell(const std::string& command) {
  return e2e::RunShell("cd '" + kSource + "' && " + command + " 2>&1");
}

std::string Python() {
  return "python3 examples/python/flywheel_client.py";
}

TEST(ExamplesTest, QuickstartScriptRunsTheReadmeSteps) {
  TempDir dir;
  const RunResult run = Shell(std::string("FLYWHEEL=") + FLYWHEEL_BINARY +
                              " PORT=0 DATA_DIR=" + dir.path() + "/shop examples/quickstart.sh");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("\"items\":28"));         // the catalogue
  EXPECT_THAT(run.output, HasSubstr("\"accepted\": 260"));    // the events (Python)
  EXPECT_THAT(run.output, HasSubstr("\"accepted\":1"));       // one more (curl)
  EXPECT_THAT(run.output, HasSubstr("because you"));          // personal reasons
  EXPECT_THAT(run.output, HasSubstr("\"known_user\":true"));  // visitor-1 via curl
  EXPECT_THAT(run.output, Not(HasSubstr("Traceback")));
  // The server was stopped cleanly: the data directory opens and holds everything.
  const RunResult inspect = RunCli("inspect --data-dir " + dir.path() + "/shop");
  EXPECT_THAT(inspect.output, HasSubstr("\"last_seq\": 289"));  // 28 items + 260 + 1 events
}

TEST(ExamplesTest, PythonClientDemoAndErrors) {
  TempDir dir;
  Server server(dir.path() + "/data", "itemknn,pop");
  ASSERT_FALSE(server.url().empty());
  const RunResult demo = Shell(Python() + " --url " + server.url() + " demo");
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  EXPECT_THAT(demo.output, HasSubstr("imported 28 items"));
  EXPECT_THAT(demo.output, HasSubstr("sent events: 260 accepted, 0 duplicates"));
  EXPECT_THAT(demo.output, HasSubstr("recommendations for backpacker-1:\n 1. "));
  // Sending the file again: every event carries an id, so all are duplicates.
  const RunResult again =
      Shell(Python() + " --url " + server.url() + " send-events examples/shop/events.csv");
  EXPECT_THAT(again.output, HasSubstr("\"accepted\": 0, \"duplicates\": 260"));
  const RunResult stats = Shell(Python() + " --url " + server.url() + " stats");
  EXPECT_THAT(stats.output, HasSubstr("\"items\": 28"));
  const RunResult similar = Shell(Python() + " --url " + server.url() + " similar tent-2p --k 3");
  EXPECT_EQ(similar.exit_code, 0) << similar.output;

  // A bad event: the server's 400 with the field, exit status 1.
  const std::string bad = dir.path() + "/bad.csv";
  ASSERT_EQ(Shell("printf 'user,item,type,ts\\nu1,tent-2p,wishlist-typo,2026-11-01\\n' > " + bad)
                .exit_code,
            0);
  const RunResult refused = Shell(Python() + " --url " + server.url() + " send-events " + bad);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.output, HasSubstr("400 invalid_argument"));
  EXPECT_THAT(refused.output, HasSubstr("events[0].type"));
  // No server: a clear error, not a traceback.
  const RunResult down = Shell(Python() + " --url http://127.0.0.1:9 stats");
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_THAT(down.output, HasSubstr("cannot reach http://127.0.0.1:9"));
  EXPECT_THAT(down.output, Not(HasSubstr("Traceback")));
}

TEST(ExamplesTest, PythonClientSendsTheKey) {
  TempDir dir;
  ::setenv("FLYWHEEL_WRITE_KEY", "w-key", 1);
  Server server(dir.path() + "/data", "pop");
  ::unsetenv("FLYWHEEL_WRITE_KEY");
  ASSERT_FALSE(server.url().empty());
  const RunResult no_key = Shell(Python() + " --url " + server.url() + " stats");
  EXPECT_EQ(no_key.exit_code, 1);
  EXPECT_THAT(no_key.output, HasSubstr("401 unauthenticated"));
  const RunResult with_key = Shell("FLYWHEEL_KEY=w-key " + Python() + " --url " + server.url() +
                                   " import-items examples/shop/items.csv");
  EXPECT_EQ(with_key.exit_code, 0) << with_key.output;
  EXPECT_THAT(with_key.output, HasSubstr("{\"items\": 28}"));
}

TEST(ExamplesTest, JavaScriptSnippetAgainstAServer) {
  ASSERT_EQ(Shell("command -v node").exit_code, 0)
      << "node is missing: scripts/install_deps.sh installs Debian's nodejs";
  TempDir dir;
  Server server(dir.path() + "/data", "itemknn,pop");
  ASSERT_FALSE(server.url().empty());
  ASSERT_EQ(RunCli("import-items --url " + server.url() + " examples/shop/items.csv").exit_code, 0);
  const RunResult run = Shell("node examples/js/test_flywheel.mjs " + server.url());
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, HasSubstr("ok recommendationsHtml escapes ids, titles and reasons"));
  EXPECT_THAT(run.output, HasSubstr("ok trackClicks sends a click event"));
  EXPECT_THAT(run.output, HasSubstr("ok renderRecommendations fills the list element"));
  EXPECT_THAT(run.output, Not(HasSubstr("FAIL")));
}

}  // namespace
}  // namespace flywheel
