#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/sha256.h"
#include "store/key_store.h"

namespace qs::testing {

// Keys by token hash; counts lookups (each one a PostgreSQL round trip in
// production); can be told to fail.
class FakeKeyStore final : public store::KeyStore {
 public:
  Result<std::optional<store::KeyRecord>> FindByTokenHash(
      const std::string& token_hash) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (fail_) return *fail_;
    auto it = keys_.find(token_hash);
    if (it == keys_.end()) return std::optional<store::KeyRecord>();
    return std::optional<store::KeyRecord>(it->second);
  }

  void Add(const std::string& token, store::KeyRecord r) {
    std::lock_guard<std::mutex> lock(mu_);
    keys_[Sha256Hex(token)] = r;
  }
  void FailWith(std::optional<Error> e) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(e);
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, store::KeyRecord> keys_;
  std::optional<Error> fail_;
  int calls_ = 0;
};

}  // namespace qs::testing
