#include "formats/gguf.h"

#include <cstring>

namespace nlm::formats {
namespace {
using core::ErrorCode;
constexpr uint64_t kMaxArray = uint64_t{1} << 28;    // elements in one metadata array
constexpr uint64_t kMaxString = uint64_t{1} << 28;   // bytes in one string
constexpr uint64_t kMaxCount = uint64_t{1} << 24;    // tensors or keys
constexpr int kMaxNesting = 4;

struct TypeRow {
  uint32_t id;
  int64_t block_elems, block_bytes;
  bool mapped;
  core::DType dtype;
};
constexpr TypeRow kTypes[] = {
    {0, 1, 4, true, core::DType::kF32},       {1, 1, 2, true, core::DType::kF16},
    {2, 32, 18, true, core::DType::kQ4_0},    {3, 32, 20, true, core::DType::kQ4_1},
    {6, 32, 22, true, core::DType::kQ5_0},    {7, 32, 24, true, core::DType::kQ5_1},
    {8, 32, 34, true, core::DType::kQ8_0},    {9, 32, 36, false, core::DType::kF32},
    {10, 256, 84, true, core::DType::kQ2_K},  {11, 256, 110, true, core::DType::kQ3_K},
    {12, 256, 144, true, core::DType::kQ4_K}, {13, 256, 176, true, core::DType::kQ5_K},
    {14, 256, 210, true, core::DType::kQ6_K}, {15, 256, 292, false, core::DType::kF32},
    {24, 1, 1, true, core::DType::kI8},       {25, 1, 2, false, core::DType::kF32},
    {26, 1, 4, true, core::DType::kI32},      {27, 1, 8, true, core::DType::kI64},
    {28, 1, 8, false, core::DType::kF32},     {30, 1, 2, true, core::DType::kBF16},
};
const TypeRow* type_row(uint32_t id) {
  for (const auto& r : kTypes) {
    if (r.id == id) return &r;
  }
  return nullptr;
}
}  // namespace

std::optional<core::DType> ggml_type_to_dtype(uint32_t ggml_type) {
  const TypeRow* r = type_row(ggml_type);
  if (!r || !r->mapped) return std::nullopt;
  return r->dtype;
}

bool ggml_type_size(uint32_t ggml_type, int64_t* block_elems, int64_t* block_bytes) {
  const TypeRow* r = type_row(ggml_type);
  if (!r) return false;
  *block_elems = r->block_elems;
  *block_bytes = r->block_bytes;
  return true;
}

bool GgufValue::is_int() const {
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kUint16: case GgufType::kInt16:
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kUint64: case GgufType::kInt64:
    case GgufType::kBool:
      return true;
    default:
      return false;
  }
}

size_t GgufValue::array_size() const { return ints.size() + floats.size() + strings.size() + items.size(); }

// Bounds-checked reader over the mapped bytes. Every read returns false past the end.
class GgufParser {
 public:
  explicit GgufParser(GgufFile* f) : f_(f), p_(f->file_->data()), size_(f->file_->size()) {}

  core::Status run();

