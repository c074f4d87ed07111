#pragma once
// The tokenization models: BPE (merge ranks, optionally byte fallback), SentencePiece-style BPE by
// piece scores (GGUF "llama" vocabularies), WordPiece and Unigram.
#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/components.h"

namespace nlm::tok {

// Transparent hashing so lookups by string_view allocate nothing.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// token ↔ id, shared by every model.
class Vocab {
 public:
  // Fails on duplicate ids or holes are allowed (ids need not be dense).
  core::Status add(std::string token, int32_t id);
  std::optional<int32_t> find(std::string_view token) const {
    auto it = map_.find(token);
    return it == map_.end() ? std::nullopt : std::optional<int32_t>(it->second);
  }
  const std::string* token(int32_t id) const {
    return id >= 0 && static_cast<size_t>(id) < tokens_.size() && has_[id] ? &tokens_[id] : nullptr;
  }
  size_t size() const { return map_.size(); }
  size_t id_bound() const { return tokens_.size(); }
  size_t max_token_bytes() const {
    size_t m = 0;
    for (const auto& [t, id] : map_) m = std::max(m, t.size());
    return m;
  }
  void reserve(size_t n) { map_.reserve(n); }

 private:
  VocabMap map_;
  std::vector<std::string> tokens_;
  std::vector<bool> has_;
};

core::Result<Vocab> vocab_from_json(const Json& j);

// A bounded word → ids cache shared by the threads that use one tokenizer.
class WordCache {
 public:
  bool get(std::string_view word, Ids& out) const;
  void put(std::string_view word, const Ids& ids) const;

 private:
  static constexpr size_t kCapacity = 50000;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, Ids, StringHash, std::equal_to<>> map_;
};

struct BpeOptions {
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;
  std::string end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class BpeModel final : public Model {
 public:
  // merges: pairs of tokens in rank order.
  static core::Result<std::unique_ptr<BpeModel>> create(Vocab vocab,
                                                        const std::vector<std::pair<std::string, std::string>>& merges,
                                                        BpeOptions options);
  void tokenize(std::string_view word, Ids& out) const override;
  std::optional<int32_t> token_to_id(std::string_view t) const override { return vocab_.find(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  size_t id_bound() const override { return vocab_.id_bound(); }

 private:
  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  void initial_symbols(std::string_view word, Ids& syms) const;
  void merge_word(Ids& syms) const;
  Vocab vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  BpeOptions opt_;
  std::optional<int32_t> unk_id_;
  int32_t byte_ids_[256];
  bool have_bytes_ = false;
  WordCache cache_;
};

// SentencePiece BPE as llama.cpp runs it for GGUF "llama" vocabularies: repeatedly merge the adjacent
// pair whose concatenation is the highest-scoring piece; characters outside the vocabulary fall back to
// <0xXX> byte pieces.
class SpmBpeModel final : public Model {
 public:
  SpmBpeModel(Vocab vocab, std::vector<float> scores, std::optional<int32_t> unk_id);
  void tokenize(std::string_view word, Ids& out) const override;
  std::optional<int32_t> token_to_id(std::string_view t) const override { return vocab_.find(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  size_t id_bound() const override { return vocab_.id_bound(); }

 private:
  Vocab vocab_;
  std::vector<float> scores_;
  std::optional<int32_t> unk_id_;
  int32_t byte_ids_[256];
  WordCache cache_;
};

class WordPieceModel final : public Model {
 public:
  WordPieceModel(Vocab vocab, int32_t unk_id, std::string prefix, size_t max_chars);
  void tokenize(std::string_view word, Ids& out) const override;
  std::optional<int32_t> token_to_id(std::string_view t) const override { return vocab_.find(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  size_t id_bound() const override { return vocab_.id_bound(); }

 private:
  Vocab vocab_;
  int32_t unk_id_;
  std::string prefix_;
  size_t max_chars_;
  size_t max_token_bytes_;  // no piece is longer: longer candidates are not looked up
  WordCache cache_;
};

// WordLevel: each pre-token is one vocabulary entry (or the unknown token).
class WordLevelModel final : public Model {
 public:
  WordLevelModel(Vocab vocab, std::optional<int32_t> unk_id) : vocab_(std::move(vocab)), unk_id_(unk_id) {}
  void tokenize(std::string_view word, Ids& out) const override {
    if (const auto id = vocab_.find(word)) {
      out.push_back(*id);
    } else if (unk_id_) {
      out.push_back(*unk_id_);
    }
  }
  std::optional<int32_t> token_to_id(std::string_view t) const override { return vocab_.find(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  size_t id_bound() const override { return vocab_.id_bound(); }

 private:
  Vocab vocab_;
  std::optional<int32_t> unk_id_;
};

class UnigramModel final : public Model {
 public:
  // pieces: (token, score) with ids = positions.
  static core::Result<std::unique_ptr<UnigramModel>> create(std::vector<std::pair<std::string, double>> pieces,
                                                            std::optional<int32_t> unk_id, bool byte_fallback);
  void tokenize(std::string_view word, Ids& out) const override;
  std::optional<int32_t> token_to_id(std::string_view t) const override { return vocab_.find(t); }
  const std::string* id_to_token(int32_t id) const override { return vocab_.token(id); }
  size_t vocab_size() const override { return vocab_.size(); }
  size_t id_bound() const override { return vocab_.id_bound(); }

 private:
  Vocab vocab_;
  std::vector<double> scores_;
  std::optional<int32_t> unk_id_;
  bool byte_fallback_ = false;
  double unk_score_ = 0;
  size_t max_piece_bytes_ = 0;
  int32_t byte_ids_[256];
  WordCache cache_;
};

}  // namespace nlm::tok
