#pragma once
// MLX-quantized copies of float safetensors models, for tests: each chosen `p.weight` [N, K] becomes
//   p.weight  U32 [N, K·bits/32]  (each row one little-endian bit stream, as mlx.core.quantize packs it)
//   p.scales, p.biases  F16 [N, K/group]
// and config.json gains "quantization", as mlx_lm.convert -q writes them. The quantizer here is plain
// min/max affine per group (MLX's own picks the scale so a group's larger-magnitude edge is exact); any
// affine choice is a valid checkpoint, and the loader must decode each exactly. A "dense twin" holds the
// exact decoded values in F32, so the two models can be compared.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/f16.h"
#include "formats/safetensors.h"
#include "formats/test_writers.h"

namespace nlm::testing {

struct MlxQuantized {
  std::vector<uint32_t> packed;          // [N, K·bits/32]
  std::vector<uint16_t> scales, biases;  // f16 [N, K/group]
  std::vector<float> decoded;            // [N, K]: scale·q + bias, as MLX defines the weight
};

inline MlxQuantized mlx_quantize(const float* w, int64_t N, int64_t K, int bits, int group) {
  MlxQuantized out;
  const int top = (1 << bits) - 1;
  out.packed.assign(static_cast<size_t>(N * K * bits / 32), 0u);
  out.decoded.resize(static_cast<size_t>(N * K));
  for (int64_t g = 0; g < N * K / group; ++g) {
    const float* x = w + g * group;
    const auto [lo, hi] = std::minmax_element(x, x + group);
    const uint16_t s16 = core::f32_to_f16(std::max((*hi - *lo) / static_cast<float>(top), 1e-4f));
    const uint16_t b16 = core::f32_to_f16(*lo);
    out.scales.push_back(s16);
    out.biases.push_back(b16);
    const float s = core::f16_to_f32(s16), b = core::f16_to_f32(b16);
    for (int64_t j = 0; j < group; ++j) {
      const int64_t i = g * group + j;
      const int q = std::clamp(static_cast<int>(std::lround((x[j] - b) / s)), 0, top);
      const int64_t p = i * bits;  // one little-endian bit stream: value i at bits [i·bits, +bits)
      const auto v = static_cast<uint64_t>(q) << (p % 32);
      out.packed[static_cast<size_t>(p / 32)] |= static_cast<uint32_t>(v);
      if (p % 32 + bits > 32) out.packed[static_cast<size_t>(p / 32 + 1)] |= static_cast<uint32_t>(v >> 32);
      out.decoded[static_cast<size_t>(i)] = s * static_cast<float>(q) + b;
    }
  }
  return out;
}

struct MlxParams {
  int bits = 4;
  int group = 64;
};

// The bits and group config.json's "quantization" gives module `prefix` (its override, else the global).
inline MlxParams mlx_params(const nlohmann::json& q, const std::string& prefix) {
  MlxParams p{q.value("bits", 4), q.value("group_size", 64)};
  if (q.contains(prefix) && q[prefix].is_object()) {
    p = {q[prefix].value("bits", p.bits), q[prefix].value("group_size", p.group)};
  }
  return p;
}

// Reads the F32 model in `src_dir` and writes two folders: `mlx_dir` quantized as `quantization` says
// (every 2-D ".weight" whose K is a multiple of its group, as mlx_lm quantizes Linear and Embedding
// layers) and `dense_dir` with the decoded values in F32. Other files of `src_dir` (config.json aside)
// are copied to both. Returns the names of the quantized weights.
inline std::vector<std::string> write_mlx_twins(const std::string& src_dir, const nlohmann::json& quantization,
                                                const std::string& mlx_dir, const std::string& dense_dir) {
  namespace fs = std::filesystem;
  auto src = formats::SafetensorsFile::open(src_dir + "/model.safetensors");
  if (!src.is_ok()) return {};
  SafetensorsWriter mlx, dense;
  std::vector<std::string> quantized;
  for (const auto& t : (*src)->tensors()) {
    if (t.dtype != "F32") return {};
    const auto* f = t.view.as<const float>();
    const std::vector<float> values(f, f + t.view.numel());
    const std::string prefix = t.name.substr(0, t.name.rfind('.'));
    const MlxParams p = mlx_params(quantization, prefix);
    const bool quantize = t.name.ends_with(".weight") && t.shape.size() == 2 && t.shape[1] % p.group == 0;
    if (!quantize) {
      mlx.add(t.name, "F32", t.shape, raw_bytes(values));
      dense.add(t.name, "F32", t.shape, raw_bytes(values));
      continue;
    }
    const int64_t N = t.shape[0], K = t.shape[1];
    const MlxQuantized q = mlx_quantize(values.data(), N, K, p.bits, p.group);
    mlx.add(t.name, "U32", {N, K * p.bits / 32}, raw_bytes(q.packed));
    mlx.add(prefix + ".scales", "F16", {N, K / p.group}, raw_bytes(q.scales));
    mlx.add(prefix + ".biases", "F16", {N, K / p.group}, raw_bytes(q.biases));
    dense.add(t.name, "F32", t.shape, raw_bytes(q.decoded));
    quantized.push_back(t.name);
  }
  for (const auto& dir : {mlx_dir, dense_dir}) fs::create_directories(dir);
  mlx.write(mlx_dir + "/model.safetensors");
  dense.write(dense_dir + "/model.safetensors");
  for (const auto& e : fs::directory_iterator(src_dir)) {
    const std::string name = e.path().filename().string();
    if (name == "model.safetensors" || name == "config.json" || name.starts_with("reference")) continue;
    fs::copy_file(e.path(), mlx_dir + "/" + name, fs::copy_options::overwrite_existing);
    fs::copy_file(e.path(), dense_dir + "/" + name, fs::copy_options::overwrite_existing);
  }
  nlohmann::json config;
  std::ifstream(src_dir + "/config.json") >> config;
  std::ofstream(dense_dir + "/config.json") << config.dump(2);
  config["quantization"] = quantization;
  std::ofstream(mlx_dir + "/config.json") << config.dump(2);
  return quantized;
}

}  // namespace nlm::testing
