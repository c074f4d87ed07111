#include "models/registry.h"

#include <array>

#include "formats/mlx_quantized.h"
#include "formats/safetensors.h"

namespace nlm::models {
namespace {
constexpr std::array kEncoders = {
    EncoderArch{"BertModel", load_bert, false},
    EncoderArch{"BertForMaskedLM", load_bert, false},
    EncoderArch{"bert", load_bert, false},
    EncoderArch{"XLMRobertaModel", load_bert, true},
    EncoderArch{"xlm-roberta", load_bert, true},
    EncoderArch{"RobertaModel", load_bert, true},
    EncoderArch{"roberta", load_bert, true},
    EncoderArch{"camembert", load_bert, true},
    EncoderArch{"MPNetModel", load_mpnet, true},
    EncoderArch{"MPNetForMaskedLM", load_mpnet, true},
    EncoderArch{"mpnet", load_mpnet, true},
};
}  // namespace

const EncoderArch* find_encoder_arch(const formats::ModelConfig& config) {
  for (const std::string& key : {config.architecture(), config.model_type()}) {
    for (const auto& a : kEncoders) {
      if (!key.empty() && a.name == key) return &a;
    }
  }
  return nullptr;
}

core::Result<std::shared_ptr<EncoderModel>> load_encoder(const std::string& dir) {
  NLM_ASSIGN_OR_RETURN(auto config, formats::ModelConfig::load(dir));
  const EncoderArch* arch = find_encoder_arch(config);
  if (!arch) {
    return core::error(core::ErrorCode::kUnsupported,
                       "[models] " + config.source() + ": architecture '" + config.architecture() + "' (model_type '" +
                           config.model_type() + "') is not a supported encoder");
  }
  NLM_ASSIGN_OR_RETURN(auto file_weights, formats::SafetensorsModel::open(dir));
  NLM_ASSIGN_OR_RETURN(auto weights, formats::wrap_mlx_quantized(std::move(file_weights), config.json()));
  EncoderSource src{std::move(config), std::move(weights), arch->padding_positions};
  return arch->load(src);
}

}  // namespace nlm::models
