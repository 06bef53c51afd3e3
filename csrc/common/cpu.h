// Run-time CPU feature detection: kernels are compiled for several ISAs
// (target_clones) and the loader picks the widest one the CPU has.
#pragma once
#include <string>

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define PFN_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PFN_TARGET_CLONES
#endif

namespace pfn {
inline std::string simd_level() {
#if defined(__GNUC__) && defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "avx512f";
  if (__builtin_cpu_supports("avx2")) return "avx2";
  return "sse2";
#elif defined(__aarch64__)
  return "neon";
#else
  return "generic";
#endif
}
}  // namespace pfn
