#include "formats/mlx_quantized.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/thread_pool.h"
#include "kernels/kernels.h"

namespace nlm::formats {
namespace {
using core::DType;
using core::ErrorCode;
using nlohmann::json;

constexpr std::string_view kScales = ".scales";

struct QuantParams {
  int bits = 0;
  int group = 0;
};

class MlxQuantizedSource : public TensorSource {
 public:
  explicit MlxQuantizedSource(std::shared_ptr<TensorSource> inner) : inner_(std::move(inner)) {}

  core::Result<core::TensorView> tensor(std::string_view name) const override {
    if (auto it = converted_.find(name); it != converted_.end()) return it->second;
    if (hidden_.count(name)) return absent(name);
    return inner_->tensor(name);
  }
  bool has(std::string_view name) const override { return !hidden_.count(name) && inner_->has(name); }
  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    for (auto& n : inner_->names()) {
      if (!hidden_.count(n)) out.push_back(std::move(n));
    }
    return out;
  }
  std::string describe() const override { return inner_->describe(); }

  core::Status convert(const std::string& prefix, QuantParams q);

 private:
  core::Status absent(std::string_view name) const {
    return core::error(ErrorCode::kModelLoadFailed,
                       "[mlx] tensor '" + std::string(name) + "' is not in " + inner_->describe());
  }
  core::Status bad(const std::string& name, const std::string& why) const {
    return core::error(ErrorCode::kModelLoadFailed,
                       "[mlx] tensor '" + name + "' in " + inner_->describe() + ": " + why);
  }

  std::shared_ptr<TensorSource> inner_;
  std::map<std::string, core::TensorView, std::less<>> converted_;
  std::set<std::string, std::less<>> hidden_;
  std::vector<core::AlignedBuffer<uint8_t>> storage_;
};

std::string dims_text(const core::TensorView& v) {
  std::string s = "[";
  for (int i = 0; i < v.ndim; ++i) s += (i ? ", " : "") + std::to_string(v.shape[static_cast<size_t>(i)]);
  return s + "]";
}

core::Status MlxQuantizedSource::convert(const std::string& prefix, QuantParams q) {
  const std::string wname = prefix + ".weight", sname = prefix + ".scales", bname = prefix + ".biases";
  if (q.bits != 2 && q.bits != 3 && q.bits != 4 && q.bits != 5 && q.bits != 6 && q.bits != 8) {
    return core::error(ErrorCode::kUnsupported, "[mlx] '" + wname + "': " + std::to_string(q.bits) +
                                                    "-bit weights are not supported (2, 3, 4, 5, 6 and 8 are)");
  }
  if (q.group != 32 && q.group != 64 && q.group != 128) {
    return core::error(ErrorCode::kUnsupported, "[mlx] '" + wname + "': group size " + std::to_string(q.group) +
                                                    " is not supported (32, 64 and 128 are)");
  }
  if (!inner_->has(wname)) return bad(wname, "missing (its scales are present)");
  if (!inner_->has(bname)) return bad(bname, "missing: only affine quantization (scales and biases) is supported");
  NLM_ASSIGN_OR_RETURN(core::TensorView w, inner_->tensor(wname));
  NLM_ASSIGN_OR_RETURN(core::TensorView s, inner_->tensor(sname));
  NLM_ASSIGN_OR_RETURN(core::TensorView b, inner_->tensor(bname));
  if (w.dtype != DType::kI32 || w.ndim != 2) return bad(wname, "expected 2-D uint32 packed values");
  if (s.dtype != DType::kF16 && s.dtype != DType::kBF16 && s.dtype != DType::kF32) {
    return bad(sname, "expected f16, bf16 or f32 scales");
  }
  if (b.dtype != s.dtype || b.ndim != 2 || s.ndim != 2 || b.shape != s.shape) {
    return bad(bname, "shape or dtype differs from its scales");
  }
  const int64_t N = w.shape[0], K = w.shape[1] * 32 / q.bits;
  if (s.shape[0] != N || s.shape[1] * q.group != K || w.shape[1] * 32 % q.bits != 0) {
    return bad(wname, "packed shape " + dims_text(w) + " with scales " + dims_text(s) + " does not match bits " +
                          std::to_string(q.bits) + " and group size " + std::to_string(q.group));
  }
  const DType t = kernels::mlx_affine_dtype(q.bits);
  const int64_t row_bytes = core::dtype_row_bytes(t, K);
  auto& buf = storage_.emplace_back(static_cast<size_t>(N * row_bytes));
  const int64_t chunk = 64;  // rows per task
  core::parallel_for((N + chunk - 1) / chunk, [&](int64_t c, int) {
    const int64_t n0 = c * chunk, n = std::min(chunk, N - n0);
    const bool done = kernels::convert_mlx_affine(w.row<const uint32_t>(n0), s.row<const uint8_t>(n0),
                                                  b.row<const uint8_t>(n0), s.dtype, n, K, q.bits, q.group,
                                                  buf.data() + n0 * row_bytes);
    NLM_CHECK(done);  // every argument it refuses was refused above
  });
  converted_[wname] = core::TensorView(buf.data(), t, {N, K});
  hidden_.insert(sname);
  hidden_.insert(bname);
  return core::Status::ok();
}

core::Result<int> int_key(const json& q, const char* key, int def) {
  if (!q.contains(key) || q[key].is_null()) return def;
  if (!q[key].is_number_integer()) {
    return core::error(ErrorCode::kModelLoadFailed, std::string("[mlx] config.json: quantization.") + key +
                                                        " is not an integer");
  }
  return q[key].get<int>();
}

}  // namespace

