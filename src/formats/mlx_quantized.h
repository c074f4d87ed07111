#pragma once
// MLX quantized checkpoints (mlx-community "-4bit", "-8bit", "-3bit", "-6bit"… folders written by
// mlx_lm.convert -q or mlx.nn.quantize). Every quantized Linear or Embedding `p` stores
//   p.weight            uint32 [N, K·bits/32]   each row one little-endian bit stream (mode "affine")
//   p.scales, p.biases  f16 / bf16 / f32 [N, K/group]   w = scale·q + bias
// and config.json declares {"quantization": {"group_size": g, "bits": b}}, where a module path may carry
// its own {"group_size", "bits"} (mixed quantization); "quantization_config" is read when
// "quantization" is absent. Modules left in float (norms, a Linear whose K is no multiple of the group)
// have no scales and pass through unchanged.
//
// The wrapping source presents each quantized p.weight as the [N, K] tensor of dtype a4_32 / a8_32 that
// kernels::convert_mlx_affine converts it to exactly (once, at open, on the thread pool, into memory the
// source owns: 24 bytes per 32 weights of 2 to 4 bits, 40 per 32 of 5 to 8 bits), and hides p.scales and
// p.biases.
#include <memory>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "formats/tensor_source.h"

namespace nlm::formats {

// `weights` itself when `config` declares no quantization. Otherwise the converting source, or an error
// naming the tensor: kUnsupported for bits other than 2, 3, 4, 5, 6 or 8, a group other than 32 / 64 /
// 128, a mode other than "affine" or a Hugging Face "quant_method" (GPTQ, AWQ, …: not MLX);
// kModelLoadFailed for a missing weight or biases, or shapes and dtypes that do not agree with the
// declared bits and group.
core::Result<std::shared_ptr<TensorSource>> wrap_mlx_quantized(std::shared_ptr<TensorSource> weights,
                                                                const nlohmann::json& config);

}  // namespace nlm::formats
