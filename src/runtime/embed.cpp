#include "runtime/embed.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <utility>

#include <utf8proc.h>

#include "formats/gguf_names.h"
#include "kernels/kernels.h"
#include "models/registry.h"
#include "tokenizer/unicode.h"

namespace nlm::runtime {
namespace {
namespace fs = std::filesystem;
using core::ErrorCode;

constexpr int64_t kTokensPerCall = 8192;  // activations of one encoder call stay a few tens of MB

EmbedPooling from_st(formats::PoolingMode m) {
  switch (m) {
    case formats::PoolingMode::kMean: return EmbedPooling::kMean;
    case formats::PoolingMode::kCls: return EmbedPooling::kCls;
    case formats::PoolingMode::kMax: return EmbedPooling::kMax;
    case formats::PoolingMode::kMeanSqrtLen: return EmbedPooling::kMeanSqrtLen;
    case formats::PoolingMode::kLastToken: return EmbedPooling::kLast;
  }
  return EmbedPooling::kMean;
}

struct Prepared {
  std::vector<std::vector<int32_t>> ids;
  std::vector<bool> truncated;
  int64_t skip = 0;  // prompt tokens left out of mean/max pooling (include_prompt = false)
};

core::Result<std::string> resolve_prompt(const Embedder& e, const EmbedOptions& o) {
  if (o.prompt && o.prompt_name) {
    return core::error(ErrorCode::kInvalidRequest, "[embed] give 'prompt' or 'prompt_name', not both");
  }
  if (o.prompt) return *o.prompt;
  std::string name = o.prompt_name ? *o.prompt_name : e.st.default_prompt_name;
  if (name.empty()) return std::string();
  auto it = e.st.prompts.find(name);
  if (it == e.st.prompts.end()) {
    std::string known;
    for (const auto& [k, v] : e.st.prompts) known += (known.empty() ? "" : ", ") + k;
    return core::error(ErrorCode::kInvalidRequest, "[embed] unknown prompt_name '" + name + "' (this model has: " +
                                                       (known.empty() ? "none" : known) + ")");
  }
  return it->second;
}

core::Status too_long(size_t index, int64_t n, int64_t limit) {
  return core::error(ErrorCode::kInputTooLong, "[embed] input " + std::to_string(index) + " has " + std::to_string(n) +
                                                   " tokens; the model takes at most " + std::to_string(limit) +
                                                   " (set \"truncate\": true to cut it)");
}

core::Status prepare_texts(const Embedder& e, const std::vector<std::string>& texts, const EmbedOptions& o,
                           Prepared* p) {
  if (!e.tokenizer) {
    return core::error(ErrorCode::kModelLoadFailed,
                       "[embed] " + e.path + " has no usable tokenizer (" + e.tokenizer_status.message() +
                           "); send \"tokens\" instead of text");
  }
  NLM_ASSIGN_OR_RETURN(std::string prompt, resolve_prompt(e, o));
  if (e.st.do_lower_case) prompt = lower_like_python(prompt);  // sentence-transformers lowercases prompt + text
  if (!prompt.empty() && !e.st.include_prompt) {
    NLM_ASSIGN_OR_RETURN(auto pids, e.tokenizer->encode(prompt, true));
    p->skip = static_cast<int64_t>(pids.size());
    if (!pids.empty() && e.tokenizer->is_special(pids.back())) --p->skip;
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string text = prompt + (e.st.do_lower_case ? lower_like_python(texts[i]) : texts[i]);
    NLM_ASSIGN_OR_RETURN(auto ids, e.tokenizer->encode(text, true));
    bool cut = false;
    if (static_cast<int64_t>(ids.size()) > e.max_tokens) {
      if (!o.truncate) return too_long(i, static_cast<int64_t>(ids.size()), e.max_tokens);
      tok::EncodeOptions eo;
      eo.max_length = static_cast<size_t>(e.max_tokens);
      NLM_ASSIGN_OR_RETURN(ids, e.tokenizer->encode(text, eo));
      cut = true;
    }
    if (ids.empty()) return core::error(ErrorCode::kInvalidRequest, "[embed] text " + std::to_string(i) + " has no tokens");
    p->ids.push_back(std::move(ids));
    p->truncated.push_back(cut);
  }
  return core::Status::ok();
}

core::Status prepare_tokens(const Embedder& e, const std::vector<std::vector<int32_t>>& lists, const EmbedOptions& o,
                            Prepared* p) {
  if (o.prompt || o.prompt_name) {
    return core::error(ErrorCode::kInvalidRequest, "[embed] prompts apply to text, not to pre-tokenized input");
  }
  const int64_t vocab = e.model->info().vocab_size;
  for (size_t i = 0; i < lists.size(); ++i) {
    const auto& ids = lists[i];
    if (ids.empty()) return core::error(ErrorCode::kInvalidRequest, "[embed] token list " + std::to_string(i) + " is empty");
    for (int32_t id : ids) {
      if (id < 0 || id >= vocab) {
        return core::error(ErrorCode::kInvalidRequest, "[embed] token id " + std::to_string(id) + " in list " +
                                                           std::to_string(i) + " is outside the vocabulary (size " +
                                                           std::to_string(vocab) + ")");
      }
    }
    const int64_t n = static_cast<int64_t>(ids.size());
    if (n > e.max_tokens && !o.truncate) return too_long(i, n, e.max_tokens);
    p->ids.emplace_back(ids.begin(), ids.begin() + std::min(n, e.max_tokens));
    p->truncated.push_back(n > e.max_tokens);
  }
  return core::Status::ok();
}

// A folder without config.json holding exactly one .gguf (a pulled GGUF-only repository).
std::optional<std::string> single_gguf_in(const std::string& dir) {
  std::optional<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".gguf") continue;
    if (found) return std::nullopt;
    found = entry.path().string();
  }
  return found;
}

