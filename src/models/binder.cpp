#include "models/binder.h"

#include "kernels/kernels.h"

namespace nlm::models {

Binder::Binder(std::shared_ptr<const formats::TensorSource> source, std::vector<std::string> root_prefixes)
    : state_(std::make_shared<State>()) {
  state_->source = std::move(source);
  state_->roots = std::move(root_prefixes);
  if (state_->roots.empty()) state_->roots.push_back("");
}

Binder Binder::scope(std::string_view prefix) const {
  Binder b = *this;
  if (!prefix.empty()) b.scope_ += std::string(prefix) + ".";
  return b;
}

Binder Binder::scope(std::string_view prefix, int64_t index) const {
  return scope(std::string(prefix) + "." + std::to_string(index));
}

void Binder::record(core::Status s) {
  if (state_->status.is_ok()) state_->status = std::move(s);
}

bool Binder::has(std::string_view name) const {
  for (const auto& root : state_->roots) {
    if (state_->source->has(root + full_name(name))) return true;
  }
  return false;
}

bool Binder::bind(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out) {
  return bind_impl(name, shape, out, false, false);
}
bool Binder::bind_f32(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out) {
  return bind_impl(name, shape, out, false, true);
}
bool Binder::bind_optional(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out) {
  return bind_impl(name, shape, out, true, false);
}
bool Binder::bind_optional_f32(std::string_view name, std::initializer_list<int64_t> shape,
                               core::TensorView* out) {
  return bind_impl(name, shape, out, true, true);
}

namespace {
std::string shape_text(const int64_t* dims, size_t n) {
  std::string s = "[";
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}
}  // namespace

bool Binder::bind_impl(std::string_view name, std::initializer_list<int64_t> shape, core::TensorView* out,
                       bool optional, bool to_f32) {
  if (!state_->status.is_ok()) return false;
  const formats::TensorSource& src = *state_->source;
  const std::string rel = full_name(name);
  std::string full;
  for (const auto& root : state_->roots) {
    if (src.has(root + rel)) {
      full = root + rel;
      break;
    }
  }
  if (full.empty()) {
    if (!optional) {
      record(core::error(core::ErrorCode::kModelLoadFailed,
                         "[binder] missing tensor '" + rel + "' in " + src.describe()));
    }
    return false;
  }
  auto view = src.tensor(full);
  if (!view.is_ok()) {
    record(view.status());
    return false;
  }
  core::TensorView v = view.value();
  const bool same = v.ndim == static_cast<int>(shape.size()) &&
                    std::equal(shape.begin(), shape.end(), v.shape.begin());
  if (!same) {
    record(core::error(core::ErrorCode::kModelLoadFailed,
                       "[binder] tensor '" + full + "' in " + src.describe() + " has shape " +
                           shape_text(v.shape.data(), static_cast<size_t>(v.ndim)) + ", expected " +
                           shape_text(shape.begin(), shape.size())));
    return false;
  }
  if (to_f32 && v.dtype != core::DType::kF32) {
    const core::DTypeInfo info = core::dtype_info(v.dtype);
    const bool decodable = info.quantized || v.dtype == core::DType::kF16 || v.dtype == core::DType::kBF16;
    if (!decodable || v.cols() % info.block_elems != 0) {
      record(core::error(core::ErrorCode::kModelLoadFailed,
                         "[binder] tensor '" + full + "': dtype " + std::string(info.name) +
                             " where a float or quantized weight dtype is needed"));
      return false;
    }
    auto& buf = state_->storage->buffers.emplace_back(static_cast<size_t>(v.numel()));
    for (int64_t r = 0; r < v.rows(); ++r) {
      kernels::dequantize_row(v.row<const void>(r), v.dtype, v.cols(), buf.data() + r * v.cols());
    }
    v.data = buf.data();
    v.dtype = core::DType::kF32;
    v.row_bytes = core::dtype_row_bytes(v.dtype, v.cols());
  }
  *out = v;
  return true;
}

}  // namespace nlm::models
