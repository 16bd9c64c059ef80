#pragma once

#include <gtest/gtest.h>

#include <utility>

#include "api/status_service.h"
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
// derive the fixture from it and drive service_ through HandleAsync.
class StatusServiceRig : public ::testing::Test {
 protected:
  explicit StatusServiceRig(api::StatusServiceOptions options)
      : authenticator_(keys_, clock_, metrics_, {}),
        limiter_(counter_, clock_, FailureMode::kOpen, metrics_),
        service_(authenticator_, limiter_, queries_, metrics_,
                 std::move(options)) {}

  FakeClock clock_;
  metrics::Metrics metrics_;
  FakeKeyStore keys_;
  FakeWindowCounter counter_;
  FakeQueryStore queries_;
  auth::Authenticator authenticator_;
  ratelimit::HourlyLimiter limiter_;
  api::StatusService service_;
  ManualExecutor executor_;
};

}  // namespace qs::testing