// llama.cpp's pooling enum (bert.pooling_type): absent means the source folder had no Pooling module,
// where sentence-transformers mean-pools.
core::Result<EmbedPooling> gguf_pooling(const formats::GgufFile& f) {
  const std::string key = f.architecture() + ".pooling_type";
  const auto v = f.get_int(key);
  if (!v) return EmbedPooling::kMean;
  switch (*v) {
    case 0: return EmbedPooling::kNone;
    case 1: return EmbedPooling::kMean;
    case 2: return EmbedPooling::kCls;
    case 3: return EmbedPooling::kLast;
    default:
      return core::error(ErrorCode::kUnsupported, "[embed] " + f.path() + ": " + key + " " + std::to_string(*v) +
                                                      " is not supported (0 none, 1 mean, 2 cls, 3 last are)");
  }
}

// A GGUF encoder: the config rebuilt from its metadata, tensors under their HF names, its own vocabulary.
// Positions count from 0: llama.cpp's converter drops the pad_token_id + 1 unused rows of RoBERTa-style
// position tables, so every GGUF encoder runs with plain positions.
core::Result<std::shared_ptr<Embedder>> load_gguf_embedder(const std::string& file) {
  NLM_ASSIGN_OR_RETURN(auto gguf, formats::GgufFile::open(file));
  auto config = formats::ModelConfig::from_json(formats::gguf_encoder_config(*gguf), file);
  const models::EncoderArch* arch = models::find_encoder_arch(config);
  if (arch == nullptr) {
    return core::error(ErrorCode::kUnsupported, "[embed] " + file + ": GGUF architecture '" + gguf->architecture() +
                                                    "' is not a supported encoder (bert is)");
  }
  auto e = std::make_shared<Embedder>();
  e->path = file;
  e->format = "gguf";
  NLM_ASSIGN_OR_RETURN(e->pooling, gguf_pooling(*gguf));
  e->normalize = true;  // llama.cpp's embedding output (--embd-normalize 2, the default)
  models::EncoderSource src{std::move(config), std::make_shared<formats::GgufHfView>(gguf), false};
  NLM_ASSIGN_OR_RETURN(e->model, arch->load(src));
  auto tk = tok::load_gguf_tokenizer(file);
  if (tk.is_ok()) {
    e->tokenizer = std::move(tk).value();
  } else {
    e->tokenizer_status = tk.status();
  }
  e->max_tokens = e->model->info().max_tokens;
  return e;
}

