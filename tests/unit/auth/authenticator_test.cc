#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "auth/token.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_key_store.h"

namespace qs::auth {
namespace {

using std::chrono::milliseconds;

using qs::testing::FakeClock;
using qs::testing::FakeKeyStore;

// A token of the shape `key create` makes ("qsk_" + 43 base64url
// characters), named for the test.
std::string Tok(const std::string& name) {
  std::string t = "qsk_" + name;
  t.resize(46, 'x');
  return t + "A";
}

store::KeyRecord Key(int64_t id) {
  store::KeyRecord r;
  r.key_id = id;
  r.license_id = 100 + id;
  return r;
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorOptions Options() {
    AuthenticatorOptions o;
    o.default_rate_limit = 5000;
    o.cache_ttl = milliseconds(5000);
    o.cache_max_entries = 1000;
    return o;
  }

  void ExpectRejected(const Result<Principal>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUnauthenticated);
    EXPECT_TRUE(std::regex_match(r.error().detail,
                                 std::regex(R"(^[A-Za-z0-9\s.,\-]+$)")))
        << r.error().detail;
  }

  FakeClock clock_;
  FakeKeyStore store_;
  metrics::Metrics metrics_;
};

TEST_F(AuthenticatorTest, AcceptsAKnownKey) {
  store_.Add(Tok("tok_good"), Key(7));
  Authenticator auth(store_, clock_, metrics_, Options());
  auto r = auth.Authenticate(Tok("tok_good"));
  ASSERT_TRUE(r.ok()) << r.error().internal;
  EXPECT_EQ(r.value().key_id, 7);
  EXPECT_EQ(r.value().license_id, 107);
  EXPECT_EQ(r.value().rate_limit, 5000);
}

TEST_F(AuthenticatorTest, CacheHitAvoidsTheStore) {
  store_.Add(Tok("tok_good"), Key(7));
  Authenticator auth(store_, clock_, metrics_, Options());
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  EXPECT_EQ(store_.calls(), 1);
  EXPECT_EQ(metrics_.key_cache_misses().Value(), 1);
  EXPECT_EQ(metrics_.key_cache_hits().Value(), 2);
}

TEST_F(AuthenticatorTest, UnknownKeyIsCachedToo) {
  Authenticator auth(store_, clock_, metrics_, Options());
  ExpectRejected(auth.Authenticate(Tok("tok_nobody")));
  ExpectRejected(auth.Authenticate(Tok("tok_nobody")));
  EXPECT_EQ(store_.calls(), 1);
  EXPECT_EQ(metrics_.AuthFailure(metrics::AuthFailureReason::kUnknown).Value(),
            2);
}

TEST_F(AuthenticatorTest, CacheEntryExpiresAfterTtl) {
  store_.Add(Tok("tok_good"), Key(7));
  Authenticator auth(store_, clock_, metrics_, Options());
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  clock_.Advance(milliseconds(4999));
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  EXPECT_EQ(store_.calls(), 1);
  clock_.Advance(milliseconds(1));
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  EXPECT_EQ(store_.calls(), 2);
}

TEST_F(AuthenticatorTest, RevocationTakesEffectWhenTheCacheEntryExpires) {
  store_.Add(Tok("tok_good"), Key(7));
  Authenticator auth(store_, clock_, metrics_, Options());
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  store::KeyRecord revoked = Key(7);
  revoked.revoked = true;
  store_.Add(Tok("tok_good"), revoked);
  clock_.Advance(milliseconds(5000));
  ExpectRejected(auth.Authenticate(Tok("tok_good")));
}

TEST_F(AuthenticatorTest, RejectsRevokedKey) {
  store::KeyRecord k = Key(7);
  k.revoked = true;
  store_.Add(Tok("tok_revoked"), k);
  Authenticator auth(store_, clock_, metrics_, Options());
  ExpectRejected(auth.Authenticate(Tok("tok_revoked")));
  EXPECT_EQ(metrics_.AuthFailure(metrics::AuthFailureReason::kRevoked).Value(),
            1);
  EXPECT_EQ(metrics_.AuthFailure(metrics::AuthFailureReason::kUnknown).Value(),
            0);
}

TEST_F(AuthenticatorTest, RejectsExpiredKey) {
  store::KeyRecord k = Key(7);
  k.expires_at_unix = clock_.NowUnixSeconds();  // expires exactly now
  store_.Add(Tok("tok_expired"), k);
  Authenticator auth(store_, clock_, metrics_, Options());
  ExpectRejected(auth.Authenticate(Tok("tok_expired")));
  EXPECT_EQ(metrics_.AuthFailure(metrics::AuthFailureReason::kExpired).Value(),
            1);
}

TEST_F(AuthenticatorTest, CachedKeyStillExpiresOnTime) {
  store::KeyRecord k = Key(7);
  k.expires_at_unix = clock_.NowUnixSeconds() + 1;
  store_.Add(Tok("tok_soon"), k);
  Authenticator auth(store_, clock_, metrics_, Options());
  ASSERT_TRUE(auth.Authenticate(Tok("tok_soon")).ok());
  clock_.SetUnix(clock_.NowUnixSeconds() + 1);  // cache entry still fresh
  ExpectRejected(auth.Authenticate(Tok("tok_soon")));
  EXPECT_EQ(store_.calls(), 1);
}

TEST_F(AuthenticatorTest, RefusalsAreIndistinguishable) {
  store::KeyRecord revoked = Key(1);
  revoked.revoked = true;
  store::KeyRecord expired = Key(2);
  expired.expires_at_unix = clock_.NowUnixSeconds() - 10;
  store_.Add(Tok("tok_revoked"), revoked);
  store_.Add(Tok("tok_expired"), expired);
  Authenticator auth(store_, clock_, metrics_, Options());
  auto a = auth.Authenticate(Tok("tok_unknown"));
  auto b = auth.Authenticate(Tok("tok_revoked"));
  auto c = auth.Authenticate(Tok("tok_expired"));
  auto d = auth.Authenticate("not a token!");
  for (const auto* r : {&a, &b, &c, &d}) ExpectRejected(*r);
  EXPECT_EQ(a.error().detail, b.error().detail);
  EXPECT_EQ(a.error().detail, c.error().detail);
  EXPECT_EQ(a.error().detail, d.error().detail);
}

TEST_F(AuthenticatorTest, MalformedTokenNeverReachesTheStore) {
  Authenticator auth(store_, clock_, metrics_, Options());
  ExpectRejected(auth.Authenticate(""));
  ExpectRejected(auth.Authenticate("has space"));
  ExpectRejected(auth.Authenticate(std::string(256, 'a')));
  EXPECT_EQ(store_.calls(), 0);
}

TEST_F(AuthenticatorTest, LimitPrecedenceKeyThenLicenseThenDefault) {
  store::KeyRecord both = Key(1);
  both.key_rate_limit = 10;
  both.license_rate_limit = 20;
  store::KeyRecord license_only = Key(2);
  license_only.license_rate_limit = 20;
  store::KeyRecord neither = Key(3);
  store_.Add(Tok("tok_both"), both);
  store_.Add(Tok("tok_license"), license_only);
  store_.Add(Tok("tok_neither"), neither);
  AuthenticatorOptions o = Options();
  o.default_rate_limit = 30;
  Authenticator auth(store_, clock_, metrics_, o);
  EXPECT_EQ(auth.Authenticate(Tok("tok_both")).value().rate_limit, 10);
  EXPECT_EQ(auth.Authenticate(Tok("tok_license")).value().rate_limit, 20);
  EXPECT_EQ(auth.Authenticate(Tok("tok_neither")).value().rate_limit, 30);
}

TEST_F(AuthenticatorTest, StoreErrorPropagatesAndIsNotCached) {
  store_.Add(Tok("tok_good"), Key(7));
  store_.FailWith(Error::Unavailable("postgres down"));
  Authenticator auth(store_, clock_, metrics_, Options());
  auto r = auth.Authenticate(Tok("tok_good"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().internal, "postgres down");

  store_.FailWith(std::nullopt);
  EXPECT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  EXPECT_EQ(store_.calls(), 2);
}

TEST_F(AuthenticatorTest, CacheStaysBounded) {
  AuthenticatorOptions o = Options();
  o.cache_max_entries = 4;
  Authenticator auth(store_, clock_, metrics_, o);
  for (int i = 0; i < 100; ++i) {
    std::string t = Tok("tok_" + std::to_string(i));
    store_.Add(t, Key(i));
    ASSERT_TRUE(auth.Authenticate(t).ok());
  }
  ASSERT_EQ(store_.calls(), 100);
  // A cache of 4 can spare at most 4 of the 100 lookups on a second pass.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(auth.Authenticate(Tok("tok_" + std::to_string(i))).ok());
  }
  EXPECT_GE(store_.calls(), 100 + 96);
  // And it still caches: an immediate repeat is a hit.
  int before = store_.calls();
  ASSERT_TRUE(auth.Authenticate(Tok("tok_99")).ok());
  EXPECT_EQ(store_.calls(), before);
}

TEST_F(AuthenticatorTest, ConcurrentCallersAgree) {
  for (int i = 0; i < 8; ++i)
    store_.Add(Tok("tok_" + std::to_string(i)), Key(i));
  AuthenticatorOptions o = Options();
  o.cache_max_entries = 4;  // forces evictions under contention
  Authenticator auth(store_, clock_, metrics_, o);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        int k = (i + t) % 8;
        auto r = auth.Authenticate(Tok("tok_" + std::to_string(k)));
        if (!r.ok() || r.value().key_id != k) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(AuthenticatorTest, OnlyTheIssuedShapeReachesTheStore) {
  Authenticator auth(store_, clock_, metrics_, Options());
  for (const std::string& t :
       {"qsk_" + std::string(42, 'a'), "qsk_" + std::string(44, 'a'),
        "qsk_" + std::string(42, 'a') + "B", "QSK_" + std::string(43, 'A'),
        "qsk_" + std::string(42, 'a') + "="}) {
    ExpectRejected(auth.Authenticate(t));
  }
  EXPECT_EQ(store_.calls(), 0);
  ExpectRejected(auth.Authenticate(NewToken()));
  EXPECT_EQ(store_.calls(), 1);
}

TEST_F(AuthenticatorTest, FloodOfUnknownTokensNeverEvictsARealKey) {
  AuthenticatorOptions o = Options();
  o.cache_max_entries = 4;
  o.negative_cache_max_entries = 4;
  store_.Add(Tok("tok_good"), Key(7));
  Authenticator auth(store_, clock_, metrics_, o);
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  for (int i = 0; i < 100; ++i) {
    ExpectRejected(auth.Authenticate(NewToken()));
  }
  const int lookups = store_.calls();
  ASSERT_EQ(lookups, 101);
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  EXPECT_EQ(store_.calls(), lookups) << "the real key was pushed out";
  EXPECT_LE(auth.cached_unknown(), 4u);
  EXPECT_EQ(auth.cached_keys(), 1u);
}

TEST_F(AuthenticatorTest, UnknownTokensAreCachedApartWithTheirOwnTtl) {
  AuthenticatorOptions o = Options();
  o.negative_cache_ttl = milliseconds(1000);
  store_.Add(Tok("tok_good"), Key(7));
  Authenticator auth(store_, clock_, metrics_, o);
  const std::string guess = NewToken();
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());
  ExpectRejected(auth.Authenticate(guess));
  ExpectRejected(auth.Authenticate(guess));
  EXPECT_EQ(store_.calls(), 2);
  EXPECT_EQ(metrics_.key_cache_negative_hits().Value(), 1);
  clock_.Advance(milliseconds(1000));
  ExpectRejected(auth.Authenticate(guess));              // asked again
  ASSERT_TRUE(auth.Authenticate(Tok("tok_good")).ok());  // still cached
  EXPECT_EQ(store_.calls(), 3);
}

TEST_F(AuthenticatorTest, FullKeyCacheShedsSomeEntriesNotAll) {
  AuthenticatorOptions o = Options();
  o.cache_max_entries = 8;
  Authenticator auth(store_, clock_, metrics_, o);
  for (int i = 0; i < 9; ++i) {
    store_.Add(Tok("tok_" + std::to_string(i)), Key(i));
    ASSERT_TRUE(auth.Authenticate(Tok("tok_" + std::to_string(i))).ok());
  }
  EXPECT_GE(auth.cached_keys(), 6u);
  EXPECT_LE(auth.cached_keys(), 8u);
}

}  // namespace
}  // namespace qs::auth
