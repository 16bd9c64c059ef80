#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "api/status_service.h"
#include "api/wait_room.h"
#include "auth/authenticator.h"
#include "fakes/fake_clock.h"
#include "fakes/fake_key_store.h"
#include "fakes/fake_query_store.h"
#include "fakes/fake_window_counter.h"
#include "fakes/manual_executor.h"
#include "metrics/metrics.h"
#include "ratelimit/hourly_limiter.h"

namespace qs::testing {

// A StatusService over the fakes, fail-open, for the tests of its logic:
// derive the fixture from it and drive service_ through HandleAsync. Its
// wait room holds nothing until the test calls waits_.FeedUp() (2 held
// requests per key, 100 in all); its timer runs once waits_.Start() is
// called.
class StatusServiceRig : public ::testing::Test {
 protected:
  explicit StatusServiceRig(api::StatusServiceOptions options)
      : authenticator_(keys_, clock_, metrics_, {}),
        limiter_(counter_, clock_, FailureMode::kOpen, metrics_),
        waits_({100, 2, std::chrono::milliseconds(20)}, metrics_),
        service_(authenticator_, limiter_, queries_, metrics_,
                 std::move(options), &waits_) {
    waits_.SetSink(&service_);
  }

  // A key of license 3 (the license every query of the fakes has).
  void AddKey(const std::string& token, int64_t key_id, int32_t rate_limit) {
    store::KeyRecord k;
    k.key_id = key_id;
    k.license_id = 3;
    k.key_rate_limit = rate_limit;
    keys_.Add(token, k);
  }

  // "q1" reads as RUNNING with `ready` of 10 queries ready from now on.
  void Running(int32_t ready) {
    auto s = std::make_shared<store::StatusSnapshot>();
    s->status = QueryStatusCode::kRunning;
    s->queries_ready = ready;
    s->queries_total = 10;
    queries_.Set(s);
  }

  FakeClock clock_;
  metrics::Metrics metrics_;
  FakeKeyStore keys_;
  FakeWindowCounter counter_;
  FakeQueryStore queries_;
  auth::Authenticator authenticator_;
  ratelimit::HourlyLimiter limiter_;
  api::WaitRoom waits_;
  api::StatusService service_;
  ManualExecutor executor_;
};

}  // namespace qs::testing