// Python's "cased" (Lowercase, Uppercase or Lt): letters with a case, characters with a case mapping
// (Ⓐ, Ⅰ), and the Other_Lowercase / Other_Uppercase characters that have none (ª, º, modifier letters,
// squared Latin letters).
bool is_cased(char32_t c) {
  static constexpr std::pair<char32_t, char32_t> kOtherCased[] = {
      {0xAA, 0xAA},       {0xBA, 0xBA},       {0x2B0, 0x2B8},     {0x2C0, 0x2C1},     {0x2E0, 0x2E4},
      {0x345, 0x345},     {0x37A, 0x37A},     {0x10FC, 0x10FC},   {0x1D2C, 0x1D6A},   {0x1D78, 0x1D78},
      {0x1D9B, 0x1DBF},   {0x2071, 0x2071},   {0x207F, 0x207F},   {0x2090, 0x209C},   {0x2C7C, 0x2C7D},
      {0xA69C, 0xA69D},   {0xA770, 0xA770},   {0xA7F2, 0xA7F4},   {0xA7F8, 0xA7F9},   {0xAB5C, 0xAB5F},
      {0xAB69, 0xAB69},   {0x10780, 0x10780}, {0x10783, 0x10785}, {0x10787, 0x107B0}, {0x107B2, 0x107BA},
      {0x1E030, 0x1E06D}, {0x1F130, 0x1F149}, {0x1F150, 0x1F169}, {0x1F170, 0x1F189},
  };
  const auto u = static_cast<utf8proc_int32_t>(c);
  const auto cat = utf8proc_category(u);
  if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) return true;
  if (utf8proc_tolower(u) != u || utf8proc_toupper(u) != u) return true;
  for (const auto& [lo, hi] : kOtherCased) {
    if (c >= lo && c <= hi) return true;
  }
  return false;
}

// Python's "case-ignorable": Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter / MidNumLet / Single_Quote.
bool is_case_ignorable(char32_t c) {
  static constexpr char32_t kWordBreakMid[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,  0x5F4,  0x2018, 0x2019,
                                               0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
  const auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
      cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK) {
    return true;
  }
  return std::find(std::begin(kWordBreakMid), std::end(kWordBreakMid), c) != std::end(kWordBreakMid);
}

// Σ at `i` is final when a cased character precedes it and none follows (case-ignorables skipped).
bool is_final_sigma(const std::u32string& s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  if (j == 0 || !is_cased(s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && is_case_ignorable(s[k])) ++k;
  return k == s.size() || !is_cased(s[k]);
}

void finish_vector(float* v, int64_t rows, int64_t dim, int64_t keep, bool normalize, std::vector<float>* out) {
  out->resize(static_cast<size_t>(rows * keep));
  for (int64_t r = 0; r < rows; ++r) std::copy_n(v + r * dim, keep, out->data() + r * keep);
  if (normalize) kernels::l2_normalize(out->data(), rows, keep);
}
}  // namespace

void pool_sequence(const float* x, int64_t n, int64_t dim, EmbedPooling mode, int64_t skip, float* out) {
  std::vector<uint8_t> mask;
  const bool masked = skip > 0 && skip < n && mode != EmbedPooling::kCls && mode != EmbedPooling::kLast;
  if (masked) {
    mask.assign(static_cast<size_t>(n), 1);
    std::fill_n(mask.begin(), skip, 0);
  }
  kernels::Pooling k = kernels::Pooling::kMean;
  if (mode == EmbedPooling::kCls) k = kernels::Pooling::kCls;
  if (mode == EmbedPooling::kMax) k = kernels::Pooling::kMax;
  if (mode == EmbedPooling::kLast) k = kernels::Pooling::kLast;
  kernels::pool(x, 1, n, dim, masked ? mask.data() : nullptr, k, out);
  if (mode == EmbedPooling::kMeanSqrtLen) {  // sum / sqrt(count) = mean * sqrt(count)
    const float s = std::sqrt(static_cast<float>(masked ? n - skip : n));
    kernels::scale(out, dim, s, out);
  }
}

std::string lower_like_python(std::string_view text) {
  std::u32string s;
  for (size_t i = 0; i < text.size();) s.push_back(tok::next_cp(text, i));
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    } else if (c == 0x130) {  // the one unconditional multi-character lowercase mapping
      out += "i\xCC\x87";
    } else if (c == 0x3A3) {
      tok::append_utf8(out, is_final_sigma(s, i) ? 0x3C2 : 0x3C3);
    } else {
      tok::append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    }
  }
  return out;
}

