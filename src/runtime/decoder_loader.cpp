#include "runtime/decoder_loader.h"

#include <algorithm>
#include <filesystem>

#include "core/log.h"
#include "formats/gguf_names.h"
#include "formats/mlx_quantized.h"
#include "formats/model_config.h"
#include "formats/safetensors.h"

namespace nlm::runtime {
namespace {
namespace fs = std::filesystem;
using core::ErrorCode;
using nlohmann::json;

void add_eos(std::vector<int32_t>* ids, int64_t id) {
  if (id >= 0 && std::find(ids->begin(), ids->end(), id) == ids->end()) ids->push_back(static_cast<int32_t>(id));
}

core::Result<std::string> find_gguf_in(const fs::path& dir) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".gguf") found.push_back(e.path());
  }
  if (found.size() == 1) return found[0].string();
  return core::error(ErrorCode::kModelNotFound,
                     "[decoder] " + dir.string() + ": no config.json and " +
                         (found.empty() ? std::string("no .gguf file") : std::string("several .gguf files")));
}

core::Status finish(LoadedDecoder& d, const models::DecoderSource& src) {
  const std::string type = src.config.value("model_type", std::string());
  models::DecoderLoadFn load = models::find_decoder_loader(type);
  if (!load) {
    return core::error(ErrorCode::kUnsupported,
                       "[decoder] architecture '" + type + "' is not supported for generation");
  }
  NLM_ASSIGN_OR_RETURN(d.model, load(src));
  d.eos_token_ids = d.model->info().eos_token_ids;
  if (d.tokenizer && d.tokenizer->special_tokens().eos) add_eos(&d.eos_token_ids, *d.tokenizer->special_tokens().eos);
  return core::Status::ok();
}

core::Status load_hf(LoadedDecoder& d, const fs::path& dir) {
  models::DecoderSource src;
  NLM_ASSIGN_OR_RETURN(src.config, formats::read_json_file((dir / "config.json").string()));
  std::error_code ec;
  if (fs::exists(dir / "generation_config.json", ec)) {
    NLM_ASSIGN_OR_RETURN(src.generation_config, formats::read_json_file((dir / "generation_config.json").string()));
    d.generation_config = src.generation_config;
  }
  NLM_ASSIGN_OR_RETURN(auto files, formats::SafetensorsModel::open(dir.string()));
  NLM_ASSIGN_OR_RETURN(src.weights, formats::wrap_mlx_quantized(files, src.config));
  if (fs::exists(dir / "tokenizer.json", ec)) {
    auto tk = tok::load_tokenizer(dir.string());
    if (tk.is_ok()) d.tokenizer = std::move(tk).value();
    else d.tokenizer_status = tk.status();
  }
  d.format = src.weights == files ? "safetensors" : "mlx";
  return finish(d, src);
}

core::Status load_gguf(LoadedDecoder& d, const std::string& file) {
  NLM_ASSIGN_OR_RETURN(auto gguf, formats::GgufFile::open(file));
  models::DecoderSource src;
  src.config = gguf_decoder_config(*gguf);
  src.from_gguf = true;
  src.weights = std::make_shared<formats::GgufHfView>(gguf);
  if (!src.weights->has("lm_head.weight")) src.config["tie_word_embeddings"] = true;
  auto tk = tok::load_gguf_tokenizer(file);
  if (tk.is_ok()) d.tokenizer = std::move(tk).value();
  else d.tokenizer_status = tk.status();
  d.format = "gguf";
  return finish(d, src);
}

}  // namespace

