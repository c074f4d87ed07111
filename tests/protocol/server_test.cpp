// Behaviours of `nativelm serve` that transcripts cannot express: huge lines, signals, exit codes,
// stdout hygiene, the CLI's own flags.
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/subprocess.h"

namespace nlm::testing {
namespace {
using nlohmann::json;

TEST(Serve, HugeLineIsRefusedWithBoundedMemoryAndServingContinues) {
  Subprocess p(serve_argv({"--max-line-bytes", "1048576"}));
  ASSERT_TRUE(p.send({{"command", "status"}}));
  auto before = p.read_json();
  ASSERT_TRUE(before);
  const int64_t baseline = (*before)["memory"]["peak_rss_bytes"].get<int64_t>();  // ASan's own is large
  // 40 MB of one line, written in pieces, with no newline until the end.
  std::string chunk(1 << 20, 'x');
  ASSERT_TRUE(p.write("{\"command\":\"ping\",\"pad\":\""));
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(p.write(chunk));
  ASSERT_TRUE(p.write("\"}\n"));
  ASSERT_TRUE(p.send({{"command", "ping"}, {"id", 2}}));
  auto err = p.read_json();
  ASSERT_TRUE(err);
  EXPECT_EQ((*err)["success"], false);
  EXPECT_EQ((*err)["code"], "invalid_request");
  EXPECT_NE((*err)["error"].get<std::string>().find("1048576"), std::string::npos) << err->dump();
  auto pong = p.read_json();
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["id"], 2);
  EXPECT_EQ((*pong)["message"], "pong");
  ASSERT_TRUE(p.send({{"command", "status"}}));
  auto status = p.read_json();
  ASSERT_TRUE(status);
  // The 40 MB line was never buffered whole.
  EXPECT_LT((*status)["memory"]["peak_rss_bytes"].get<int64_t>() - baseline, 20 << 20) << status->dump();
  p.close_stdin();
  EXPECT_EQ(p.wait(), 0);
}

TEST(Serve, LineJustUnderTheLimitIsServed) {
  Subprocess p(serve_argv({"--max-line-bytes", "4096"}));
  std::string pad(3000, 'y');
  ASSERT_TRUE(p.send({{"command", "ping"}, {"id", 1}, {"pad", pad}}));
  auto pong = p.read_json();
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["message"], "pong");
}

TEST(Serve, SigtermExitsZero) {
  Subprocess p(serve_argv());
  ASSERT_TRUE(p.send({{"command", "ping"}}));
  ASSERT_TRUE(p.read_json());
  p.signal(SIGTERM);
  EXPECT_EQ(p.wait(), 0);
}

TEST(Serve, EndOfInputWithoutNewlineStillAnswers) {
  Subprocess p(serve_argv());
  ASSERT_TRUE(p.write("{\"command\":\"ping\",\"id\":\"last\"}"));
  p.close_stdin();
  auto pong = p.read_json();
  ASSERT_TRUE(pong);
  EXPECT_EQ((*pong)["id"], "last");
  EXPECT_EQ(p.wait(), 0);
}

TEST(Serve, StdoutCarriesOnlyProtocolLines) {
  Subprocess p(serve_argv({"--log-level", "debug"}));
  ASSERT_TRUE(p.write_line("garbage"));
  ASSERT_TRUE(p.send({{"command", "ping"}}));
  p.close_stdin();
  int lines = 0;
  while (auto line = p.read_line()) {
    auto j = json::parse(*line, nullptr, false);
    EXPECT_TRUE(j.is_object()) << *line;
    ++lines;
  }
  EXPECT_EQ(lines, 2);
  EXPECT_EQ(p.wait(), 0);
}

TEST(Serve, ManyPingsInOneWriteAreAnsweredInOrder) {
  Subprocess p(serve_argv());
  std::string batch;
  for (int i = 0; i < 500; ++i) batch += json{{"command", "ping"}, {"id", i}}.dump() + "\n";
  ASSERT_TRUE(p.write(batch));
  for (int i = 0; i < 500; ++i) {
    auto pong = p.read_json();
    ASSERT_TRUE(pong);
    ASSERT_EQ((*pong)["id"], i);
  }
}

TEST(Serve, BadServeArgumentIsAUsageError) {
  Subprocess p({binary_path(), "serve", "--no-such-flag"});
  EXPECT_EQ(p.wait(), 2);
  EXPECT_NE(p.stderr_text().find("--no-such-flag"), std::string::npos);
}

TEST(Cli, VersionAndHelp) {
  {
    Subprocess p({binary_path(), "--version"});
    auto line = p.read_line();
    ASSERT_TRUE(line);
    EXPECT_EQ(line->rfind("nativelm ", 0), 0u) << *line;
    EXPECT_EQ(p.wait(), 0);
  }
  {
    Subprocess p({binary_path(), "--help"});
    std::string all;
    while (auto line = p.read_line()) all += *line + "\n";
    EXPECT_NE(all.find("serve"), std::string::npos);
    EXPECT_EQ(p.wait(), 0);
  }
  {
    Subprocess p({binary_path(), "serve", "--help"});
    std::string all;
    while (auto line = p.read_line()) all += *line + "\n";
    EXPECT_NE(all.find("--log-level"), std::string::npos);
    EXPECT_EQ(p.wait(), 0);
  }
  {
    Subprocess p({binary_path(), "frobnicate"});
    EXPECT_EQ(p.wait(), 2);
  }
}

}  // namespace
}  // namespace nlm::testing