core::Result<std::shared_ptr<Embedder>> load_embedder(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return load_gguf_embedder(path);
  if (!fs::is_directory(path, ec)) {
    return core::error(ErrorCode::kModelNotFound, "[embed] " + path + " is neither a model folder nor a file");
  }
  if (!fs::exists(fs::path(path) / "config.json", ec) && !fs::exists(fs::path(path) / "modules.json", ec)) {
    if (auto gguf = single_gguf_in(path)) return load_gguf_embedder(*gguf);
  }
  auto e = std::make_shared<Embedder>();
  e->path = path;
  e->format = "safetensors";
  NLM_ASSIGN_OR_RETURN(e->st, formats::load_sentence_transformers(path));
  const std::string model_dir = (fs::path(path) / e->st.transformer_path).string();
  NLM_ASSIGN_OR_RETURN(e->model, models::load_encoder(model_dir));
  for (const std::string& dir : {model_dir, path}) {
    if (e->tokenizer || !fs::exists(fs::path(dir) / "tokenizer.json", ec)) continue;
    auto tk = tok::load_tokenizer(dir);
    if (tk.is_ok()) {
      e->tokenizer = std::move(tk).value();
    } else {
      e->tokenizer_status = tk.status();
    }
  }
  if (!e->tokenizer && e->tokenizer_status.is_ok()) {
    e->tokenizer_status = core::error(ErrorCode::kModelLoadFailed, "no tokenizer.json in the folder");
  }
  e->pooling = from_st(e->st.pooling);
  e->normalize = e->st.normalize;
  e->max_tokens = e->model->info().max_tokens;
  if (e->st.max_seq_length) e->max_tokens = std::min(e->max_tokens, *e->st.max_seq_length);
  return e;
}

core::Result<EmbedOutput> embed_texts(const Embedder& e, const std::vector<std::string>* texts,
                                      const std::vector<std::vector<int32_t>>* token_lists, const EmbedOptions& o,
                                      const CancelFn& cancelled) {
  Prepared p;
  if (texts) {
    NLM_RETURN_IF_ERROR(prepare_texts(e, *texts, o, &p));
  } else if (token_lists) {
    NLM_RETURN_IF_ERROR(prepare_tokens(e, *token_lists, o, &p));
  }
  const int64_t dim = e.model->info().hidden_size;
  EmbedOutput out;
  out.pooling = o.pooling.value_or(e.pooling);
  const bool per_token = out.pooling == EmbedPooling::kNone;
  out.normalized = o.normalize.value_or(per_token ? false : e.normalize);
  if (o.dimensions < 0 || o.dimensions > dim) {
    return core::error(ErrorCode::kInvalidRequest, "[embed] 'dimensions' must be between 1 and " + std::to_string(dim));
  }
  out.dimensions = o.dimensions > 0 ? o.dimensions : dim;
  const size_t n = p.ids.size();
  out.vectors.resize(n);
  out.truncated = p.truncated;
  for (const auto& ids : p.ids) out.tokens.push_back(static_cast<int64_t>(ids.size()));
  // Group by length (shortest first) into calls of at most kTokensPerCall tokens.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p.ids[a].size() < p.ids[b].size(); });
  std::vector<float> states, pooled(static_cast<size_t>(dim));
  for (size_t start = 0; start < n;) {
    if (cancelled && cancelled()) return core::error(ErrorCode::kCancelled, "[embed] request cancelled");
    size_t end = start;
    int64_t total = 0;
    std::vector<std::span<const int32_t>> seqs;
    while (end < n && (end == start || total + static_cast<int64_t>(p.ids[order[end]].size()) <= kTokensPerCall)) {
      total += static_cast<int64_t>(p.ids[order[end]].size());
      seqs.emplace_back(p.ids[order[end]]);
      ++end;
    }
    states.resize(static_cast<size_t>(total * dim));
    e.model->embed(seqs, states.data());
    int64_t off = 0;
    for (size_t k = start; k < end; ++k) {
      const size_t i = order[k];
      const int64_t len = static_cast<int64_t>(p.ids[i].size());
      float* x = states.data() + off * dim;
      if (per_token) {
        finish_vector(x, len, dim, out.dimensions, out.normalized, &out.vectors[i]);
      } else {
        pool_sequence(x, len, dim, out.pooling, p.skip, pooled.data());
        finish_vector(pooled.data(), 1, dim, out.dimensions, out.normalized, &out.vectors[i]);
      }
      off += len;
    }
    start = end;
  }
  return out;
}

}  // namespace nlm::runtime
