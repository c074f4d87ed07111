#include "runtime/stop_strings.h"

#include <gtest/gtest.h>

namespace nlm::runtime {
namespace {

TEST(StopStrings, MatchesAcrossPiecesAndIsNotEmitted) {
  StopStrings s({"</end>"});
  std::string out;
  for (const char* piece : {"Hello <", "/e", "nd", "> tail"}) out += s.push(piece);
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(out, "Hello ");
  EXPECT_EQ(s.matched(), "</end>");
  EXPECT_EQ(s.push("more"), "");
}

TEST(StopStrings, HoldsBackOnlyPossiblePrefixes) {
  StopStrings s({"abc"});
  EXPECT_EQ(s.push("xxa"), "xx");
  EXPECT_EQ(s.push("bx"), "abx");  // "ab" then "x": not the stop string
  EXPECT_EQ(s.push("ab"), "");
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.flush(), "ab");
}

TEST(StopStrings, EarliestMatchWinsAmongSeveral) {
  StopStrings s({"world", "lo w"});
  EXPECT_EQ(s.push("hello world"), "hel");
  EXPECT_EQ(s.matched(), "lo w");
}

TEST(StopStrings, StopInsideOnePiece) {
  StopStrings s({"\n\n"});
  EXPECT_EQ(s.push("a\n\nb"), "a");
  EXPECT_TRUE(s.stopped());
}

TEST(StopStrings, NoStopsPassesEverything) {
  StopStrings s({});
  EXPECT_EQ(s.push("abc"), "abc");
  EXPECT_EQ(s.flush(), "");
}

}  // namespace
}  // namespace nlm::runtime
