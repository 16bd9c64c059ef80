#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/env.h"

namespace qs::testing {

// The common start of an integration test: the environment tests/run
// provides (the test fails when it is missing), a fresh migrated database,
// and the operator CLI pointed at it. With `own_redis`, the test also gets a
// redis-server of its own, so counts start from zero and it may stop it.
class DatabaseTest : public ::testing::Test {
 protected:
  explicit DatabaseTest(bool own_redis = false) : own_redis_(own_redis) {}

  void SetUp() override {
    std::string missing;
    auto env = LoadTestEnv(&missing);
    ASSERT_TRUE(env) << missing;
    env_ = *env;
    if (own_redis_) redis_ = std::make_unique<RedisServer>();
    db_ = std::make_unique<ScratchDatabase>(env_);
    cli_ = std::make_unique<Cli>(env_, db_->url(), redis_url());
  }

  // The Redis the test's services and commands use.
  std::string redis_url() const {
    return redis_ ? redis_->url() : env_.redis_url;
  }

  TestEnv env_;
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<Cli> cli_;

 private:
  bool own_redis_;
};

}  // namespace qs::testing
