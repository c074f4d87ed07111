// BPE by merge ranks (tokenizer.json "BPE") and by piece scores (GGUF "llama" vocabularies), plus the
// vocabulary and word cache every model shares.
#include <cstdio>
#include <queue>

#include "tokenizer/models.h"
#include "tokenizer/unicode.h"

namespace nlm::tok {

core::Status Vocab::add(std::string token, int32_t id) {
  if (id < 0 || id > (1 << 28)) {
    return core::error(core::ErrorCode::kModelLoadFailed, "[tokenizer] token id " + std::to_string(id) + " out of range");
  }
  if (static_cast<size_t>(id) >= tokens_.size()) {
    tokens_.resize(static_cast<size_t>(id) + 1);
    has_.resize(static_cast<size_t>(id) + 1, false);
  }
  tokens_[id] = token;
  has_[id] = true;
  map_.emplace(std::move(token), id);  // a repeated token keeps its first id
  return core::Status::ok();
}

bool WordCache::get(std::string_view word, Ids& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(word);
  if (it == map_.end()) return false;
  out.insert(out.end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::put(std::string_view word, const Ids& ids) const {
  if (word.size() > 64) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (map_.size() >= kCapacity) map_.clear();
  map_.emplace(std::string(word), ids);
}

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

void find_byte_ids(const Vocab& v, int32_t* ids, bool* all) {
  *all = true;
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    const auto id = v.find(name);
    ids[b] = id.value_or(-1);
    *all = *all && id.has_value();
  }
}

}  // namespace

core::Result<std::unique_ptr<BpeModel>> BpeModel::create(
    Vocab vocab, const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options) {
  auto m = std::unique_ptr<BpeModel>(new BpeModel());
  m->merges_.reserve(merges.size());
  int32_t rank = 0;
  for (const auto& [a, b] : merges) {
    const auto ia = vocab.find(a), ib = vocab.find(b);
    const size_t plen = options.continuing_subword_prefix.size();
    std::string joined = a + (b.compare(0, plen, options.continuing_subword_prefix) == 0 ? b.substr(plen) : b);
    const auto ij = vocab.find(joined);
    if (!ia || !ib || !ij) {
      return core::error(core::ErrorCode::kModelLoadFailed,
                         "[tokenizer] BPE merge '" + a + " " + b + "' uses a token missing from the vocabulary");
    }
    m->merges_.emplace(pair_key(*ia, *ib), Merge{rank++, *ij});  // a repeated pair keeps its first rank
  }
  if (options.unk_token) m->unk_id_ = vocab.find(*options.unk_token);
  find_byte_ids(vocab, m->byte_ids_, &m->have_bytes_);
  m->vocab_ = std::move(vocab);
  m->opt_ = std::move(options);
  return m;
}

void BpeModel::initial_symbols(std::string_view word, Ids& syms) const {
  std::string buf;
  bool prev_unk = false;
  for (size_t i = 0; i < word.size();) {
    const size_t start = i;
    i += utf8_len(static_cast<unsigned char>(word[i]));
    if (i > word.size()) i = word.size();
    buf.clear();
    if (start > 0) buf += opt_.continuing_subword_prefix;
    buf.append(word.substr(start, i - start));
    if (i == word.size()) buf += opt_.end_of_word_suffix;
    if (const auto id = vocab_.find(buf)) {
      syms.push_back(*id);
      prev_unk = false;
      continue;
    }
    if (opt_.byte_fallback) {
      bool ok = true;
      for (unsigned char b : buf) ok = ok && byte_ids_[b] >= 0;
      if (ok) {
        for (unsigned char b : buf) syms.push_back(byte_ids_[b]);
        prev_unk = false;
        continue;
      }
    }
    if (unk_id_) {
      if (!(opt_.fuse_unk && prev_unk)) syms.push_back(*unk_id_);
      prev_unk = true;
    }
  }
}

void BpeModel::merge_word(Ids& syms) const {
  const int n = static_cast<int>(syms.size());
  if (n < 2) return;
  std::vector<int> prev(n), next(n);
  std::vector<bool> alive(n, true);
  for (int i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  struct Cand {
    int32_t rank;
    int pos;
    int32_t new_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
  auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    auto it = merges_.find(pair_key(syms[pos], syms[next[pos]]));
    if (it != merges_.end()) queue.push(Cand{it->second.rank, pos, it->second.new_id});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!queue.empty()) {
    const Cand c = queue.top();
    queue.pop();
    if (!alive[c.pos] || next[c.pos] < 0) continue;
    const int right = next[c.pos];
    auto it = merges_.find(pair_key(syms[c.pos], syms[right]));
    if (it == merges_.end() || it->second.new_id != c.new_id) continue;  // a stale entry
    syms[c.pos] = c.new_id;
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  int w = 0;
  for (int i = 0; i >= 0; i = next[i]) syms[w++] = syms[i];
  syms.resize(w);
}

void BpeModel::tokenize(std::string_view word, Ids& out) const {
  if (word.empty()) return;
  if (opt_.ignore_merges) {
    if (const auto id = vocab_.find(word)) {
      out.push_back(*id);
      return;
    }
  }
  if (cache_.get(word, out)) return;
  Ids syms;
  syms.reserve(word.size());
  initial_symbols(word, syms);
  merge_word(syms);
  cache_.put(word, syms);
  out.insert(out.end(), syms.begin(), syms.end());
}

SpmBpeModel::SpmBpeModel(Vocab vocab, std::vector<float> scores, std::optional<int32_t> unk_id)
    : vocab_(std::move(vocab)), scores_(std::move(scores)), unk_id_(unk_id) {
  bool all = false;
  find_byte_ids(vocab_, byte_ids_, &all);
}

void SpmBpeModel::tokenize(std::string_view word, Ids& out) const {
  if (word.empty()) return;
  if (cache_.get(word, out)) return;
  struct Sym {
    size_t begin, len;
    int prev, next;
  };
  std::vector<Sym> syms;
  for (size_t i = 0; i < word.size();) {
    const size_t len = std::min(utf8_len(static_cast<unsigned char>(word[i])), word.size() - i);
    syms.push_back(Sym{i, len, static_cast<int>(syms.size()) - 1, -1});
    if (syms.size() > 1) syms[syms.size() - 2].next = static_cast<int>(syms.size()) - 1;
    i += len;
  }
  struct Cand {
    float score;
    int left, right;
    size_t size;
    bool operator<(const Cand& o) const { return score != o.score ? score < o.score : left > o.left; }
  };
  std::priority_queue<Cand> queue;
  auto push = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    const std::string_view text = word.substr(syms[l].begin, syms[l].len + syms[r].len);
    const auto id = vocab_.find(text);
    if (!id || static_cast<size_t>(*id) >= scores_.size()) return;
    queue.push(Cand{scores_[*id], l, r, text.size()});
  };
  for (size_t i = 1; i < syms.size(); ++i) push(static_cast<int>(i) - 1, static_cast<int>(i));
  while (!queue.empty()) {
    const Cand c = queue.top();
    queue.pop();
    Sym& l = syms[c.left];
    Sym& r = syms[c.right];
    if (l.len == 0 || r.len == 0 || l.next != c.right || l.len + r.len != c.size) continue;  // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = c.left;
    push(l.prev, c.left);
    push(c.left, l.next);
  }
  const size_t before = out.size();
  for (int i = 0; i >= 0 && !syms.empty(); i = syms[i].next) {
    const std::string_view text = word.substr(syms[i].begin, syms[i].len);
    if (const auto id = vocab_.find(text)) {
      out.push_back(*id);
      continue;
    }
    for (unsigned char b : text) {
      if (byte_ids_[b] >= 0) {
        out.push_back(byte_ids_[b]);
      } else if (unk_id_) {
        out.push_back(*unk_id_);
      }
    }
  }
  cache_.put(word, Ids(out.begin() + static_cast<std::ptrdiff_t>(before), out.end()));
}

}  // namespace nlm::tok
