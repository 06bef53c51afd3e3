#include "naive_bayes/naive_bayes.h"

#include "common/cpu.h"
#include "common/parallel.h"

namespace pfn {
namespace {

PFN_TARGET_CLONES
void matmul_rows(const int64_t* indptr, const int32_t* indices, const double* data, int64_t r0,
                 int64_t r1, const double* coef, int k, const double* bias, double* out) {
  for (int64_t r = r0; r < r1; ++r) {
    double* o = out + r * k;
    for (int c = 0; c < k; ++c) o[c] = bias ? bias[c] : 0.0;
    for (int64_t p = indptr[r]; p < indptr[r + 1]; ++p) {
      const double x = data[p];
      if (x == 0.0) continue;
      const double* row = coef + static_cast<int64_t>(indices[p]) * k;
      for (int c = 0; c < k; ++c) o[c] += x * row[c];
    }
  }
}

}  // namespace

void nb_feature_counts(const int64_t* indptr, const int32_t* indices, const double* data,
                       int64_t n_rows, const int32_t* y, const double* w, int n_classes,
                       int64_t n_features, double* counts, double* class_count, int num_threads) {
  int threads = resolve_threads(num_threads, static_cast<size_t>(indptr[n_rows]), 1 << 15);
  if (threads > n_classes) threads = n_classes;
  // Thread t owns the classes c with c % threads == t: no two threads write one row.
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    for (int64_t r = 0; r < n_rows; ++r) {
      const int c = y[r];
      if (c % threads != t) continue;
      const double wr = w ? w[r] : 1.0;
      class_count[c] += wr;
      double* dst = counts + static_cast<int64_t>(c) * n_features;
      for (int64_t p = indptr[r]; p < indptr[r + 1]; ++p) dst[indices[p]] += wr * data[p];
    }
  }
}

void csr_matmul_dense(const int64_t* indptr, const int32_t* indices, const double* data,
                      int64_t n_rows, const double* coef, int k, const double* bias, double* out,
                      int num_threads) {
  int threads = resolve_threads(num_threads, static_cast<size_t>(indptr[n_rows]) * k, 1 << 16);
  const int64_t block = 256;
  const int64_t n_blocks = (n_rows + block - 1) / block;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
  for (int64_t b = 0; b < n_blocks; ++b) {
    int64_t r1 = (b + 1) * block < n_rows ? (b + 1) * block : n_rows;
    matmul_rows(indptr, indices, data, b * block, r1, coef, k, bias, out);
  }
}

}  // namespace pfn
