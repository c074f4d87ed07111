#include "formats/safetensors.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

namespace nlm::formats {
namespace {
using core::ErrorCode;
using Json = nlohmann::json;
constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit

core::Status fail(const std::string& file, const std::string& what) {
  return core::error(ErrorCode::kModelLoadFailed, "[safetensors] " + file + ": " + what);
}

struct DtypeSpec {
  std::string_view name;
  int64_t elem_bytes;
  bool usable;
  core::DType dtype;
};
constexpr DtypeSpec kDtypes[] = {
    {"F32", 4, true, core::DType::kF32},   {"F16", 2, true, core::DType::kF16},
    {"BF16", 2, true, core::DType::kBF16}, {"I64", 8, true, core::DType::kI64},
    {"I32", 4, true, core::DType::kI32},   {"I8", 1, true, core::DType::kI8},
    {"U8", 1, true, core::DType::kI8},     {"BOOL", 1, false, core::DType::kI8},
    {"I16", 2, false, core::DType::kI8},   {"U16", 2, false, core::DType::kI8},
    {"U32", 4, true, core::DType::kI32},   {"U64", 8, false, core::DType::kI8},
    {"F64", 8, false, core::DType::kI8},   {"F8_E4M3", 1, false, core::DType::kI8},
    {"F8_E5M2", 1, false, core::DType::kI8},
};
const DtypeSpec* find_dtype(std::string_view name) {
  for (const auto& d : kDtypes) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

// Parses one header entry into `t` (offsets relative to the buffer), checking it against the buffer size.
core::Status parse_entry(const std::string& file, const std::string& name, const Json& e, uint64_t buffer_size,
                         SafetensorsTensor* t) {
  const std::string where = "tensor '" + name + "': ";
  if (!e.is_object()) return fail(file, where + "header entry is not an object");
  auto dt = e.find("dtype");
  auto sh = e.find("shape");
  auto off = e.find("data_offsets");
  if (dt == e.end() || !dt->is_string()) return fail(file, where + "missing or non-string 'dtype'");
  if (sh == e.end() || !sh->is_array()) return fail(file, where + "missing or non-array 'shape'");
  if (off == e.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned()) {
    return fail(file, where + "'data_offsets' must be two non-negative integers");
  }
  t->name = name;
  t->dtype = dt->get<std::string>();
  const DtypeSpec* spec = find_dtype(t->dtype);
  if (!spec) return fail(file, where + "unknown dtype '" + t->dtype + "'");
  uint64_t numel = 1;
  for (const Json& d : *sh) {
    if (!d.is_number_unsigned()) return fail(file, where + "shape entries must be non-negative integers");
    const uint64_t v = d.get<uint64_t>();
    if (v > (uint64_t{1} << 40) || (v != 0 && numel > (uint64_t{1} << 62) / v)) {
      return fail(file, where + "shape is too large");
    }
    numel *= v;
    t->shape.push_back(static_cast<int64_t>(v));
  }
  t->begin = (*off)[0].get<uint64_t>();
  t->end = (*off)[1].get<uint64_t>();
  if (t->begin > t->end) return fail(file, where + "data_offsets begin after end");
  if (t->end > buffer_size) {
    return fail(file, where + "data ends at byte " + std::to_string(t->end) + " but the data buffer holds " +
                          std::to_string(buffer_size) + " (truncated file?)");
  }
  if (numel > (uint64_t{1} << 62) / static_cast<uint64_t>(spec->elem_bytes) ||
      numel * static_cast<uint64_t>(spec->elem_bytes) != t->end - t->begin) {
    return fail(file, where + "shape and dtype need " + std::to_string(numel * spec->elem_bytes) +
                          " bytes but data_offsets span " + std::to_string(t->end - t->begin));
  }
  t->usable = spec->usable && t->shape.size() <= static_cast<size_t>(core::kMaxDims);
  t->view.dtype = spec->dtype;
  return core::Status::ok();
}

void fill_view(SafetensorsTensor* t, void* data) {
  core::TensorView& v = t->view;
  v.data = data;
  v.ndim = static_cast<int>(t->shape.size());
  for (int i = 0; i < v.ndim; ++i) v.shape[i] = t->shape[i];
  v.row_bytes = core::dtype_row_bytes(v.dtype, v.cols());
}

bool is_file(const std::filesystem::path& p) {
  std::error_code ec;
  return std::filesystem::is_regular_file(p, ec);
}
}  // namespace

core::Result<std::shared_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  auto file = core::MappedFile::open(path);
  if (!file.is_ok()) return fail(path, file.status().message());
  std::shared_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->file_ = std::move(file).value();
  NLM_RETURN_IF_ERROR(f->parse());
  return f;
}

core::Status SafetensorsFile::parse() {
  const std::string& p = file_->path();
  const size_t size = file_->size();
  if (size < 8) return fail(p, "file of " + std::to_string(size) + " bytes is too short for a header");
  uint64_t n = 0;
  std::memcpy(&n, file_->data(), 8);  // little-endian hosts only (x86-64, ARM64)
  if (n > kMaxHeaderBytes) return fail(p, "header length " + std::to_string(n) + " is implausible");
  if (n > size - 8) {
    return fail(p, "header of " + std::to_string(n) + " bytes runs past the end of the file (" +
                       std::to_string(size) + " bytes; truncated?)");
  }
  const char* text = reinterpret_cast<const char*>(file_->data() + 8);
  Json header = Json::parse(text, text + n, nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) return fail(p, "header is not a JSON object");
  buffer_ = file_->data() + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  for (auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) return fail(p, "__metadata__ is not an object");
      for (auto& [mk, mv] : value.items()) {
        if (mv.is_string()) metadata_[mk] = mv.get<std::string>();
      }
      continue;
    }
    SafetensorsTensor t;
    NLM_RETURN_IF_ERROR(parse_entry(p, key, value, buffer_size, &t));
    tensors_.push_back(std::move(t));
  }
  // No two tensors may share bytes.
  std::vector<const SafetensorsTensor*> order;
  for (const auto& t : tensors_) {
    if (t.end > t.begin) order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i]->begin < order[i - 1]->end) {
      return fail(p, "tensors '" + order[i - 1]->name + "' and '" + order[i]->name + "' overlap");
    }
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    SafetensorsTensor& t = tensors_[i];
    index_[t.name] = i;
    const uint8_t* src = buffer_ + t.begin;
    const int64_t align = core::dtype_info(t.view.dtype).block_bytes;
    void* data = const_cast<uint8_t*>(src);
    if (reinterpret_cast<uintptr_t>(src) % static_cast<uintptr_t>(align) != 0 && t.end > t.begin) {
      auto copy = std::make_unique<uint8_t[]>(t.end - t.begin);  // new[] is aligned for every scalar
      std::memcpy(copy.get(), src, t.end - t.begin);
      data = copy.get();
      realigned_.push_back(std::move(copy));
    }
    fill_view(&t, data);
  }
  return core::Status::ok();
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

