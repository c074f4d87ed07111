#pragma once
// The engine behind the protocol: resolves model references, caches what was loaded (tokenizers,
// encoders, decoders, templates — any type, keyed by type and resolved path) and owns the compute
// resources they share. Protocol handlers reach models only through it.
#include <any>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <typeindex>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace nlm::runtime {

struct EngineOptions {
  int threads = 0;                 // compute threads; 0 = every core
  bool allow_download = false;     // resolve missing Hub ids by pulling them
  std::string default_model_dir;   // folder of the embedded default model (empty: built-in search)
};

// Where a model reference points.
struct ResolvedModel {
  std::string ref;   // as the request spelled it ("" for the default model)
  std::string path;  // a folder or a .gguf file on disk
};

// Called with progress events while a reference is being resolved (a pull on first use).
using ProgressFn = std::function<void(const nlohmann::json& event)>;

class Engine {
 public:
  explicit Engine(EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const EngineOptions& options() const { return options_; }

  // A folder, a .gguf file, a Hub id "org/name[@rev]", "ollama:NAME:TAG", or "" (the default model).
  // model_not_found when it points at nothing (runtime/resolve.cpp).
  core::Result<ResolvedModel> resolve(const std::string& ref, const ProgressFn& progress = nullptr);

  // The cached T for `key` (usually a resolved path), loading it once with `load` on first use.
  // Concurrent callers for the same key wait for one load. A failed load is not cached.
  template <typename T>
  core::Result<std::shared_ptr<T>> get_or_load(const std::string& key,
                                               const std::function<core::Result<std::shared_ptr<T>>()>& load,
                                               const std::string& kind = "model") {
    auto erased = get_or_load_erased(
        std::type_index(typeid(T)), key, kind, [&]() -> core::Result<std::shared_ptr<void>> {
          auto r = load();
          if (!r.is_ok()) return r.status();
          return std::shared_ptr<void>(std::move(r).value());
        });
    if (!erased.is_ok()) return erased.status();
    return std::static_pointer_cast<T>(erased.value());
  }

  // Drops every cached object loaded from `key` (e.g. after `delete`).
  void evict(const std::string& key);

  // One entry per cached object: {"model": key, "kind": kind, "load_ms": …} for `status` / `models`.
  nlohmann::json loaded_models_json() const;
  bool is_loaded(const std::string& key) const;

 private:
  struct Entry {
    std::shared_ptr<void> object;
    std::string kind;
    double load_ms = 0;
    std::shared_ptr<std::mutex> loading;  // held while the first load runs
  };
  core::Result<std::shared_ptr<void>> get_or_load_erased(
      std::type_index type, const std::string& key, const std::string& kind,
      const std::function<core::Result<std::shared_ptr<void>>()>& load);

  EngineOptions options_;
  mutable std::mutex mu_;
  std::map<std::pair<std::type_index, std::string>, Entry> cache_;
};

}  // namespace nlm::runtime
