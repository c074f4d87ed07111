#pragma once
// Loads a decoder for generation: a Hugging Face folder (config.json + safetensors, optional
// generation_config.json and tokenizer) or a GGUF file (F32 / F16 / BF16 tensors; its own tokenizer).
// A folder without a tokenizer still serves token ids (prompt_tokens, logits).
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "formats/gguf.h"
#include "models/decoder_model.h"
#include "tokenizer/tokenizer.h"

namespace nlm::runtime {

struct LoadedDecoder {
  std::string path;
  std::string format;  // "safetensors", "mlx" (quantized MLX safetensors) or "gguf"
  std::unique_ptr<models::DecoderModel> model;
  std::shared_ptr<tok::Tokenizer> tokenizer;  // null when there is none
  core::Status tokenizer_status;              // why there is none (ok when absent)
  nlohmann::json generation_config = nlohmann::json::object();  // {} when absent
  std::vector<int32_t> eos_token_ids;         // config + generation_config + tokenizer specials

  // The prompt's ids: the tokenizer's encoding with its special tokens (BOS where the tokenizer adds
  // one); an empty encoding becomes BOS alone when the model has one.
  core::Result<std::vector<int32_t>> encode_prompt(const std::string& text) const;
};

// `path`: a folder with config.json, a .gguf file, or a folder holding exactly one .gguf.
core::Result<std::shared_ptr<LoadedDecoder>> load_decoder(const std::string& path);

// An HF-style config.json rebuilt from a GGUF file's metadata (general.architecture, <arch>.*).
nlohmann::json gguf_decoder_config(const formats::GgufFile& file);

}  // namespace nlm::runtime
