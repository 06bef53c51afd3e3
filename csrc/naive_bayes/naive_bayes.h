// Naive Bayes kernels over CSR matrices: per-class feature sums (fit) and the sparse
// times dense product that gives joint log-likelihoods (predict).
#pragma once
#include <cstdint>

namespace pfn {

// counts (n_classes, n_features) += sum of rows of class y[r] (times w[r] if w);
// class_count[c] += number (or weight) of rows of class c.
// X: indptr (n_rows+1), indices, data. y in [0, n_classes).
void nb_feature_counts(const int64_t* indptr, const int32_t* indices, const double* data,
                       int64_t n_rows, const int32_t* y, const double* w, int n_classes,
                       int64_t n_features, double* counts, double* class_count, int num_threads);

// out (n_rows, k) = X @ coef + bias, with coef (n_features, k) row-major and bias (k).
// Stored zeros are skipped, so 0 * -inf never makes NaN.
void csr_matmul_dense(const int64_t* indptr, const int32_t* indices, const double* data,
                      int64_t n_rows, const double* coef, int k, const double* bias, double* out,
                      int num_threads);

}  // namespace pfn
