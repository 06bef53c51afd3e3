// Memory for large arrays: 64-byte aligned; big blocks are 2 MiB aligned and advised to use transparent
// huge pages (on Linux), so a hash table or an output matrix of hundreds of MB costs a
// few page faults and TLB entries instead of hundreds of thousands; and Buffer<T> is an
// owning array that is NOT zero-filled, so outputs are first touched by the threads that
// fill them.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace pfn {

constexpr size_t kHugePage = size_t(2) << 20;

// 2 MiB aligned, rounded up to whole 2 MiB pages, advised to use transparent huge pages.
inline void* alloc_huge(size_t bytes) {
  size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded ? rounded : kHugePage);
  if (!p) throw std::bad_alloc();
#ifdef __linux__
  madvise(p, rounded, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  return p;
}

inline void* alloc_large(size_t bytes) {
  if (bytes >= 2 * kHugePage) return alloc_huge(bytes);
  // Cache-line aligned: malloc's large blocks start 16 bytes into a page, so every 64-byte
  // vector load of a packed GEMM operand straddled two cache lines.
  constexpr size_t kLine = 64;
  void* p = std::aligned_alloc(kLine, (bytes + kLine - 1) / kLine * kLine + (bytes ? 0 : kLine));
  if (!p) throw std::bad_alloc();
  return p;
}

inline void free_large(void* p) { std::free(p); }

// std-compatible allocator over alloc_large (for vectors that grow large).
template <class T>
struct LargeAllocator {
  using value_type = T;
  LargeAllocator() = default;
  template <class U>
  LargeAllocator(const LargeAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(alloc_large(n * sizeof(T))); }
  void deallocate(T* p, size_t) { free_large(p); }
  template <class U>
  bool operator==(const LargeAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const LargeAllocator<U>&) const { return false; }
};

// A zero-filled vector on that memory (64-byte aligned, huge pages when large).
template <class T>
using AlignedVector = std::vector<T, LargeAllocator<T>>;

template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t n) : p_(n ? static_cast<T*>(alloc_large(n * sizeof(T))) : nullptr), n_(n) {}
  Buffer(Buffer&& o) noexcept : p_(o.p_), n_(o.n_) {
    o.p_ = nullptr;
    o.n_ = 0;
  }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      free_large(p_);
      p_ = o.p_;
      n_ = o.n_;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { free_large(p_); }

  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  // Hands ownership to the caller, who frees it with free_large().
  T* release() {
    T* p = p_;
    p_ = nullptr;
    n_ = 0;
    return p;
  }

 private:
  T* p_ = nullptr;  // trivially-constructible T only: memory is not initialised
  size_t n_ = 0;
};

}  // namespace pfn
