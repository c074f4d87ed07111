#pragma once
// Minimal writers of safetensors and GGUF files for tests (tiny files built inside the test, including
// deliberately broken ones). Header-only; shared by tests/formats and tests/models.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nlm::testing {

template <typename T>
std::string raw_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

inline bool write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(out);
}

class SafetensorsWriter {
 public:
  void add(const std::string& name, const std::string& dtype, std::vector<int64_t> shape, std::string bytes) {
    entries_.push_back({name, dtype, std::move(shape), std::move(bytes)});
  }
  void metadata(const std::string& k, const std::string& v) { meta_[k] = v; }
  // The header object as it would be written (tests may edit it before `serialize(header)`).
  nlohmann::json header() const {
    nlohmann::json h = nlohmann::json::object();
    uint64_t off = 0;
    for (const auto& e : entries_) {
      h[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {off, off + e.bytes.size()}}};
      off += e.bytes.size();
    }
    if (!meta_.empty()) h["__metadata__"] = meta_;
    return h;
  }
  std::string serialize() const { return serialize(header()); }
  std::string serialize(const nlohmann::json& h) const {
    std::string text = h.dump();
    while (text.size() % 8 != 0) text.push_back(' ');
    std::string out(8, '\0');
    const uint64_t n = text.size();
    std::memcpy(out.data(), &n, 8);
    out += text;
    for (const auto& e : entries_) out += e.bytes;
    return out;
  }
  bool write(const std::string& path) const { return write_file(path, serialize()); }

 private:
  struct Entry {
    std::string name, dtype;
    std::vector<int64_t> shape;
    std::string bytes;
  };
  std::vector<Entry> entries_;
  nlohmann::json meta_ = nlohmann::json::object();
};

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3, uint64_t alignment = 32) : version_(version), alignment_(alignment) {}

  void kv_u32(const std::string& k, uint32_t v) { key(k, 4); put(v); ++n_kv_; }
  void kv_i32(const std::string& k, int32_t v) { key(k, 5); put(v); ++n_kv_; }
  void kv_f32(const std::string& k, float v) { key(k, 6); put(v); ++n_kv_; }
  void kv_bool(const std::string& k, bool v) { key(k, 7); put(static_cast<uint8_t>(v)); ++n_kv_; }
  void kv_str(const std::string& k, const std::string& v) { key(k, 8); str(v); ++n_kv_; }
  void kv_u64(const std::string& k, uint64_t v) { key(k, 10); put(v); ++n_kv_; }
  void kv_i64(const std::string& k, int64_t v) { key(k, 11); put(v); ++n_kv_; }
  void kv_f64(const std::string& k, double v) { key(k, 12); put(v); ++n_kv_; }
  void kv_u8(const std::string& k, uint8_t v) { key(k, 0); put(v); ++n_kv_; }
  void kv_i16(const std::string& k, int16_t v) { key(k, 3); put(v); ++n_kv_; }
  void kv_strs(const std::string& k, const std::vector<std::string>& v) {
    key(k, 9); put(uint32_t{8}); put(static_cast<uint64_t>(v.size()));
    for (const auto& s : v) str(s);
    ++n_kv_;
  }
  void kv_f32s(const std::string& k, const std::vector<float>& v) {
    key(k, 9); put(uint32_t{6}); put(static_cast<uint64_t>(v.size()));
    for (float x : v) put(x);
    ++n_kv_;
  }
  void kv_i32s(const std::string& k, const std::vector<int32_t>& v) {
    key(k, 9); put(uint32_t{5}); put(static_cast<uint64_t>(v.size()));
    for (int32_t x : v) put(x);
    ++n_kv_;
  }
  // `ne` innermost first, as GGUF stores it.
  void tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t ggml_type, std::string bytes) {
    tensors_.push_back({name, std::move(ne), ggml_type, std::move(bytes)});
  }

  std::string serialize() const {
    std::string out = "GGUF";
    append(&out, version_);
    append(&out, static_cast<uint64_t>(tensors_.size()));
    append(&out, n_kv_);
    out += kv_;
    uint64_t off = 0;
    std::vector<uint64_t> offsets;
    for (const auto& t : tensors_) {
      append(&out, static_cast<uint64_t>(t.name.size()));
      out += t.name;
      append(&out, static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) append(&out, d);
      append(&out, t.type);
      append(&out, off);
      offsets.push_back(off);
      off += (t.bytes.size() + alignment_ - 1) / alignment_ * alignment_;
    }
    while (out.size() % alignment_ != 0) out.push_back('\0');
    for (const auto& t : tensors_) {
      out += t.bytes;
      while (out.size() % alignment_ != 0) out.push_back('\0');
    }
    return out;
  }
  bool write(const std::string& path) const { return write_file(path, serialize()); }

 private:
  template <typename T>
  static void append(std::string* s, T v) { s->append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  template <typename T>
  void put(T v) { append(&kv_, v); }
  void str(const std::string& s) { put(static_cast<uint64_t>(s.size())); kv_ += s; }
  void key(const std::string& k, uint32_t type) { str(k); put(type); }

  struct Tensor {
    std::string name;
    std::vector<uint64_t> ne;
    uint32_t type;
    std::string bytes;
  };
  uint32_t version_;
  uint64_t alignment_;
  uint64_t n_kv_ = 0;
  std::string kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace nlm::testing
