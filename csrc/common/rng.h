// splitmix64 (Steele, Lea and Flood 2014): a small, fast, well-mixed generator for the
// kernels' random starts, shuffles and per-chunk streams. One object per thread or chunk.
#pragma once
#include <cstdint>

namespace pfn {

struct SplitMix64 {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }  // [0, 1)
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
  uint32_t below32(uint32_t n) { return static_cast<uint32_t>(((next() >> 32) * n) >> 32); }
};

}  // namespace pfn