json gguf_decoder_config(const formats::GgufFile& f) {
  const std::string arch = f.architecture();
  json c = json::object();
  c["model_type"] = arch;
  auto put_int = [&](const char* hf, const std::string& key) {
    if (auto v = f.get_int(arch + "." + key)) c[hf] = *v;
  };
  auto put_float = [&](const char* hf, const std::string& key) {
    if (auto v = f.get_float(arch + "." + key)) c[hf] = *v;
  };
  put_int("max_position_embeddings", "context_length");
  put_int("hidden_size", "embedding_length");
  put_int("intermediate_size", "feed_forward_length");
  put_int("num_hidden_layers", "block_count");
  put_int("num_attention_heads", "attention.head_count");
  put_int("num_key_value_heads", "attention.head_count_kv");
  put_int("head_dim", "attention.key_length");
  put_float("rms_norm_eps", "attention.layer_norm_rms_epsilon");
  put_float("rope_theta", "rope.freq_base");
  put_int("sliding_window", "attention.sliding_window");
  put_float("attn_logit_softcapping", "attn_logit_softcapping");
  put_float("final_logit_softcapping", "final_logit_softcapping");
  if (auto tokens = f.get_strings("tokenizer.ggml.tokens")) c["vocab_size"] = tokens->size();
  if (auto t = f.find_tensor("token_embd.weight"); t && t->usable) c["vocab_size"] = t->view.shape[0];
  if (auto rot = f.get_int(arch + ".rope.dimension_count")) {
    const int64_t heads = c.value("num_attention_heads", int64_t{1});
    const int64_t hd = c.value("head_dim", c.value("hidden_size", int64_t{0}) / std::max<int64_t>(1, heads));
    if (hd > 0) c["partial_rotary_factor"] = static_cast<double>(*rot) / static_cast<double>(hd);
  }
  if (auto type = f.get_string(arch + ".rope.scaling.type"); type && *type != "none") {
    json rs = {{"rope_type", *type}};
    if (auto v = f.get_float(arch + ".rope.scaling.factor")) rs["factor"] = *v;
    if (auto v = f.get_int(arch + ".rope.scaling.original_context_length")) rs["original_max_position_embeddings"] = *v;
    c["rope_scaling"] = rs;
  }
  if (arch == "qwen2") c["attention_bias"] = true;
  if (arch == "gemma2" && !c.contains("query_pre_attn_scalar")) {
    if (auto v = f.get_int(arch + ".attention.key_length")) c["query_pre_attn_scalar"] = *v;
  }
  if (auto v = f.get_int("tokenizer.ggml.bos_token_id")) c["bos_token_id"] = *v;
  if (auto v = f.get_int("tokenizer.ggml.eos_token_id")) c["eos_token_id"] = *v;
  return c;
}

core::Result<std::vector<int32_t>> LoadedDecoder::encode_prompt(const std::string& text) const {
  if (!tokenizer) {
    std::string why = tokenizer_status.is_ok() ? "" : " (" + tokenizer_status.message() + ")";
    return core::error(ErrorCode::kInvalidRequest,
                       "[generate] model " + path + " has no tokenizer" + why + "; send \"prompt_tokens\" instead");
  }
  NLM_ASSIGN_OR_RETURN(std::vector<int32_t> ids, tokenizer->encode(text, /*add_special_tokens=*/true));
  const int32_t bos = model->info().bos_token_id;
  if (ids.empty() && bos >= 0) ids.push_back(bos);  // an empty prompt starts from BOS alone
  if (ids.empty()) {
    return core::error(ErrorCode::kInvalidRequest, "[generate] the prompt is empty and the model has no BOS token");
  }
  return ids;
}

core::Result<std::shared_ptr<LoadedDecoder>> load_decoder(const std::string& path) {
  auto d = std::make_shared<LoadedDecoder>();
  d->path = path;
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "config.json", ec)) {
      NLM_RETURN_IF_ERROR(load_hf(*d, p));
      return d;
    }
    NLM_ASSIGN_OR_RETURN(std::string file, find_gguf_in(p));
    NLM_RETURN_IF_ERROR(load_gguf(*d, file));
    return d;
  }
  if (fs::is_regular_file(p, ec)) {  // a .gguf file, or an Ollama blob (a GGUF without the extension)
    NLM_RETURN_IF_ERROR(load_gguf(*d, path));
    return d;
  }
  return core::error(ErrorCode::kModelNotFound, "[decoder] " + path + " is neither a model folder nor a file");
}

}  // namespace nlm::runtime
