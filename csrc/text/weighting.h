// Row weighting of a CSR matrix of float64 values, in place: tf -> 1 + log(tf), times an idf per
// column, then l1 or l2 row normalisation. The same arithmetic in the same order as
// scikit-learn's TfidfTransformer and normalize(), so hashed counts normalise bit for bit.
#pragma once
#include <cstdint>

namespace pfn {

enum class Norm : uint8_t { None, L1, L2 };

// data (nnz) of rows [indptr[r], indptr[r+1]); idf (n_cols) may be null.
void weight_rows(const int64_t* indptr, const int32_t* indices, double* data, int64_t n_rows,
                 const double* idf, bool sublinear_tf, Norm norm, int num_threads);

}  // namespace pfn
