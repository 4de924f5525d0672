// A static prefix tree over code points: the LM's unigrams (is this partial word the start of a known word?) and the
// hotwords (how long is the shortest hotword this partial word can still become?). Built once, then read-only, so
// decoding threads share it.
//
// Nodes are numbered breadth-first, so the children of node n are the consecutive ids
// [first_child_[n], first_child_[n + 1]) and a lookup scans a few code points in one small array instead of probing
// a hash table: the search looks up every new partial word here, and a compact trie stays in cache.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace fastbeam {

class CharTrie {
 public:
  static constexpr int kRoot = 0;

  CharTrie() : CharTrie(std::vector<std::vector<uint32_t>>{}) {}

  explicit CharTrie(const std::vector<std::vector<uint32_t>>& words) {
    // Build a plain tree, then renumber it breadth-first with each node's children sorted by code point.
    std::vector<std::vector<std::pair<uint32_t, int32_t>>> children(1);
    std::vector<uint8_t> terminal(1, 0);
    std::vector<int32_t> shortest(1, kNone);
    for (const std::vector<uint32_t>& word : words) {
      const int32_t length = static_cast<int32_t>(word.size());
      int32_t node = kRoot;
      shortest[node] = std::min(shortest[node], length);
      for (uint32_t cp : word) {
        auto& kids = children[node];
        auto it = std::find_if(kids.begin(), kids.end(), [cp](const auto& kid) { return kid.first == cp; });
        if (it != kids.end()) {
          node = it->second;
        } else {
          const int32_t fresh = static_cast<int32_t>(children.size());
          kids.emplace_back(cp, fresh);
          children.emplace_back();
          terminal.push_back(0);
          shortest.push_back(kNone);
          node = fresh;
        }
        shortest[node] = std::min(shortest[node], length);
      }
      if (!terminal[node]) ++words_;
      terminal[node] = 1;
    }
    const size_t count = children.size();
    std::vector<int32_t> order{kRoot};  // old ids in breadth-first order
    order.reserve(count);
    cp_.assign(count, 0);
    first_child_.assign(count + 1, 0);
    for (size_t next = 0; next < order.size(); ++next) {
      auto& kids = children[order[next]];
      std::sort(kids.begin(), kids.end());
      first_child_[next] = static_cast<int32_t>(order.size());
      for (const auto& kid : kids) {
        cp_[order.size()] = kid.first;
        order.push_back(kid.second);
      }
    }
    first_child_[count] = static_cast<int32_t>(count);
    terminal_.resize(count);
    shortest_.resize(count);
    for (size_t id = 0; id < count; ++id) {
      terminal_[id] = terminal[order[id]];
      shortest_[id] = shortest[order[id]];
    }
  }

  // The node for `node`'s string extended by cp, or -1 when no word starts that way (or node is -1).
  int child(int node, uint32_t cp) const {
    if (node < 0) return -1;
    for (int32_t id = first_child_[node], end = first_child_[node + 1]; id < end; ++id)
      if (cp_[id] == cp) return id;
    return -1;
  }
  // Whether the node's string is itself a word.
  bool terminal(int node) const { return node >= 0 && terminal_[node]; }
  // Length (code points) of the shortest word that starts with the node's string.
  int shortest(int node) const { return shortest_[node]; }
  bool empty() const { return words_ == 0; }
  size_t words() const { return words_; }

 private:
  static constexpr int32_t kNone = 0x7fffffff;

  std::vector<uint32_t> cp_;             // code point on the edge into each node
  std::vector<int32_t> first_child_;     // one past the end: first_child_[size] == size
  std::vector<uint8_t> terminal_;
  std::vector<int32_t> shortest_;
  size_t words_ = 0;
};

}  // namespace fastbeam
