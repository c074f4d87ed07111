#pragma once
// Stop strings matched across token boundaries. Text is pushed piece by piece as tokens are decoded;
// whatever could still be the start of a stop string is held back, so a stop string is never emitted,
// not even partly.
#include <string>
#include <string_view>
#include <vector>

namespace nlm::runtime {

class StopStrings {
 public:
  explicit StopStrings(std::vector<std::string> stops);

  // Appends `piece` and returns the text now safe to emit. After a stop string completes, stopped() is
  // true, the returned text ends right before it, and further pushes return nothing.
  std::string push(std::string_view piece);
  // The held-back tail, at the end of generation when no stop string matched.
  std::string flush();

  bool stopped() const { return stopped_; }
  const std::string& matched() const { return matched_; }  // the stop string that ended generation

 private:
  size_t holdback(std::string_view text) const;  // longest suffix of text that begins a stop string

  std::vector<std::string> stops_;
  std::string pending_;
  std::string matched_;
  bool stopped_ = false;
};

}  // namespace nlm::runtime
