// tokenizer.json "model" objects → Model.
#include "tokenizer/models.h"

namespace nlm::tok {
namespace {

using core::ErrorCode;

core::Status bad_model(const std::string& why) {
  return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] model: " + why);
}

std::optional<std::string> opt_str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

core::Result<std::vector<std::pair<std::string, std::string>>> parse_merges(const Json& j) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!j.is_array()) return bad_model("BPE merges must be an array");
  out.reserve(j.size());
  for (const auto& m : j) {
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      if (sp == std::string::npos) return bad_model("BPE merge '" + s + "' is not two tokens");
      out.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      return bad_model("BPE merge is neither \"a b\" nor [a, b]");
    }
  }
  return out;
}

core::Result<std::unique_ptr<Model>> make_bpe(const Json& j) {
  NLM_ASSIGN_OR_RETURN(Vocab vocab, vocab_from_json(j.at("vocab")));
  NLM_ASSIGN_OR_RETURN(auto merges, parse_merges(j.contains("merges") ? j.at("merges") : Json::array()));
  BpeOptions o;
  o.unk_token = opt_str(j, "unk_token");
  o.continuing_subword_prefix = opt_str(j, "continuing_subword_prefix").value_or("");
  o.end_of_word_suffix = opt_str(j, "end_of_word_suffix").value_or("");
  o.fuse_unk = j.value("fuse_unk", false);
  o.byte_fallback = j.value("byte_fallback", false);
  o.ignore_merges = j.value("ignore_merges", false);
  NLM_ASSIGN_OR_RETURN(auto m, BpeModel::create(std::move(vocab), merges, std::move(o)));
  return std::unique_ptr<Model>(std::move(m));
}

core::Result<std::unique_ptr<Model>> make_wordpiece(const Json& j) {
  NLM_ASSIGN_OR_RETURN(Vocab vocab, vocab_from_json(j.at("vocab")));
  const std::string unk = opt_str(j, "unk_token").value_or("[UNK]");
  const auto unk_id = vocab.find(unk);
  if (!unk_id) return bad_model("WordPiece unk_token '" + unk + "' is not in the vocabulary");
  const std::string prefix = opt_str(j, "continuing_subword_prefix").value_or("##");
  const size_t max_chars = j.value("max_input_chars_per_word", size_t{100});
  return std::unique_ptr<Model>(new WordPieceModel(std::move(vocab), *unk_id, prefix, max_chars));
}

core::Result<std::unique_ptr<Model>> make_unigram(const Json& j) {
  std::vector<std::pair<std::string, double>> pieces;
  for (const auto& p : j.at("vocab")) {
    if (!p.is_array() || p.size() != 2) return bad_model("Unigram vocab entries are [piece, score]");
    pieces.emplace_back(p[0].get<std::string>(), p[1].get<double>());
  }
  std::optional<int32_t> unk;
  if (j.contains("unk_id") && j.at("unk_id").is_number_integer()) unk = j.at("unk_id").get<int32_t>();
  NLM_ASSIGN_OR_RETURN(auto m, UnigramModel::create(std::move(pieces), unk, j.value("byte_fallback", false)));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace

core::Result<Vocab> vocab_from_json(const Json& j) {
  Vocab v;
  if (!j.is_object()) return bad_model("vocab must be an object of token → id");
  v.reserve(j.size());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer()) return bad_model("vocab id of '" + it.key() + "' is not an integer");
    NLM_RETURN_IF_ERROR(v.add(it.key(), it.value().get<int32_t>()));
  }
  return v;
}

core::Result<std::unique_ptr<Model>> make_model(const Json& j) {
  if (!j.is_object()) return bad_model("missing");
  try {
    std::string type = j.value("type", "");
    if (type.empty()) {  // old files omit the type: infer it from the fields
      type = j.contains("merges") ? "BPE" : j.contains("max_input_chars_per_word") ? "WordPiece" : "Unigram";
    }
    if (type == "BPE") return make_bpe(j);
    if (type == "WordPiece") return make_wordpiece(j);
    if (type == "Unigram") return make_unigram(j);
    if (type == "WordLevel") {
      NLM_ASSIGN_OR_RETURN(Vocab vocab, vocab_from_json(j.at("vocab")));
      std::optional<int32_t> unk;
      if (const auto name = opt_str(j, "unk_token")) unk = vocab.find(*name);
      return std::unique_ptr<Model>(new WordLevelModel(std::move(vocab), unk));
    }
    return core::error(ErrorCode::kUnsupported, "[tokenizer] model type '" + type + "' is not supported");
  } catch (const Json::exception& e) {
    return bad_model(std::string("bad model object (") + e.what() + ")");
  }
}

}  // namespace nlm::tok
