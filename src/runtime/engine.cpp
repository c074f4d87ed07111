#include "runtime/engine.h"

#include <chrono>

namespace nlm::runtime {

Engine::Engine(EngineOptions options) : options_(std::move(options)) {}
Engine::~Engine() = default;

core::Result<std::shared_ptr<void>> Engine::get_or_load_erased(
    std::type_index type, const std::string& key, const std::string& kind,
    const std::function<core::Result<std::shared_ptr<void>>()>& load) {
  std::shared_ptr<std::mutex> loading;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& e = cache_[{type, key}];
    if (e.object) return e.object;
    if (!e.loading) e.loading = std::make_shared<std::mutex>();
    loading = e.loading;
  }
  std::lock_guard<std::mutex> load_lock(*loading);  // one loader per key; the others wait here
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find({type, key});
    if (it != cache_.end() && it->second.object) return it->second.object;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto result = load();
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::lock_guard<std::mutex> lock(mu_);
  auto& e = cache_[{type, key}];
  if (!result.is_ok()) {
    if (!e.object) cache_.erase({type, key});
    return result.status();
  }
  e.object = result.value();
  e.kind = kind;
  e.load_ms = ms;
  return e.object;
}

void Engine::evict(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->first.second == key && it->second.object) {
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
}

bool Engine::is_loaded(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [k, e] : cache_) {
    if (k.second == key && e.object) return true;
  }
  return false;
}

nlohmann::json Engine::loaded_models_json() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [k, e] : cache_) {
    if (!e.object) continue;
    out.push_back({{"model", k.second}, {"kind", e.kind}, {"load_ms", e.load_ms}});
  }
  return out;
}

}  // namespace nlm::runtime
