#pragma once
// safetensors: an 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}, then the
// byte buffer the offsets index. Everything is validated at open (dtype, shape, offsets inside the file,
// sizes, no overlap); a bad file is kModelLoadFailed naming the file and the tensor, never a crash.
// Tensors are used in place over the memory map (a tensor whose start is misaligned for its element type
// is the one exception: it is copied once into an aligned buffer).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mmap_file.h"
#include "formats/tensor_source.h"

namespace nlm::formats {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;        // as written: "F32", "F16", "BF16", "I64", "I32", "I8", "U8", ...
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets inside the data buffer
  bool usable = false;      // dtype supported (U8 viewed as kI8, U32 as kI32) and at most 4 dims
  core::TensorView view;    // valid when usable
};

class SafetensorsFile : public TensorSource {
 public:
  static core::Result<std::shared_ptr<SafetensorsFile>> open(const std::string& path);

  const SafetensorsTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return file_->path(); }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }

  core::Result<core::TensorView> tensor(std::string_view name) const override;
  bool has(std::string_view name) const override { return find(name) != nullptr; }
  std::vector<std::string> names() const override;
  std::string describe() const override { return path(); }

 private:
  SafetensorsFile() = default;
  core::Status parse();

  std::shared_ptr<core::MappedFile> file_;
  const uint8_t* buffer_ = nullptr;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::unique_ptr<uint8_t[]>> realigned_;
};

// A model's weights: one `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
class SafetensorsModel : public TensorSource {
 public:
  // `path` is a folder (index.json preferred, else model.safetensors) or a .safetensors / .index.json file.
  // A folder with only pytorch_model.bin is refused: pickle checkpoints are never executed.
  static core::Result<std::shared_ptr<SafetensorsModel>> open(const std::string& path);

  core::Result<core::TensorView> tensor(std::string_view name) const override;
  bool has(std::string_view name) const override;
  std::vector<std::string> names() const override;
  std::string describe() const override { return describe_; }
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  const SafetensorsFile* owner(std::string_view name) const;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t, std::less<>> where_;  // tensor name -> files_ index
  std::string describe_;
};

}  // namespace nlm::formats