 private:
  core::Status fail(const std::string& what) const {
    return core::error(ErrorCode::kModelLoadFailed,
                       "[gguf] " + f_->path() + ": " + what + " (at byte " + std::to_string(pos_) + ")");
  }
  template <typename T>
  bool read(T* out) {
    if (size_ - pos_ < sizeof(T)) return false;
    std::memcpy(out, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_string(std::string* out) {
    uint64_t n = 0;
    if (!read(&n) || n > kMaxString || size_ - pos_ < n) return false;
    out->assign(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return true;
  }
  bool read_scalar(GgufType t, GgufValue* v);
  bool read_value(GgufType t, GgufValue* v, int depth);
  core::Status read_tensor_info(GgufTensorInfo* t);
  core::Status place_tensors();

  GgufFile* f_;
  const uint8_t* p_;
  size_t size_;
  size_t pos_ = 0;
};

bool GgufParser::read_scalar(GgufType t, GgufValue* v) {
  v->type = t;
  switch (t) {
    case GgufType::kUint8: { uint8_t x; if (!read(&x)) return false; v->i = x; return true; }
    case GgufType::kInt8: { int8_t x; if (!read(&x)) return false; v->i = x; return true; }
    case GgufType::kUint16: { uint16_t x; if (!read(&x)) return false; v->i = x; return true; }
    case GgufType::kInt16: { int16_t x; if (!read(&x)) return false; v->i = x; return true; }
    case GgufType::kUint32: { uint32_t x; if (!read(&x)) return false; v->i = x; return true; }
    case GgufType::kInt32: { int32_t x; if (!read(&x)) return false; v->i = x; return true; }
    case GgufType::kUint64: { uint64_t x; if (!read(&x)) return false; v->i = static_cast<int64_t>(x); return true; }
    case GgufType::kInt64: { int64_t x; if (!read(&x)) return false; v->i = x; return true; }
    case GgufType::kFloat32: { float x; if (!read(&x)) return false; v->f = x; return true; }
    case GgufType::kFloat64: { double x; if (!read(&x)) return false; v->f = x; return true; }
    case GgufType::kBool: {
      uint8_t x;
      if (!read(&x) || x > 1) return false;
      v->i = x;
      return true;
    }
    case GgufType::kString: return read_string(&v->s);
    default: return false;
  }
}

bool GgufParser::read_value(GgufType t, GgufValue* v, int depth) {
  if (t != GgufType::kArray) return read_scalar(t, v);
  v->type = GgufType::kArray;
  uint32_t et = 0;
  uint64_t n = 0;
  if (!read(&et) || !read(&n) || et > 12 || n > kMaxArray || depth > kMaxNesting) return false;
  v->array_type = static_cast<GgufType>(et);
  // Each element takes at least one byte: a count beyond the remaining bytes is corrupt.
  if (n > size_ - pos_) return false;
  GgufValue e;
  for (uint64_t k = 0; k < n; ++k) {
    if (v->array_type == GgufType::kArray) {
      GgufValue nested;
      if (!read_value(GgufType::kArray, &nested, depth + 1)) return false;
      v->items.push_back(std::move(nested));
      continue;
    }
    if (!read_scalar(v->array_type, &e)) return false;
    if (v->array_type == GgufType::kString) {
      v->strings.push_back(std::move(e.s));
    } else if (e.is_float()) {
      v->floats.push_back(e.f);
    } else {
      v->ints.push_back(e.i);
    }
  }
  return true;
}

core::Status GgufParser::read_tensor_info(GgufTensorInfo* t) {
  uint32_t n_dims = 0;
  if (!read_string(&t->name) || !read(&n_dims)) return fail("truncated tensor info");
  if (n_dims == 0 || n_dims > 8) return fail("tensor '" + t->name + "': " + std::to_string(n_dims) + " dimensions");
  for (uint32_t d = 0; d < n_dims; ++d) {
    uint64_t ne = 0;
    if (!read(&ne)) return fail("tensor '" + t->name + "': truncated dims");
    t->ne.push_back(ne);
  }
  if (!read(&t->ggml_type) || !read(&t->offset)) return fail("tensor '" + t->name + "': truncated info");
  return core::Status::ok();
}

core::Status GgufParser::place_tensors() {
  const uint64_t data_size = size_ - f_->data_offset_;
  for (size_t k = 0; k < f_->tensors_.size(); ++k) {
    GgufTensorInfo& t = f_->tensors_[k];
    const std::string where = "tensor '" + t.name + "': ";
    if (!f_->index_.emplace(t.name, k).second) return fail(where + "name appears twice");
    if (t.offset % f_->alignment_ != 0) return fail(where + "offset not a multiple of the alignment");
    int64_t be = 0, bb = 0;
    if (!ggml_type_size(t.ggml_type, &be, &bb)) continue;  // unknown type: listed, never viewed
    uint64_t numel = 1;
    for (uint64_t ne : t.ne) {
      if (ne > (uint64_t{1} << 40) || (ne != 0 && numel > (uint64_t{1} << 50) / ne)) return fail(where + "too large");
      numel *= ne;
    }
    if (t.ne[0] % static_cast<uint64_t>(be) != 0) {
      return fail(where + "row length " + std::to_string(t.ne[0]) + " is not a multiple of the block size");
    }
    t.nbytes = numel / static_cast<uint64_t>(be) * static_cast<uint64_t>(bb);
    if (t.offset > data_size || t.nbytes > data_size - t.offset) {
      return fail(where + "data runs past the end of the file (truncated?)");
    }
    auto dtype = ggml_type_to_dtype(t.ggml_type);
    t.usable = dtype.has_value() && t.ne.size() <= static_cast<size_t>(core::kMaxDims);
    if (!t.usable) continue;
    core::TensorView& v = t.view;
    v.dtype = *dtype;
    v.data = const_cast<uint8_t*>(p_ + f_->data_offset_ + t.offset);
    v.ndim = static_cast<int>(t.ne.size());
    for (int d = 0; d < v.ndim; ++d) v.shape[d] = static_cast<int64_t>(t.ne[t.ne.size() - 1 - d]);
    v.row_bytes = core::dtype_row_bytes(v.dtype, v.cols());
  }
  return core::Status::ok();
}

core::Status GgufParser::run() {
  uint32_t magic = 0;
  if (!read(&magic) || std::memcmp(&magic, "GGUF", 4) != 0) return fail("not a GGUF file (bad magic)");
  if (!read(&f_->version_)) return fail("truncated header");
  if (f_->version_ != 2 && f_->version_ != 3) {
    if (f_->version_ == 0x02000000u || f_->version_ == 0x03000000u) return fail("big-endian GGUF is not supported");
    return fail("GGUF version " + std::to_string(f_->version_) + " is not supported (2 and 3 are)");
  }
  uint64_t n_tensors = 0, n_kv = 0;
  if (!read(&n_tensors) || !read(&n_kv)) return fail("truncated header");
  if (n_tensors > kMaxCount || n_kv > kMaxCount) return fail("implausible tensor or key count");
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key;
    uint32_t type = 0;
    if (!read_string(&key) || !read(&type)) return fail("truncated metadata key " + std::to_string(k));
    if (type > 12) return fail("key '" + key + "': unknown value type " + std::to_string(type));
    GgufValue v;
    if (!read_value(static_cast<GgufType>(type), &v, 0)) return fail("key '" + key + "': truncated or corrupt value");
    f_->kv_[key] = std::move(v);
  }
  if (const GgufValue* a = f_->find("general.alignment")) {
    if (!a->is_int() || a->i <= 0 || a->i > (1 << 20) || (a->i & (a->i - 1)) != 0) {
      return fail("general.alignment must be a power of two");
    }
    f_->alignment_ = static_cast<uint64_t>(a->i);
  }
  f_->tensors_.resize(n_tensors);
  for (auto& t : f_->tensors_) NLM_RETURN_IF_ERROR(read_tensor_info(&t));
  const uint64_t a = f_->alignment_;
  f_->data_offset_ = (pos_ + a - 1) / a * a;
  if (f_->data_offset_ > size_) {
    if (n_tensors == 0) {
      f_->data_offset_ = size_;
    } else {
      return fail("tensor data section starts past the end of the file (truncated?)");
    }
  }
  return place_tensors();
}

core::Result<std::shared_ptr<GgufFile>> GgufFile::open(const std::string& path) {
  auto file = core::MappedFile::open(path);
  if (!file.is_ok()) return core::error(ErrorCode::kModelLoadFailed, "[gguf] " + file.status().message());
  std::shared_ptr<GgufFile> f(new GgufFile());
  f->file_ = std::move(file).value();
  GgufParser parser(f.get());
  NLM_RETURN_IF_ERROR(parser.run());
  return f;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::kString) return std::nullopt;
  return v->s;
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || !v->is_int()) return std::nullopt;
  return v->i;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_float()) return v->f;
  if (v->is_int()) return static_cast<double>(v->i);
  return std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::kBool) return std::nullopt;
  return v->i != 0;
}

