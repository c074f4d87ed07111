#pragma once
// Prefix-scoped weight binding (candle's VarBuilder, in C++): models name their weights the way Hugging
// Face does, relative to a scope, and the binder checks every shape once at load.
//
//   Binder b(source, {"", "bert.", "model."});          // root prefixes real checkpoints carry
//   Binder layer = b.scope("encoder.layer.3");
//   layer.bind("attention.self.query.weight", {hidden, hidden}, &l.q);
//   layer.bind_f32("attention.output.LayerNorm.weight", {hidden}, &l.ln_w);  // converted if f16/bf16
//   NLM_RETURN_IF_ERROR(b.status());                    // the first failure, naming the tensor
//
// The first root prefix under which a tensor exists is used for that tensor. Failures (missing tensor,
// wrong shape, unsupported dtype) are recorded, not thrown: the binder keeps the first one and later
// binds become no-ops; status() reports it as kModelLoadFailed naming the full tensor name and source.
// Views point into the source's memory map (hold the source) or, for bind_f32 conversions, into storage
// owned by the binder (hold storage()).
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "core/tensor.h"
#include "formats/tensor_source.h"

namespace nlm::models {

// Converted weights (f16 / bf16 / quantized -> f32) owned for the model's lifetime.
struct WeightStorage {
  std::deque<std::vector<float>> buffers;
  std::deque<core::AlignedBuffer<float>> gemm_panels;  // weights packed for the GEMM (kernels::pack_gemm_panels)
};

class Binder {
 public:
  Binder(std::shared_ptr<const formats::TensorSource> source, std::vector<std::string> root_prefixes = {""});

  // A binder whose names are relative to `prefix` ("encoder.layer.3"); errors stay shared.
  Binder scope(std::string_view prefix) const;
  Binder scope(std::string_view prefix, int64_t index) const;  // "prefix.index"

  // Binds `name` with exactly `shape` (outermost first), any dtype. False on failure (recorded).
  bool bind(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out);
  // Same, then decodes f16 / bf16 / quantized weights into an owned f32 copy; integer dtypes fail.
  bool bind_f32(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out);
  // Optional tensors: false and no error when absent under every prefix (wrong shape is still an error).
  bool bind_optional(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out);
  bool bind_optional_f32(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out);
  // True when `name` exists under some root prefix.
  bool has(std::string_view name) const;

  const core::Status& status() const { return state_->status; }
  std::shared_ptr<WeightStorage> storage() const { return state_->storage; }
  std::string full_name(std::string_view name) const { return scope_ + std::string(name); }

 private:
  struct State {
    std::shared_ptr<const formats::TensorSource> source;
    std::vector<std::string> roots;
    core::Status status;
    std::shared_ptr<WeightStorage> storage = std::make_shared<WeightStorage>();
  };
  bool bind_impl(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out,
                 bool optional, bool to_f32);
  void record(core::Status s);

  std::shared_ptr<State> state_;
  std::string scope_;  // "" or "a.b."
};

}  // namespace nlm::models
