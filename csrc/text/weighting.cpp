#include "text/weighting.h"

#include <cmath>

#include "common/parallel.h"

namespace pfn {

void weight_rows(const int64_t* indptr, const int32_t* indices, double* data, int64_t n_rows,
                 const double* idf, bool sublinear_tf, Norm norm, int num_threads) {
  const int threads = resolve_threads(num_threads, static_cast<size_t>(indptr[n_rows]) * 8);
#pragma omp parallel for num_threads(threads) schedule(static, 1024)
  for (int64_t r = 0; r < n_rows; ++r) {
    const int64_t b = indptr[r], e = indptr[r + 1];
    if (sublinear_tf)
      for (int64_t j = b; j < e; ++j) data[j] = std::log(data[j]) + 1.0;
    if (idf)
      for (int64_t j = b; j < e; ++j) data[j] *= idf[indices[j]];
    if (norm == Norm::None) continue;
    double sum = 0.0;  // accumulated in stored order, as sklearn's inplace_csr_row_normalize_*
    if (norm == Norm::L2)
      for (int64_t j = b; j < e; ++j) sum += data[j] * data[j];
    else
      for (int64_t j = b; j < e; ++j) sum += std::fabs(data[j]);
    if (sum == 0.0) continue;
    if (norm == Norm::L2) sum = std::sqrt(sum);
    for (int64_t j = b; j < e; ++j) data[j] /= sum;
  }
}

}  // namespace pfn
