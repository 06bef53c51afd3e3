// Bindings of the Naive Bayes kernels: per-class feature sums and the sparse-dense product
// that scores documents. Only validation and conversion here.
#include <pybind11/stl.h>

#include <optional>

#include "bindings/py_util.h"
#include "naive_bayes/naive_bayes.h"

using namespace pfn;
using namespace pfnpy;

namespace {

// A CSR matrix (indptr, indices, data) with `n_cols` columns, checked before any kernel reads it.
void check_csr(const I64& indptr, const I32& indices, const F64& data, int64_t n_cols) {
  if (indptr.ndim() != 1 || indptr.size() < 1) throw py::value_error("indptr must be 1-D and non-empty");
  if (indices.size() != data.size()) throw py::value_error("indices and data differ in length");
  const int64_t* ip = indptr.data();
  int64_t n = indptr.size() - 1;
  if (ip[0] != 0 || ip[n] != indices.size()) throw py::value_error("malformed CSR indptr");
  for (int64_t r = 0; r < n; ++r)
    if (ip[r + 1] < ip[r]) throw py::value_error("malformed CSR indptr (decreasing)");
  const int32_t* ix = indices.data();
  for (py::ssize_t i = 0; i < indices.size(); ++i)
    if (ix[i] < 0 || ix[i] >= n_cols) throw py::value_error("CSR column index out of range");
}

}  // namespace

void init_naive_bayes(py::module_& m) {
  m.def(
      "nb_feature_counts",
      [](const I64& indptr, const I32& indices, const F64& data, const I32& y, std::optional<F64> sample_weight,
         int n_classes, int64_t n_features, int threads) {
        check_csr(indptr, indices, data, n_features);
        int64_t n_rows = indptr.size() - 1;
        if (y.size() != n_rows) throw py::value_error("y has a different number of rows than X");
        const int32_t* yp = y.data();
        for (int64_t r = 0; r < n_rows; ++r)
          if (yp[r] < 0 || yp[r] >= n_classes) throw py::value_error("class index out of range");
        if (sample_weight && sample_weight->size() != n_rows) throw py::value_error("sample_weight has the wrong length");
        py::array_t<double> counts({static_cast<py::ssize_t>(n_classes), static_cast<py::ssize_t>(n_features)});
        py::array_t<double> cc(n_classes);
        std::fill(counts.mutable_data(), counts.mutable_data() + counts.size(), 0.0);
        std::fill(cc.mutable_data(), cc.mutable_data() + n_classes, 0.0);
        {
          py::gil_scoped_release nogil;
          nb_feature_counts(indptr.data(), indices.data(), data.data(), n_rows, yp,
                            sample_weight ? sample_weight->data() : nullptr, n_classes, n_features,
                            counts.mutable_data(), cc.mutable_data(), threads);
        }
        return py::make_tuple(counts, cc);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("y"), py::arg("sample_weight"),
      py::arg("n_classes"), py::arg("n_features"), py::arg("threads") = -1,
      "(feature sums (n_classes, n_features), class sums (n_classes,)) of a CSR matrix whose row r has class y[r].");

  m.def(
      "csr_matmul_dense",
      [](const I64& indptr, const I32& indices, const F64& data, const F64& coef, std::optional<F64> bias,
         int threads) {
        if (coef.ndim() != 2) throw py::value_error("coef must be 2-D");
        int64_t n_features = coef.shape(0);
        int k = static_cast<int>(coef.shape(1));
        check_csr(indptr, indices, data, n_features);
        if (bias && bias->size() != k) throw py::value_error("bias has the wrong length");
        int64_t n_rows = indptr.size() - 1;
        py::array_t<double> out({static_cast<py::ssize_t>(n_rows), static_cast<py::ssize_t>(k)});
        {
          py::gil_scoped_release nogil;
          csr_matmul_dense(indptr.data(), indices.data(), data.data(), n_rows, coef.data(), k,
                           bias ? bias->data() : nullptr, out.mutable_data(), threads);
        }
        return out;
      },
      py::arg("indptr"), py::arg("indices"), py::arg("data"), py::arg("coef"), py::arg("bias") = py::none(),
      py::arg("threads") = -1, "X @ coef (+ bias) for a CSR matrix X.");
}
