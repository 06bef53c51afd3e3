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
    uint32_t tag = static_cast<uint32_t>(h >> 32);
    Padded pk(k);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && same(s, k, pk)) return s.id;
    }
  }

  // Returns the id of `k` (whose hash is `h`), adding it if new.
  int32_t insert(std::string_view k, uint64_t h) {
    uint32_t tag = static_cast<uint32_t>(h >> 32);
    Padded pk(k);
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.id < 0) break;
      if (s.tag == tag && same(s, k, pk)) return s.id;
    }
    int32_t id = static_cast<int32_t>(size());
    Slot& s = slots_[i];
    s.tag = tag;
    s.id = id;
    s.len = static_cast<uint32_t>(k.size());
    if (k.size() <= kInline) {
      std::memcpy(s.u.inl, k.data(), k.size());
    } else {
      s.u.off = arena_.size();
    }
    arena_.append(k.data(), k.size());
    offsets_.push_back(arena_.size());
    if (size() * 10 > slots_.size() * 7) rehash(slots_.size() * 2);  // load <= 0.7
    return id;
  }

 private:
  static constexpr size_t kInline = 16;
  // Short keys (most words) live in the slot itself: one cache miss per lookup.
  struct Slot {
    uint32_t tag = 0;
    int32_t id = -1;  // -1: empty
    uint32_t len = 0;
    uint32_t pad = 0;
    union {
      char inl[kInline];
      uint64_t off;
    } u{};
  };

  // A short key zero-padded to 16 bytes, so comparing it with a slot is two loads.
  struct Padded {
    uint64_t w[2] = {0, 0};
    explicit Padded(std::string_view k) {
      const size_t n = k.size();
      if (n > kInline) return;
      w[0] = load_upto8(k.data(), n);
      if (n > 8) w[1] = load_upto8(k.data() + 8, n - 8);
    }
  };

  bool same(const Slot& s, std::string_view k, const Padded& pk) const {
    if (s.len != k.size()) return false;
    if (k.size() <= kInline) {
      uint64_t a[2];
      std::memcpy(a, s.u.inl, kInline);
      return a[0] == pk.w[0] && a[1] == pk.w[1];
    }
    return std::memcmp(arena_.data() + s.u.off, k.data(), k.size()) == 0;
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
