#pragma once
// The encoder architecture table: HF `architectures[0]` / `model_type` names -> the family that runs it.
// Aliases live here and only here (xlm-roberta -> bert with padding-offset positions, ...). Decoders have
// their own table (decoder_model.h: find_decoder_loader).
#include <memory>
#include <string>
#include <string_view>

#include "models/encoder_model.h"

namespace nlm::models {

using EncoderLoadFn = core::Result<std::shared_ptr<EncoderModel>> (*)(const EncoderSource& src);

// Family loaders (one file each).
core::Result<std::shared_ptr<EncoderModel>> load_bert(const EncoderSource& src);   // bert, xlm-roberta, roberta
core::Result<std::shared_ptr<EncoderModel>> load_mpnet(const EncoderSource& src);

struct EncoderArch {
  std::string_view name;  // HF class ("BertModel") or model_type ("bert")
  EncoderLoadFn load;
  bool padding_positions;  // RoBERTa-style position ids (see EncoderSource)
};

// Looks up architectures[0] first, then model_type; nullptr when neither is known.
const EncoderArch* find_encoder_arch(const formats::ModelConfig& config);

// Loads the encoder of a Hugging Face folder (config.json + safetensors). kModelLoadFailed naming the
// file/tensor when something is missing or malformed; kUnsupported for an unknown architecture.
core::Result<std::shared_ptr<EncoderModel>> load_encoder(const std::string& dir);

}  // namespace nlm::models
