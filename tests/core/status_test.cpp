#include "core/status.h"

#include <gtest/gtest.h>

#include "core/utf8.h"

namespace nlm::core {
namespace {

Result<int> half(int x) {
  if (x % 2) return error(ErrorCode::kInvalidRequest, "[test] odd");
  return x / 2;
}
Result<int> quarter(int x) {
  NLM_ASSIGN_OR_RETURN(int h, half(x));
  return half(h);
}

TEST(Status, ResultCarriesValueOrError) {
  EXPECT_EQ(*quarter(8), 2);
  auto r = quarter(6);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(r.status().message(), "[test] odd");
}

TEST(Status, CodeNamesAreTheProtocolSpelling) {
  EXPECT_EQ(error_code_name(ErrorCode::kInvalidJson), "invalid_json");
  EXPECT_EQ(error_code_name(ErrorCode::kModelLoadFailed), "model_load_failed");
  EXPECT_EQ(error_code_name(ErrorCode::kInputTooLong), "input_too_long");
  EXPECT_EQ(error_code_name(ErrorCode::kOverloaded), "overloaded");
}

TEST(Utf8, AcceptsWellFormedAndRejectsEveryIllFormedClass) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("h\xC3\xA9llo \xE2\x82\xAC \xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF"));                          // U+10FFFF
  size_t at = 99;
  EXPECT_FALSE(valid_utf8("ab\xFF", &at));
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(valid_utf8("\xE2\x82"));          // truncated
  EXPECT_FALSE(valid_utf8("\x80"));              // lone continuation
}

}  // namespace
}  // namespace nlm::core
