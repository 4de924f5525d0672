// Open-addressing hash map for the decoder's hot loops.
//
// Every beam expansion does a lookup or two (merge key, word-trie step, text-trie step). std::unordered_map allocates
// a node per entry and chases pointers; a flat table with linear probing keeps this work in cache. Keys are plain
// structs or integers compared with ==; the key equal to `Traits::empty()` is reserved as the empty marker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fastbeam {

inline uint64_t mix64(uint64_t x) {
  // splitmix64's finaliser: cheap and spreads packed (id << 32 | id) keys over all bits.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

struct U64Traits {
  static uint64_t empty() { return ~0ULL; }
  static uint64_t hash(uint64_t key) { return mix64(key); }
};

// Three 32-bit ids: the beam-merge key (text, unfinished word, last token).
struct Key3 {
  int32_t a, b, c;
  bool operator==(const Key3& o) const { return a == o.a && b == o.b && c == o.c; }
};
struct Key3Traits {
  static Key3 empty() { return Key3{-1, -1, -2}; }
  static uint64_t hash(const Key3& k) {
    return mix64((uint64_t(uint32_t(k.a)) << 32 | uint32_t(k.b)) ^ (uint64_t(uint32_t(k.c)) * 0x9e3779b97f4a7c15ULL));
  }
};

inline uint64_t pack(int32_t hi, uint32_t lo) { return uint64_t(uint32_t(hi)) << 32 | lo; }

template <class Key, class Traits>
class FlatMap {
 public:
  explicit FlatMap(size_t capacity = 64) { rehash(round_up(capacity)); }

  // The value stored for key, or -1.
  int32_t find(const Key& key) const {
    for (size_t i = Traits::hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == Traits::empty()) return -1;
    }
  }

  // Stores `value` for key unless key is present; returns the value stored for key either way.
  // `inserted` tells whether it was new.
  int32_t insert(const Key& key, int32_t value, bool& inserted) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    for (size_t i = Traits::hash(key) & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) {
        inserted = false;
        return s.value;
      }
      if (s.key == Traits::empty()) {
        s.key = key;
        s.value = value;
        ++size_;
        used_.push_back(uint32_t(i));
        inserted = true;
        return value;
      }
    }
  }

  // Empties the map in time proportional to its size, not its capacity: the merge map is cleared every frame.
  void clear() {
    for (uint32_t i : used_) slots_[i].key = Traits::empty();
    used_.clear();
    size_ = 0;
  }

  // Resizes an empty map for about `entries` keys. A map cleared every frame keeps the capacity its busiest frame
  // needed; probing a table much larger than its contents misses the cache, so it shrinks back.
  void fit(size_t entries) {
    const size_t wanted = round_up(2 * entries + 1);
    if (size_ == 0 && (wanted > slots_.size() || wanted * 8 < slots_.size())) rehash(wanted);
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    Key key;
    int32_t value;
  };

  static size_t round_up(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
  }

  void rehash(size_t capacity) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(capacity, Slot{Traits::empty(), -1});
    mask_ = capacity - 1;
    used_.clear();
    size_ = 0;
    bool inserted;
    for (const Slot& s : old)
      if (!(s.key == Traits::empty())) insert(s.key, s.value, inserted);
  }

  std::vector<Slot> slots_;
  std::vector<uint32_t> used_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

using U64Map = FlatMap<uint64_t, U64Traits>;
using Key3Map = FlatMap<Key3, Key3Traits>;

}  // namespace fastbeam
