#pragma once
// A non-owning view of a tensor: pointer, dtype, shape and row stride. Shapes follow the Hugging Face /
// PyTorch convention, outermost first: a Linear weight is [out_features, in_features] and each row is
// contiguous. `row_bytes` is the distance between consecutive rows of the innermost 2-D slice.
#include <array>
#include <cstdint>
#include <initializer_list>

#include "core/dtype.h"
#include "core/status.h"

namespace nlm::core {

inline constexpr int kMaxDims = 4;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::kF32;
  int ndim = 0;
  std::array<int64_t, kMaxDims> shape{};  // outermost first
  int64_t row_bytes = 0;                  // stride between rows of the last dimension
  // Optional: this matrix already decoded to f32 and packed as the GEMM reads it
  // (kernels::pack_gemm_panels); owned elsewhere (by the model that packed it).
  const float* gemm_panels = nullptr;

  TensorView() = default;
  TensorView(void* d, DType t, std::initializer_list<int64_t> dims) : data(d), dtype(t) {
    NLM_CHECK(dims.size() <= kMaxDims);
    for (int64_t v : dims) shape[ndim++] = v;
    row_bytes = dtype_row_bytes(t, cols());
  }

  int64_t cols() const { return ndim == 0 ? 1 : shape[ndim - 1]; }
  int64_t rows() const {  // product of all but the last dimension
    int64_t r = 1;
    for (int i = 0; i + 1 < ndim; ++i) r *= shape[i];
    return r;
  }
  int64_t numel() const { return rows() * cols(); }
  int64_t nbytes() const { return rows() * row_bytes; }

  template <typename T>
  T* as() const { return static_cast<T*>(data); }
  template <typename T>
  T* row(int64_t r) const {
    return reinterpret_cast<T*>(static_cast<char*>(data) + r * row_bytes);
  }
};

}  // namespace nlm::core
