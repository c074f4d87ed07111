#pragma once
// A named collection of tensors (a safetensors file or folder, a GGUF file seen through its HF names).
// The model binder (models/binder.h) reads weights through this interface only.
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace nlm::formats {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // The view of `name` (pointing into the mapped file), or kModelLoadFailed naming the tensor and the
  // file when it is absent or unusable (unsupported dtype, too many dimensions).
  virtual core::Result<core::TensorView> tensor(std::string_view name) const = 0;
  virtual bool has(std::string_view name) const = 0;
  virtual std::vector<std::string> names() const = 0;
  // Where the tensors come from, for messages ("model.safetensors", "a folder of 3 shards").
  virtual std::string describe() const = 0;
};

}  // namespace nlm::formats
