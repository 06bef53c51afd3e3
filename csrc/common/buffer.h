// An owning array that is NOT zero-filled: large outputs are written once by the
// threads that fill them (first touch in parallel), not cleared first by one thread.
#pragma once
#include <cstddef>
#include <memory>

namespace pfn {

template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t n) : p_(n ? new T[n] : nullptr), n_(n) {}  // default-init: no clearing
  T* data() { return p_.get(); }
  const T* data() const { return p_.get(); }
  size_t size() const { return n_; }
  T& operator[](size_t i) { return p_[i]; }
  const T& operator[](size_t i) const { return p_[i]; }
  // Hands ownership to the caller (who must delete[] it).
  T* release() {
    n_ = 0;
    return p_.release();
  }

 private:
  std::unique_ptr<T[]> p_;
  size_t n_ = 0;
};

}  // namespace pfn
