// Open-addressing hash map from byte strings to dense int32 ids (0, 1, 2, ... in
// insertion order). Keys live in one arena, so a map of a million words is a few
// allocations, and id -> key is an array lookup.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"

namespace pfn {

// The first min(n, 8) bytes at p as a little-endian word, zero above: built from at most
// two overlapping loads, never reading outside [p, p + n) and never through a byte loop
// (a byte-wise copy to the stack and an 8-byte reload stalls store forwarding).
inline uint64_t load_upto8(const char* p, size_t n) {
  auto ld = [](const char* q, size_t k) {
    uint64_t v = 0;
    std::memcpy(&v, q, k);  // constant k: one load
    return v;
  };
  if (n >= 8) return ld(p, 8);
  if (n >= 4) return ld(p, 4) | (ld(p + n - 4, 4) << (8 * (n - 4)));
  if (n >= 2) return ld(p, 2) | (ld(p + n - 2, 2) << (8 * (n - 2)));
  return n ? static_cast<unsigned char>(p[0]) : 0;
}

inline uint64_t hash_bytes(const char* p, size_t n) {
  const uint64_t m = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0xA0761D6478BD642Full ^ (n * m);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * m;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n) h = (h ^ load_upto8(p, n)) * m;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

class StringIdMap {
 public:
  explicit StringIdMap(size_t capacity_hint = 1024) {
    size_t cap = 16;
    while (cap < capacity_hint * 2) cap <<= 1;
    slots_.assign(cap, Slot());
    mask_ = cap - 1;
    offsets_.push_back(0);
  }

  size_t size() const { return offsets_.size() - 1; }

  std::string_view key(int32_t id) const {
    return std::string_view(arena_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]);
  }

  static uint64_t hash(std::string_view k) { return hash_bytes(k.data(), k.size()); }

  int32_t find(std::string_view k) const { return find(k, hash(k)); }
  int32_t insert(std::string_view k) { return insert(k, hash(k)); }

  int32_t find(std::string_view k, uint64_t h) const {
    const uint32_t tag = make_tag(h, k.size());
    const uint64_t word = k.size() <= 8 ? load_upto8(k.data(), k.size()) : 0;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && same(s, k, word)) return s.id;
    }
  }

  // Returns the id of `k` (whose hash is `h`), adding it if new.
  int32_t insert(std::string_view k, uint64_t h) {
    const uint32_t tag = make_tag(h, k.size());
    const uint64_t word = k.size() <= 8 ? load_upto8(k.data(), k.size()) : 0;
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) break;
      if (s.tag == tag && same(s, k, word)) return s.id;
    }
    int32_t id = static_cast<int32_t>(size());
    Slot& s = slots_[i];
    s.tag = tag;
    s.id = id;
    s.key = k.size() <= 8 ? word : arena_.size();
    arena_.append(k.data(), k.size());
    offsets_.push_back(arena_.size());
    if (size() * 10 > slots_.size() * 7) rehash(slots_.size() * 2);  // load <= 0.7
    return id;
  }

 private:
  // 16 bytes: four slots a cache line. Keys of up to 8 bytes (most words) are stored in
  // the slot, so a lookup touches one line; longer keys are compared in the arena.
  struct Slot {
    uint32_t tag = 0;  // 24 hash bits above the key length (capped at 255)
    int32_t id = -1;   // -1: empty
    uint64_t key = 0;  // the key's bytes, zero-padded, or its offset in the arena
  };

  static uint32_t make_tag(uint64_t h, size_t len) {
    return (static_cast<uint32_t>(h >> 40) << 8) | static_cast<uint32_t>(len < 255 ? len : 255);
  }

  bool same(const Slot& s, std::string_view k, uint64_t word) const {
    if (k.size() <= 8) return s.key == word;  // the tag already matched the length
    return offsets_[s.id + 1] - offsets_[s.id] == k.size() &&
           std::memcmp(arena_.data() + s.key, k.data(), k.size()) == 0;
  }

  void rehash(size_t cap) {
    std::vector<Slot, LargeAllocator<Slot>> old;
    old.swap(slots_);
    slots_.assign(cap, Slot());
    mask_ = cap - 1;
    for (const Slot& s : old) {
      if (s.id < 0) continue;
      std::string_view k = key(s.id);
      uint64_t h = hash_bytes(k.data(), k.size());
      size_t i = h & mask_;
      while (slots_[i].id >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot, LargeAllocator<Slot>> slots_;
  size_t mask_ = 0;
  std::string arena_;
  std::vector<uint64_t> offsets_;
};

}  // namespace pfn