core::Result<std::shared_ptr<TensorSource>> wrap_mlx_quantized(std::shared_ptr<TensorSource> weights,
                                                                const json& config) {
  const char* key = config.contains("quantization") ? "quantization" : "quantization_config";
  if (!config.contains(key) || config[key].is_null()) return weights;
  const json& q = config[key];
  if (!q.is_object()) {
    return core::error(ErrorCode::kModelLoadFailed, std::string("[mlx] config.json: ") + key + " is not an object");
  }
  if (q.contains("quant_method")) {  // Hugging Face's quantized checkpoints (GPTQ, AWQ, bitsandbytes, fp8, …)
    return core::error(ErrorCode::kUnsupported, "[mlx] config.json: quantization method " + q["quant_method"].dump() +
                                                    " is not supported (MLX affine, GGUF and float weights are)");
  }
  if (q.contains("mode") && q["mode"] != "affine") {
    return core::error(ErrorCode::kUnsupported, "[mlx] config.json: quantization mode " + q["mode"].dump() +
                                                    " is not supported (affine is)");
  }
  QuantParams global;
  NLM_ASSIGN_OR_RETURN(global.bits, int_key(q, "bits", 4));
  NLM_ASSIGN_OR_RETURN(global.group, int_key(q, "group_size", 64));
  auto source = std::make_shared<MlxQuantizedSource>(weights);
  for (const std::string& name : weights->names()) {
    if (name.size() <= kScales.size() || name.compare(name.size() - kScales.size(), kScales.size(), kScales) != 0) {
      continue;
    }
    const std::string prefix = name.substr(0, name.size() - kScales.size());
    QuantParams p = global;
    if (auto it = q.find(prefix); it != q.end() && it->is_object()) {
      NLM_ASSIGN_OR_RETURN(p.bits, int_key(*it, "bits", global.bits));
      NLM_ASSIGN_OR_RETURN(p.group, int_key(*it, "group_size", global.group));
    }
    NLM_RETURN_IF_ERROR(source->convert(prefix, p));
  }
  return std::shared_ptr<TensorSource>(std::move(source));
}

}  // namespace nlm::formats
