// Thread-count and work-splitting helpers shared by the kernels.
#pragma once
#include <cstddef>
#include <atomic>
#include <exception>
#include <mutex>
#include <string_view>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace pfn {

// -1 (or 0) means every core OpenMP may use; inputs under `small` units run on one thread.
inline int resolve_threads(int requested, size_t work = ~size_t(0), size_t small = 1 << 16) {
#ifdef _OPENMP
  int n = requested > 0 ? requested : omp_get_max_threads();
#else
  (void)requested;
  int n = 1;
#endif
  if (work < small) n = 1;
  return n < 1 ? 1 : n;
}

// This thread's number inside a parallel region (0 outside one, or without OpenMP).
inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Splits documents into `parts` contiguous ranges of roughly equal byte size.
inline std::vector<size_t> split_by_bytes(const std::vector<std::string_view>& docs, int parts) {
  size_t total = 0;
  for (auto d : docs) total += d.size() + 1;
  std::vector<size_t> bounds{0};
  size_t acc = 0, next = 1;
  for (size_t i = 0; i < docs.size() && next < static_cast<size_t>(parts); ++i) {
    acc += docs[i].size() + 1;
    if (acc * parts >= total * next) {
      bounds.push_back(i + 1);
      ++next;
    }
  }
  while (bounds.size() < static_cast<size_t>(parts) + 1) bounds.push_back(docs.size());
  bounds.back() = docs.size();
  return bounds;
}

// Keeps the first exception thrown inside a parallel region, to rethrow after it; once
// one is caught, the remaining work items are skipped.
class FirstError {
 public:
  template <class F>
  void run(F&& f) {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!err_) err_ = std::current_exception();
      failed_ = true;
    }
  }
  void rethrow() {
    if (err_) std::rethrow_exception(err_);
  }
  bool failed() const { return failed_.load(std::memory_order_relaxed); }

 private:
  std::mutex mu_;
  std::exception_ptr err_;
  std::atomic<bool> failed_{false};
};

}  // namespace pfn
