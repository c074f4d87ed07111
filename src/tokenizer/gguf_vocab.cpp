// Tokenizers from the tokenizer.ggml.* metadata of GGUF files, equivalent to the Hugging Face
// tokenizer each vocabulary came from: "llama" (SentencePiece BPE by scores, byte fallback), "gpt2"
// (byte-level BPE with the pre-tokenizer regex tokenizer.ggml.pre names) and "bert" (WordPiece).
#include "formats/gguf.h"
#include "tokenizer/components.h"
#include "tokenizer/models.h"
#include "tokenizer/tokenizer.h"

namespace nlm::tok {
namespace {

using core::ErrorCode;

// llama.cpp's token types.
enum TokenType : int64_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

constexpr const char* kGpt2Regex =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

struct PreType {
  const char* name;
  const char* regex;
  bool ignore_merges;
};
constexpr PreType kPreTypes[] = {
    {"default", kGpt2Regex, false},     {"gpt-2", kGpt2Regex, false},         {"gpt2", kGpt2Regex, false},
    {"llama-bpe", kLlama3Regex, true},  {"llama3", kLlama3Regex, true},       {"llama-v3", kLlama3Regex, true},
    {"smaug-bpe", kLlama3Regex, false}, {"qwen2", kQwen2Regex, false},        {"deepseek-r1-qwen", kQwen2Regex, false},
    {"stablelm2", kQwen2Regex, false},  {"roberta-bpe", kGpt2Regex, false},
};

core::Status bad(const std::string& path, const std::string& why) {
  return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] " + path + ": " + why);
}

std::optional<int32_t> meta_id(const formats::GgufFile& f, const char* key, size_t n_tokens) {
  const auto v = f.get_int(key);
  if (!v || *v < 0 || static_cast<size_t>(*v) >= n_tokens) return std::nullopt;
  return static_cast<int32_t>(*v);
}

void collect_added(const std::vector<std::string>& tokens, const std::vector<int64_t>& types, TokenizerParts& parts) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int64_t t = i < types.size() ? types[i] : kNormal;
    if (t != kControl && t != kUserDefined && t != kUnknown) continue;
    AddedToken a;
    a.content = tokens[i];
    a.id = static_cast<int32_t>(i);
    a.special = t != kUserDefined;
    parts.added_tokens.push_back(std::move(a));
  }
}

core::Result<Vocab> plain_vocab(const std::vector<std::string>& tokens) {
  Vocab v;
  v.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) NLM_RETURN_IF_ERROR(v.add(tokens[i], static_cast<int32_t>(i)));
  return v;
}

core::Status build_spm(const formats::GgufFile& f, const std::vector<std::string>& tokens,
                       const std::vector<int64_t>& types, TokenizerParts& parts) {
  const auto scores = f.get_f32_array("tokenizer.ggml.scores");
  if (!scores || scores->size() != tokens.size()) return bad(f.path(), "tokenizer.ggml.scores missing or of the wrong size");
  NLM_ASSIGN_OR_RETURN(Vocab vocab, plain_vocab(tokens));
  const bool space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  parts.normalizer = make_spm_normalizer(space_prefix);
  parts.model = std::make_unique<SpmBpeModel>(std::move(vocab), *scores, parts.special.unk);
  parts.decoder = make_spm_decoder(space_prefix);
  Ids prefix, suffix;
  if (f.get_bool("tokenizer.ggml.add_bos_token").value_or(true) && parts.special.bos) prefix.push_back(*parts.special.bos);
  if (f.get_bool("tokenizer.ggml.add_eos_token").value_or(false) && parts.special.eos) suffix.push_back(*parts.special.eos);
  parts.post_processor = make_template_processor(std::move(prefix), std::move(suffix));
  collect_added(tokens, types, parts);
  return core::Status::ok();
}

core::Status build_gpt2(const formats::GgufFile& f, const std::vector<std::string>& tokens,
                        const std::vector<int64_t>& types, TokenizerParts& parts) {
  const auto* merges_txt = f.get_strings("tokenizer.ggml.merges");
  if (merges_txt == nullptr) return bad(f.path(), "tokenizer.ggml.merges missing");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(merges_txt->size());
  for (const std::string& m : *merges_txt) {
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) return bad(f.path(), "merge '" + m + "' is not two tokens");
    merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  const std::string pre = f.get_string("tokenizer.ggml.pre").value_or("default");
  const PreType* type = &kPreTypes[0];
  for (const PreType& p : kPreTypes) {
    if (pre == p.name) type = &p;
  }
  NLM_ASSIGN_OR_RETURN(Vocab vocab, plain_vocab(tokens));
  BpeOptions opt;
  opt.ignore_merges = type->ignore_merges;
  NLM_ASSIGN_OR_RETURN(auto model, BpeModel::create(std::move(vocab), merges, opt));
  parts.model = std::move(model);
  NLM_ASSIGN_OR_RETURN(parts.pre_tokenizer, make_byte_level_pre_tokenizer(type->regex));
  parts.decoder = make_byte_level_decoder();
  Ids prefix, suffix;
  if (f.get_bool("tokenizer.ggml.add_bos_token").value_or(false) && parts.special.bos) prefix.push_back(*parts.special.bos);
  if (f.get_bool("tokenizer.ggml.add_eos_token").value_or(false) && parts.special.eos) suffix.push_back(*parts.special.eos);
  parts.post_processor = make_template_processor(std::move(prefix), std::move(suffix));
  collect_added(tokens, types, parts);
  return core::Status::ok();
}

