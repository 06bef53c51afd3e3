// A read-only map from byte strings to ranks 0..n-1 (frequent words first), laid out for
// the hot loop of co-occurrence counting. Slots are 4 bytes (an 8-bit hash tag and the
// rank), so a vocabulary of 34,000 words takes 256 KB of slots and stays in L2, where a
// StringIdMap takes 1 MB of 16-byte slots plus an id -> rank array; and the keys are
// stored by rank, so the frequent words' keys share a few cache lines. Profiles of the
// counter had half of the lookup's time on the StringIdMap's first probe.
#pragma once
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"
#include "common/string_map.h"

namespace pfn {

class RankLookup {
 public:
  // Ranks must fit the slot's 24 bits (with all bits set meaning "empty").
  static bool fits(size_t n) { return n < kEmptyRank; }

  // The words of `words` (id i = words.key(i)) under the ranks rank_of_id[i], a
  // permutation of 0..words.size()-1.
  RankLookup(const StringIdMap& words, const int32_t* rank_of_id) {
    const size_t n = words.size();
    if (!fits(n)) throw std::invalid_argument("RankLookup: too many words");
    size_t cap = 16;
    while (cap * 6 < n * 10) cap <<= 1;  // load <= 0.6: 16 slots a line, most probes end in one
    slots_.assign(cap, kEmpty);
    mask_ = cap - 1;
    entries_.assign(n, Entry());
    for (size_t id = 0; id < n; ++id) {
      const uint32_t r = static_cast<uint32_t>(rank_of_id[id]);
      const std::string_view k = words.key(static_cast<int32_t>(id));
      Entry& e = entries_[r];
      e.len = static_cast<uint32_t>(k.size());
      if (k.size() <= 8) {
        e.word = load_upto8(k.data(), k.size());
      } else {
        e.word = arena_.size();
        arena_.append(k.data(), k.size());
      }
      const uint64_t h = hash_bytes(k.data(), k.size());
      size_t i = h & mask_;
      while (slots_[i] != kEmpty) i = (i + 1) & mask_;
      slots_[i] = tag_of(h) | r;
    }
  }

  size_t size() const { return entries_.size(); }

  // The rank of `k`, or -1.
  int32_t find(std::string_view k) const {
    const uint64_t h = hash_bytes(k.data(), k.size());
    const uint32_t tag = tag_of(h);
    const uint64_t word = k.size() <= 8 ? load_upto8(k.data(), k.size()) : 0;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint32_t s = slots_[i];
      if (s == kEmpty) return -1;
      if ((s & kTagMask) != tag) continue;
      const uint32_t r = s & kEmptyRank;
      const Entry& e = entries_[r];
      if (e.len != k.size()) continue;
      if (k.size() <= 8 ? e.word == word : std::memcmp(arena_.data() + e.word, k.data(), k.size()) == 0)
        return static_cast<int32_t>(r);
    }
  }

 private:
  static constexpr uint32_t kEmptyRank = (uint32_t(1) << 24) - 1;
  static constexpr uint32_t kTagMask = ~kEmptyRank;
  static constexpr uint32_t kEmpty = ~uint32_t(0);
  // The hash's top 8 bits (the slot index uses its low bits).
  static uint32_t tag_of(uint64_t h) { return static_cast<uint32_t>(h >> 56) << 24; }

  struct Entry {
    uint64_t word = 0;  // the key's bytes, zero-padded, when it has at most 8; else its offset in arena_
    uint32_t len = 0;
  };
  std::vector<uint32_t, LargeAllocator<uint32_t>> slots_;
  size_t mask_ = 0;
  std::vector<Entry> entries_;  // by rank
  std::string arena_;
};

}  // namespace pfn
