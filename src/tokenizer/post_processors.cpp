// Post-processors: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel (no change to ids),
// Sequence. Only single sequences are encoded, so only the "single" template matters.
#include "tokenizer/components.h"

namespace nlm::tok {
namespace {

using core::ErrorCode;

class AffixProcessor final : public PostProcessor {
 public:
  AffixProcessor(Ids prefix, Ids suffix) : prefix_(std::move(prefix)), suffix_(std::move(suffix)) {}
  void process(Ids& ids) const override {
    ids.insert(ids.begin(), prefix_.begin(), prefix_.end());
    ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  }
  size_t added_tokens() const override { return prefix_.size() + suffix_.size(); }
  const Ids& prefix() const { return prefix_; }
  const Ids& suffix() const { return suffix_; }

 private:
  Ids prefix_, suffix_;
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void process(Ids& ids) const override {
    for (const auto& p : parts_) p->process(ids);
  }
  size_t added_tokens() const override {
    size_t n = 0;
    for (const auto& p : parts_) n += p->added_tokens();
    return n;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

core::Result<int32_t> special_id(const Json& pair, const Model& model) {
  // [token, id] as Bert/RobertaProcessing store them.
  if (pair.is_array() && pair.size() == 2 && pair[1].is_number_integer()) return pair[1].get<int32_t>();
  return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] special token must be [token, id]: " + json_error_context(pair));
}

core::Result<std::unique_ptr<PostProcessor>> make_template(const Json& j) {
  const Json& single = j.at("single");
  const Json& specials = j.contains("special_tokens") ? j.at("special_tokens") : Json::object();
  Ids prefix, suffix;
  bool seen_seq = false;
  for (const auto& piece : single) {
    if (piece.contains("Sequence")) {
      seen_seq = true;
      continue;
    }
    if (!piece.contains("SpecialToken")) {
      return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] template piece: " + json_error_context(piece));
    }
    const std::string name = piece.at("SpecialToken").at("id").get<std::string>();
    auto it = specials.find(name);
    if (it == specials.end()) {
      return core::error(ErrorCode::kModelLoadFailed, "[tokenizer] template names unknown special token '" + name + "'");
    }
    for (const auto& id : it->at("ids")) (seen_seq ? suffix : prefix).push_back(id.get<int32_t>());
  }
  return std::unique_ptr<PostProcessor>(new AffixProcessor(std::move(prefix), std::move(suffix)));
}

core::Result<std::unique_ptr<PostProcessor>> make_typed(const Json& j, const std::string& type, const Model& model) {
  using P = std::unique_ptr<PostProcessor>;
  if (type == "TemplateProcessing") return make_template(j);
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    NLM_ASSIGN_OR_RETURN(int32_t cls, special_id(j.at("cls"), model));
    NLM_ASSIGN_OR_RETURN(int32_t sep, special_id(j.at("sep"), model));
    return P(new AffixProcessor({cls}, {sep}));
  }
  if (type == "ByteLevel") return P(new AffixProcessor({}, {}));  // offsets only
  if (type == "Sequence") {
    std::vector<P> parts;
    for (const auto& p : j.at("processors")) {
      NLM_ASSIGN_OR_RETURN(auto part, make_post_processor(p, model));
      if (part) parts.push_back(std::move(part));
    }
    return P(new SequenceProcessor(std::move(parts)));
  }
  return core::error(ErrorCode::kUnsupported, "[tokenizer] post-processor type '" + type + "' is not supported");
}

}  // namespace

core::Result<std::unique_ptr<PostProcessor>> make_post_processor(const Json& j, const Model& model) {
  if (j.is_null()) return std::unique_ptr<PostProcessor>();
  try {
    return make_typed(j, j.at("type").get<std::string>(), model);
  } catch (const Json::exception& e) {
    return core::error(ErrorCode::kModelLoadFailed,
                       std::string("[tokenizer] bad post-processor (") + e.what() + "): " + json_error_context(j));
  }
}

std::unique_ptr<PostProcessor> make_template_processor(Ids prefix, Ids suffix) {
  return std::make_unique<AffixProcessor>(std::move(prefix), std::move(suffix));
}

}  // namespace nlm::tok