// llama.cpp stores BERT vocabularies with "▁" on word-initial pieces and no "##" on continuations.
core::Status build_bert(const formats::GgufFile& f, const std::vector<std::string>& tokens,
                        const std::vector<int64_t>& types, TokenizerParts& parts) {
  static constexpr std::string_view kSpace = "\xE2\x96\x81";
  Vocab vocab;
  vocab.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int64_t t = i < types.size() ? types[i] : kNormal;
    std::string s = tokens[i];
    if (s.compare(0, kSpace.size(), kSpace) == 0) {
      s.erase(0, kSpace.size());
    } else if (t == kNormal) {
      s.insert(0, "##");
    }
    NLM_RETURN_IF_ERROR(vocab.add(std::move(s), static_cast<int32_t>(i)));
  }
  if (!parts.special.unk) return bad(f.path(), "bert vocabulary without tokenizer.ggml.unknown_token_id");
  parts.normalizer = make_bert_normalizer(true);
  parts.pre_tokenizer = make_bert_pre_tokenizer();
  parts.model = std::make_unique<WordPieceModel>(std::move(vocab), *parts.special.unk, "##", 100);
  parts.decoder = make_wordpiece_decoder("##", true);
  Ids prefix, suffix;
  if (parts.special.cls) prefix.push_back(*parts.special.cls);
  if (parts.special.sep) suffix.push_back(*parts.special.sep);
  parts.post_processor = make_template_processor(std::move(prefix), std::move(suffix));
  collect_added(tokens, types, parts);
  return core::Status::ok();
}

}  // namespace

core::Result<std::shared_ptr<Tokenizer>> load_gguf_tokenizer(const std::string& path) {
  NLM_ASSIGN_OR_RETURN(auto file, formats::GgufFile::open(path));
  const formats::GgufFile& f = *file;
  const auto model = f.get_string("tokenizer.ggml.model");
  if (!model) return bad(path, "no tokenizer.ggml.model (no vocabulary in this GGUF)");
  const auto* tokens = f.get_strings("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->empty()) return bad(path, "tokenizer.ggml.tokens missing");
  const auto types = f.get_int_array("tokenizer.ggml.token_type").value_or(std::vector<int64_t>{});
  TokenizerParts parts;
  const size_t n = tokens->size();
  parts.special.bos = meta_id(f, "tokenizer.ggml.bos_token_id", n);
  parts.special.eos = meta_id(f, "tokenizer.ggml.eos_token_id", n);
  parts.special.unk = meta_id(f, "tokenizer.ggml.unknown_token_id", n);
  parts.special.pad = meta_id(f, "tokenizer.ggml.padding_token_id", n);
  parts.special.cls = meta_id(f, "tokenizer.ggml.cls_token_id", n);
  parts.special.sep = meta_id(f, "tokenizer.ggml.seperator_token_id", n);
  if (!parts.special.sep) parts.special.sep = meta_id(f, "tokenizer.ggml.separator_token_id", n);
  parts.special.mask = meta_id(f, "tokenizer.ggml.mask_token_id", n);
  parts.chat_template = f.get_string("tokenizer.chat_template").value_or("");
  parts.source = path;
  parts.kind = "gguf:" + *model;
  if (*model == "llama") {
    NLM_RETURN_IF_ERROR(build_spm(f, *tokens, types, parts));
  } else if (*model == "gpt2") {
    NLM_RETURN_IF_ERROR(build_gpt2(f, *tokens, types, parts));
  } else if (*model == "bert") {
    NLM_RETURN_IF_ERROR(build_bert(f, *tokens, types, parts));
  } else {
    return core::error(ErrorCode::kUnsupported, "[tokenizer] " + path + ": tokenizer.ggml.model '" + *model +
                                                    "' is not supported (llama, gpt2, bert are)");
  }
  return std::make_shared<Tokenizer>(std::move(parts));
}

}  // namespace nlm::tok
