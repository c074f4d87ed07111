#pragma once
// Helpers for encoder tests against ../shared/fixtures/<arch> (reference outputs of HF transformers).
#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "formats/safetensors.h"
#include "support/subprocess.h"

namespace nlm::testing {

inline std::string fixture_dir(const std::string& arch) { return shared_dir() + "/fixtures/" + arch; }

// The reference tensors of one fixture.
class Reference {
 public:
  explicit Reference(const std::string& arch) {
    auto f = formats::SafetensorsFile::open(fixture_dir(arch) + "/reference.safetensors");
    EXPECT_TRUE(f.is_ok()) << f.status().message();
    if (f.is_ok()) file_ = std::move(f).value();
  }
  bool ok() const { return file_ != nullptr; }
  std::vector<float> floats(const std::string& name) const {
    if (!file_) return {};  // the constructor's expectation has failed
    auto t = file_->tensor(name);
    EXPECT_TRUE(t.is_ok()) << name;
    if (!t.is_ok()) return {};
    return std::vector<float>(t->as<float>(), t->as<float>() + t->numel());
  }
  std::vector<int32_t> ids(const std::string& name) const {  // I64 -> int32
    if (!file_) return {};  // the constructor's expectation has failed
    auto t = file_->tensor(name);
    EXPECT_TRUE(t.is_ok()) << name;
    if (!t.is_ok()) return {};
    std::vector<int32_t> out;
    for (int64_t i = 0; i < t->numel(); ++i) out.push_back(static_cast<int32_t>(t->as<int64_t>()[i]));
    return out;
  }
  std::vector<int64_t> shape(const std::string& name) const {
    if (!file_) return {};  // the constructor's expectation has failed
    auto t = file_->tensor(name);
    if (!t.is_ok()) return {};
    return std::vector<int64_t>(t->shape.begin(), t->shape.begin() + t->ndim);
  }

 private:
  std::shared_ptr<formats::SafetensorsFile> file_;
};

inline float max_abs(const float* a, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i]));
  return m;
}
inline float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = std::fabs(a[i] - b[i]);
    m = std::isnan(m) || d <= m ? m : d;  // a NaN stays (std::max would drop it)
  }
  return m;
}
inline double cosine(const float* a, const float* b, size_t n) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += static_cast<double>(a[i]) * b[i];
    aa += static_cast<double>(a[i]) * a[i];
    bb += static_cast<double>(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

}  // namespace nlm::testing