namespace nlm::testing {
namespace {
using nlohmann::json;
using namespace std::chrono_literals;

TEST(ServeConcurrency, PingIsNotDelayedBySlowRequests) {
  Subprocess p(serve_argv({"--debug-commands", "--max-concurrent", "1"}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 3000}, {"id", "slow"}}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 3000}, {"id", "queued"}}));
  ASSERT_TRUE(p.send({{"command", "ping"}, {"id", "fast"}}));
  auto first = p.read_json(2000ms);  // long before either sleep could finish
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["id"], "fast");
  // Cancel both; each answers `cancelled`, the queued one without ever starting.
  ASSERT_TRUE(p.send({{"command", "cancel"}, {"target", "queued"}, {"id", "c1"}}));
  ASSERT_TRUE(p.send({{"command", "cancel"}, {"target", "slow"}, {"id", "c2"}}));
  std::map<std::string, json> by_id;
  for (int i = 0; i < 4; ++i) {
    auto line = p.read_json(10s);
    ASSERT_TRUE(line);
    by_id[(*line)["id"].get<std::string>()] = *line;
  }
  EXPECT_EQ(by_id["c1"]["cancelled"], true);
  EXPECT_EQ(by_id["c2"]["cancelled"], true);
  EXPECT_EQ(by_id["slow"]["code"], "cancelled");
  EXPECT_EQ(by_id["queued"]["code"], "cancelled");
}

TEST(ServeConcurrency, OverloadedWhenTheQueueIsFull) {
  Subprocess p(serve_argv({"--debug-commands", "--max-concurrent", "1", "--max-queued", "1"}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 800}, {"id", 1}}));
  // Wait until the worker has taken #1 (status runs on the reader thread), so #2 waits in the queue. A
  // fixed pause was not enough for a sanitized build on a busy machine.
  for (int tries = 0;; ++tries) {
    ASSERT_LT(tries, 500) << "request 1 never left the queue";
    ASSERT_TRUE(p.send({{"command", "status"}}));
    auto st = p.read_json();
    ASSERT_TRUE(st);
    if ((*st)["requests_in_flight"] == 1 && (*st)["requests_queued"] == 0) break;
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 10}, {"id", 2}}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 10}, {"id", 3}}));
  auto over = p.read_json();
  ASSERT_TRUE(over);
  EXPECT_EQ((*over)["id"], 3);
  EXPECT_EQ((*over)["code"], "overloaded");
  auto a = p.read_json();
  auto b = p.read_json();
  ASSERT_TRUE(a && b);
  EXPECT_EQ((*a)["id"], 1);
  EXPECT_EQ((*b)["id"], 2);
  EXPECT_EQ((*b)["success"], true);
}

TEST(ServeConcurrency, EndOfInputAnswersWhatIsInFlightThenExitsZero) {
  Subprocess p(serve_argv({"--debug-commands"}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 300}, {"id", "a"}}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 200}, {"id", "b"}}));
  p.close_stdin();
  std::set<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto line = p.read_json();
    ASSERT_TRUE(line);
    EXPECT_EQ((*line)["success"], true) << line->dump();
    ids.insert((*line)["id"].get<std::string>());
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(p.wait(), 0);
}

TEST(ServeConcurrency, ShutdownAnswersWhatIsInFlightThenExitsZero) {
  Subprocess p(serve_argv({"--debug-commands"}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 300}, {"id", "work"}}));
  ASSERT_TRUE(p.send({{"command", "shutdown"}, {"id", "bye"}}));
  auto bye = p.read_json();
  ASSERT_TRUE(bye);
  EXPECT_EQ((*bye)["id"], "bye");
  auto work = p.read_json();
  ASSERT_TRUE(work);
  EXPECT_EQ((*work)["id"], "work");
  EXPECT_EQ((*work)["success"], true);
  EXPECT_EQ(p.wait(), 0);
}

TEST(ServeConcurrency, SigtermCancelsWhatIsInFlightAndExitsZero) {
  Subprocess p(serve_argv({"--debug-commands"}));
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"ms", 60000}, {"id", "long"}}));
  ASSERT_TRUE(p.send({{"command", "ping"}}));
  ASSERT_TRUE(p.read_json());  // the server is up and has queued the sleep
  std::this_thread::sleep_for(100ms);
  p.signal(SIGTERM);
  auto line = p.read_json(5s);
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["id"], "long");
  EXPECT_EQ((*line)["code"], "cancelled");
  EXPECT_EQ(p.wait(5s), 0);
}

TEST(ServeConcurrency, DebugCommandsAreOffByDefault) {
  Subprocess p(serve_argv());
  ASSERT_TRUE(p.send({{"command", "sleep"}, {"id", 1}}));
  auto line = p.read_json();
  ASSERT_TRUE(line);
  EXPECT_EQ((*line)["code"], "unknown_command");
}

TEST(ServeConcurrency, ClosedStdoutEndsTheProcessQuietly) {
  Subprocess p(serve_argv());
  p.close_stdout_for_test();
  ASSERT_TRUE(p.send({{"command", "ping"}}));
  ASSERT_TRUE(p.send({{"command", "ping"}}));
  EXPECT_EQ(p.wait(5s), 0);
}

}  // namespace
}  // namespace nlm::testing
