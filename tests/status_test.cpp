// SPDX-License-Identifier: Apache-2.0
#include "atomik/status.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

namespace atomik {
namespace {

using ::testing::HasSubstr;

TEST(StatusTest, DefaultIsOkAndPrintsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), Code::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s.to_string(), "OK");
}

TEST(StatusTest, FactoryJoinsContextAndDetail) {
  Status s = Status::corruption("wal/000012.log",
                                "record at offset 98304: checksum mismatch");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.is_corruption());
  EXPECT_EQ(s.message(),
            "wal/000012.log: record at offset 98304: checksum mismatch");
  EXPECT_EQ(
      s.to_string(),
      "Corruption: wal/000012.log: record at offset 98304: checksum mismatch");
}

TEST(StatusTest, EveryCodeHasAStableName) {
  EXPECT_EQ(code_name(Code::kInvalidArgument), "InvalidArgument");
  EXPECT_EQ(code_name(Code::kNotFound), "NotFound");
  EXPECT_EQ(code_name(Code::kResourceExhausted), "ResourceExhausted");
  EXPECT_EQ(code_name(Code::kFailedPrecondition), "FailedPrecondition");
  EXPECT_EQ(code_name(Code::kOutOfRange), "OutOfRange");
  EXPECT_EQ(code_name(Code::kUnimplemented), "Unimplemented");
  EXPECT_EQ(code_name(Code::kUnavailable), "Unavailable");
  EXPECT_EQ(code_name(Code::kCorruption), "Corruption");
  EXPECT_EQ(code_name(Code::kIoError), "IoError");
  EXPECT_EQ(code_name(static_cast<Code>(99)), "Unknown(99)");
  // The numbers are part of the contract (logs, exit paths): never renumber.
  EXPECT_EQ(static_cast<int>(Code::kCorruption), 15);
  EXPECT_EQ(static_cast<int>(Code::kIoError), 16);
}

TEST(StatusTest, CopyIsDeepAndMoveLeavesValue) {
  Status a = Status::not_found("checkpoint", "no such file");
  Status b = a;
  EXPECT_EQ(a, b);
  Status c = std::move(a);
  EXPECT_EQ(c, b);
  b = Status();
  EXPECT_TRUE(b.ok());
  EXPECT_EQ(c.code(), Code::kNotFound);
}

TEST(StatusTest, FromErrnoNamesTheErrorAndMapsEnoent) {
  Status s = Status::from_errno("open 'x'", ENOENT);
  EXPECT_EQ(s.code(), Code::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("open 'x': "));
  EXPECT_THAT(s.message(), HasSubstr("(errno 2)"));
  EXPECT_EQ(Status::from_errno("write", EIO).code(), Code::kIoError);
}

TEST(StatusTest, WithContextPrefixesAndKeepsCode) {
  Status s = Status::out_of_range("address 9 >= 4").with_context("entry 3");
  EXPECT_EQ(s.code(), Code::kOutOfRange);
  EXPECT_EQ(s.message(), "entry 3: address 9 >= 4");
  EXPECT_TRUE(Status().with_context("x").ok());
}

Result<int> half(int x) {
  if (x % 2 != 0)
    return Status::invalid_argument("half", std::to_string(x) + " is odd");
  return x / 2;
}

Status use_macro(int x, int* out) {
  ATOMIK_RETURN_IF_ERROR(half(x).status());
  *out = *half(x);
  return Status();
}

TEST(ResultTest, HoldsValueOrStatus) {
  Result<int> ok = half(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 4);
  EXPECT_TRUE(ok.status().ok());
  Result<int> bad = half(3);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "half: 3 is odd");
  EXPECT_EQ(bad.value_or(-1), -1);
}

TEST(ResultTest, ReturnIfErrorPropagates) {
  int out = 0;
  EXPECT_TRUE(use_macro(6, &out).ok());
  EXPECT_EQ(out, 3);
  EXPECT_EQ(use_macro(5, &out).code(), Code::kInvalidArgument);
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

}  // namespace
}  // namespace atomik
