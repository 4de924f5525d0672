// The order in which pyctcdecode visits a frame's candidate tokens.
//
// pyctcdecode builds them as `set(np.where(col >= token_min_logp)[0]) | {col.argmax()}` and iterates that set. A
// CPython set of small ints iterates in hash-table slot order, which is not ascending once two keys share a slot
// (e.g. 5 and 13 in an 8-slot table). The visiting order decides which of two beams with equal scores sorts first and
// which merged beam's word frames are kept, so to give identical outputs we replay CPython 3.11's set algorithm
// (Objects/setobject.c: linear probing of 9 slots, perturbed probing, growth to 4x `used` at 60% fill) on int keys,
// whose hash is the value itself. tests/test_fastbeam.py checks this against the real interpreter.
#pragma once

#include <cstddef>
#include <vector>

namespace fastbeam {

class PySetOrder {
 public:
  // `ascending`: the columns at or above the threshold, in increasing order (np.where's order); `extra`: the argmax.
  // Writes the iteration order of the union to `out`.
  void order(const std::vector<int>& ascending, int extra, std::vector<int>& out) {
    below_.reset();
    for (int key : ascending) add(below_, key);
    single_.reset();
    add(single_, extra);
    result_.reset();  // `a | b` copies a into a fresh set, then merges b into the copy
    merge(result_, below_);
    merge(result_, single_);
    out.clear();
    for (int key : result_.slots)
      if (key >= 0) out.push_back(key);
  }

 private:
  static constexpr size_t kMinSize = 8;       // PySet_MINSIZE
  static constexpr size_t kLinearProbes = 9;  // LINEAR_PROBES
  static constexpr int kPerturbShift = 5;     // PERTURB_SHIFT

  // A table without deletions, so CPython's `fill` and `used` are the same number.
  struct Table {
    std::vector<int> slots;  // -1: empty
    size_t mask = kMinSize - 1;
    size_t used = 0;
    void reset() {
      slots.assign(kMinSize, -1);
      mask = kMinSize - 1;
      used = 0;
    }
  };

  // set_insert_clean: place a key known to be absent, into a table known to have room.
  static void insert_clean(std::vector<int>& slots, size_t mask, int key) {
    size_t perturb = static_cast<size_t>(key);
    size_t i = perturb & mask;
    while (true) {
      if (slots[i] < 0) {
        slots[i] = key;
        return;
      }
      if (i + kLinearProbes <= mask) {
        for (size_t j = 1; j <= kLinearProbes; ++j) {
          if (slots[i + j] < 0) {
            slots[i + j] = key;
            return;
          }
        }
      }
      perturb >>= kPerturbShift;
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  // set_table_resize: smallest power of two above `minused`, keys reinserted in old slot order.
  static void resize(Table& t, size_t minused) {
    size_t size = kMinSize;
    while (size <= minused) size <<= 1;
    if (size == kMinSize && t.mask == kMinSize - 1) return;  // small table without dummies: CPython does nothing
    std::vector<int> old;
    old.swap(t.slots);
    t.slots.assign(size, -1);
    t.mask = size - 1;
    for (int key : old)
      if (key >= 0) insert_clean(t.slots, t.mask, key);
  }

  // set_add_entry.
  static void add(Table& t, int key) {
    const size_t mask = t.mask;
    size_t perturb = static_cast<size_t>(key);
    size_t i = perturb & mask;
    size_t at;
    while (true) {
      size_t probes = (i + kLinearProbes <= mask) ? kLinearProbes : 0;
      size_t e = i;
      bool found = false;
      while (true) {
        if (t.slots[e] < 0) {
          found = true;
          break;
        }
        if (t.slots[e] == key) return;  // already present
        if (probes-- == 0) break;
        ++e;
      }
      if (found) {
        at = e;
        break;
      }
      perturb >>= kPerturbShift;
      i = (i * 5 + 1 + perturb) & mask;
    }
    t.slots[at] = key;
    ++t.used;
    if (t.used * 5 < mask * 3) return;
    resize(t, t.used > 50000 ? t.used * 2 : t.used * 4);
  }

  // set_merge (set.update with another set).
  static void merge(Table& dst, const Table& src) {
    if (src.used == 0) return;
    if ((dst.used + src.used) * 5 >= dst.mask * 3) resize(dst, (dst.used + src.used) * 2);
    if (dst.used == 0 && dst.mask == src.mask) {  // same size, empty target: slots are copied verbatim
      dst.slots = src.slots;
      dst.used = src.used;
      return;
    }
    if (dst.used == 0) {
      for (int key : src.slots)
        if (key >= 0) insert_clean(dst.slots, dst.mask, key);
      dst.used = src.used;
      return;
    }
    for (int key : src.slots)
      if (key >= 0) add(dst, key);
  }

  Table below_, single_, result_;
};

}  // namespace fastbeam