core::Result<core::TensorView> SafetensorsFile::tensor(std::string_view name) const {
  const SafetensorsTensor* t = find(name);
  if (!t) return fail(path(), "no tensor '" + std::string(name) + "'");
  if (!t->usable) {
    return fail(path(), "tensor '" + t->name + "': dtype " + t->dtype + " with " + std::to_string(t->shape.size()) +
                            " dimensions is not supported");
  }
  return t->view;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

// ---- SafetensorsModel ----

core::Result<std::shared_ptr<SafetensorsModel>> SafetensorsModel::open(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  std::error_code ec;
  fs::path index, single;
  if (fs::is_directory(p, ec)) {
    if (is_file(p / "model.safetensors.index.json")) {
      index = p / "model.safetensors.index.json";
    } else if (is_file(p / "model.safetensors")) {
      single = p / "model.safetensors";
    } else if (is_file(p / "pytorch_model.bin") || is_file(p / "pytorch_model.bin.index.json")) {
      return fail(path, "only a pickle checkpoint (pytorch_model.bin) is here; pickle files can run code and "
                        "are never loaded. Convert it to model.safetensors");
    } else {
      return fail(path, "no model.safetensors or model.safetensors.index.json in the folder");
    }
  } else if (p.string().ends_with(".json")) {
    index = p;
  } else if (p.extension() == ".bin" || p.extension() == ".pt" || p.extension() == ".pth") {
    return fail(path, "pickle checkpoints are never loaded (they can run code); convert to safetensors");
  } else {
    single = p;
  }
  auto m = std::make_shared<SafetensorsModel>();
  if (!single.empty()) {
    NLM_ASSIGN_OR_RETURN(auto f, SafetensorsFile::open(single.string()));
    for (const auto& t : f->tensors()) m->where_[t.name] = 0;
    m->files_.push_back(std::move(f));
    m->describe_ = single.string();
    return m;
  }
  std::ifstream in(index);
  if (!in) return fail(index.string(), "cannot read the shard index");
  Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object()) {
    return fail(index.string(), "not a shard index (no 'weight_map' object)");
  }
  std::map<std::string, size_t> shard_ids;
  for (auto& [name, shard] : j["weight_map"].items()) {
    if (!shard.is_string()) return fail(index.string(), "tensor '" + name + "': shard is not a file name");
    const std::string s = shard.get<std::string>();
    if (s.find('/') != std::string::npos || s.find("..") != std::string::npos) {
      return fail(index.string(), "tensor '" + name + "': shard '" + s + "' is not a plain file name");
    }
    auto it = shard_ids.find(s);
    if (it == shard_ids.end()) {
      NLM_ASSIGN_OR_RETURN(auto f, SafetensorsFile::open((index.parent_path() / s).string()));
      it = shard_ids.emplace(s, m->files_.size()).first;
      m->files_.push_back(std::move(f));
    }
    if (!m->files_[it->second]->has(name)) {
      return fail(index.string(), "tensor '" + name + "' is listed in shard '" + s + "' but is not in it");
    }
    m->where_[name] = it->second;
  }
  m->describe_ = index.string() + " (" + std::to_string(m->files_.size()) + " shards)";
  return m;
}

const SafetensorsFile* SafetensorsModel::owner(std::string_view name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : files_[it->second].get();
}

core::Result<core::TensorView> SafetensorsModel::tensor(std::string_view name) const {
  const SafetensorsFile* f = owner(name);
  if (!f) return fail(describe_, "no tensor '" + std::string(name) + "'");
  return f->tensor(name);
}

bool SafetensorsModel::has(std::string_view name) const { return owner(name) != nullptr; }

std::vector<std::string> SafetensorsModel::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

}  // namespace nlm::formats
