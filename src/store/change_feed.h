#pragma once

#include <string_view>

namespace qs::store {

// Hears the change feed (PgListener) besides the status cache: the held
// requests of api::WaitRoom wait on it. Called on the listener's thread,
// after the cache has been invalidated for the same change, so that a read
// made in answer sees the change; must not block.
class ChangeListener {
 public:
  virtual ~ChangeListener() = default;
  // One notification: "q:<schedule_id>" (that query changed) or
  // "l:<license_id>" (that license's queue counts or retention changed).
  virtual void Changed(std::string_view payload) = 0;
  // The feed is listening (again): from now on no change is missed.
  virtual void FeedUp() = 0;
  // The feed is down: changes may be missed until FeedUp.
  virtual void FeedDown() = 0;
};

}  // namespace qs::store
