#pragma once
// A read-only memory map of a whole file (RAII). Tensors are used in place: views point into the map,
// so the map must outlive them (hold the shared_ptr). An empty file maps to size 0 and data nullptr.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"

namespace nlm::core {

class MappedFile {
 public:
  // kModelLoadFailed (or kIoError for permission problems) naming the path when it cannot be mapped.
  static Result<std::shared_ptr<MappedFile>> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size) : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace nlm::core