const std::vector<std::string>* GgufFile::get_strings(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::kArray || v->array_type != GgufType::kString) return nullptr;
  return &v->strings;
}

std::optional<std::vector<float>> GgufFile::get_f32_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::kArray) return std::nullopt;
  if (v->array_type == GgufType::kString || v->array_type == GgufType::kArray) return std::nullopt;
  std::vector<float> out;
  out.reserve(v->floats.size() + v->ints.size());
  for (double x : v->floats) out.push_back(static_cast<float>(x));
  for (int64_t x : v->ints) out.push_back(static_cast<float>(x));
  return out;
}

std::optional<std::vector<int64_t>> GgufFile::get_int_array(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v || v->type != GgufType::kArray) return std::nullopt;
  const GgufType t = v->array_type;
  if (t == GgufType::kString || t == GgufType::kArray || t == GgufType::kFloat32 || t == GgufType::kFloat64) {
    return std::nullopt;
  }
  return v->ints;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

core::Result<core::TensorView> GgufFile::tensor(std::string_view name) const {
  const GgufTensorInfo* t = find_tensor(name);
  if (!t) {
    return core::error(ErrorCode::kModelLoadFailed, "[gguf] " + path() + ": no tensor '" + std::string(name) + "'");
  }
  if (!t->usable) {
    return core::error(ErrorCode::kModelLoadFailed, "[gguf] " + path() + ": tensor " + t->name + ": type " +
                                                        std::to_string(t->ggml_type) + " with " +
                                                        std::to_string(t->ne.size()) + " dims unsupported");
  }
  return t->view;
}

std::vector<std::string> GgufFile::names() const {
  std::vector<std::string> out;
  for (const auto& t : tensors_) out.push_back(t.name);
  return out;
}

}  // namespace nlm::formats
