#pragma once
// GGUF v2 / v3 (little-endian): magic "GGUF", version, tensor count, metadata key/values (every type,
// arrays included, e.g. tokenizer.ggml.tokens / scores / token_type / merges), tensor infos, then the
// tensor data at the next multiple of `general.alignment` (default 32). Everything is bounds-checked at
// open; a corrupt or truncated file is kModelLoadFailed naming the file (and the key or tensor).
//
// Shapes: GGUF stores dims innermost first (ne[0] = row length); views here are outermost first like
// Hugging Face, so a GGUF [in, out] weight becomes a TensorView [out, in].
//
// Names: `tensor()` / `has()` take the GGUF names ("blk.0.attn_q.weight"). Use GgufHfView
// (formats/gguf_names.h) to look the same tensors up by their Hugging Face names.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mmap_file.h"
#include "formats/tensor_source.h"

namespace nlm::formats {

enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7,
  kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};

// One metadata value. Scalars: integers in `i` (unsigned 64-bit values above INT64_MAX keep their bits),
// floats in `f`, bools in `i` (0/1), strings in `s`. Arrays: `array_type` gives the element type and the
// elements are in `ints`, `floats` or `strings` (nested arrays in `items`).
struct GgufValue {
  GgufType type = GgufType::kUint8;
  GgufType array_type = GgufType::kUint8;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;
  std::vector<GgufValue> items;

  bool is_int() const;    // any integer type or bool
  bool is_float() const { return type == GgufType::kFloat32 || type == GgufType::kFloat64; }
  size_t array_size() const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // GGUF order: innermost first
  uint32_t ggml_type = 0;
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;
  bool usable = false;       // type maps to a core::DType and at most 4 dims
  core::TensorView view;     // outermost first; valid when usable
};

class GgufFile : public TensorSource {
 public:
  static core::Result<std::shared_ptr<GgufFile>> open(const std::string& path);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the tensor data section
  const std::string& path() const { return file_->path(); }
  std::string architecture() const { return get_string("general.architecture").value_or(""); }

  const std::map<std::string, GgufValue, std::less<>>& metadata() const { return kv_; }
  const GgufValue* find(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;     // integer or bool types
  std::optional<double> get_float(std::string_view key) const;    // float or integer types
  std::optional<bool> get_bool(std::string_view key) const;
  // Arrays (nullptr / nullopt when absent or of another element type).
  const std::vector<std::string>* get_strings(std::string_view key) const;
  std::optional<std::vector<float>> get_f32_array(std::string_view key) const;    // float or int elements
  std::optional<std::vector<int64_t>> get_int_array(std::string_view key) const;  // integer elements

  const std::vector<GgufTensorInfo>& tensor_infos() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  core::Result<core::TensorView> tensor(std::string_view name) const override;
  bool has(std::string_view name) const override { return find_tensor(name) != nullptr; }
  std::vector<std::string> names() const override;
  std::string describe() const override { return path(); }

 private:
  friend class GgufParser;
  GgufFile() = default;
  std::shared_ptr<core::MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue, std::less<>> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
};

// ggml type id -> core::DType (F32 0, F16 1, Q4_0 2, Q4_1 3, Q5_0 6, Q5_1 7, Q8_0 8, Q2_K 10, Q3_K 11,
// Q4_K 12, Q5_K 13, Q6_K 14, I8 24, I32 26, I64 27, BF16 30); nullopt for the others.
std::optional<core::DType> ggml_type_to_dtype(uint32_t ggml_type);
// Block size (elements) and bytes per block of any ggml type this reader knows, for bounds checks.
bool ggml_type_size(uint32_t ggml_type, int64_t* block_elems, int64_t* block_bytes);

}  // namespace nlm::formats
