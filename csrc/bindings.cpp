// The only file that knows about Python: validates, converts, releases the GIL and
// calls one core function.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <functional>
#include <string>
#include <vector>

#include "common/cpu.h"
#include "common/parallel.h"
#include "nb/naive_bayes.h"
#include "text/count.h"
#include "py_util.h"

namespace py = pybind11;
using namespace pfn;
using namespace pfnpy;

void init_embed(py::module_& m);  // bindings_embed.cpp
void init_rnn(py::module_& m);    // bindings_rnn.cpp

namespace {

py::list token_lists_to_py(const TokenLists& t) {
  py::list out(t.doc_end.size());
  uint64_t tok = 0;
  for (size_t d = 0; d < t.doc_end.size(); ++d) {
    py::list toks(t.doc_end[d] - tok);
    for (size_t j = 0; tok < t.doc_end[d]; ++tok, ++j) {
      uint64_t b = tok ? t.tok_end[tok - 1] : 0;
      toks[j] = to_str(t.chars.data() + b, t.tok_end[tok] - b);
    }
    out[d] = std::move(toks);
  }
  return out;
}

StemmerKind stemmer_of(const std::string& s) {
  if (s.empty() || s == "none") return StemmerKind::None;
  if (s == "english") return StemmerKind::English;
  if (s == "porter") return StemmerKind::Porter;
  if (s == "korean") return StemmerKind::Korean;
  throw py::value_error("unknown stemmer '" + s + "'; expected 'english', 'porter' or 'korean'");
}

std::shared_ptr<AnalyzerConfig> make_config(bool lowercase, const std::string& pattern,
                                            int min_token_len, bool split_script,
                                            const std::string& errors, const std::string& stemmer,
                                            int ngram_min, int ngram_max,
                                            std::optional<std::vector<std::string>> stop_words) {
  auto c = std::make_shared<AnalyzerConfig>();
  c->tok.lowercase = lowercase;
  if (pattern == "word") c->tok.pattern = Pattern::Word;
  else if (pattern == "char") c->tok.pattern = Pattern::Char;
  else if (pattern == "whitespace") c->tok.pattern = Pattern::Whitespace;
  else throw py::value_error("unknown pattern '" + pattern + "'; expected 'word', 'char' or 'whitespace'");
  if (min_token_len < 1) throw py::value_error("min_token_len must be >= 1");
  c->tok.min_token_len = min_token_len;
  c->tok.split_script = split_script;
  if (errors == "strict") c->tok.replace_errors = false;
  else if (errors == "replace") c->tok.replace_errors = true;
  else throw py::value_error("errors must be 'strict' or 'replace', not '" + errors + "'");
  c->stemmer = stemmer_of(stemmer);
  if (ngram_min < 1 || ngram_max < ngram_min)
    throw py::value_error("ngram_range must satisfy 1 <= min_n <= max_n");
  c->ngram_min = ngram_min;
  c->ngram_max = ngram_max;
  if (stop_words) {
    auto m = std::make_shared<StringIdMap>(stop_words->size() + 1);
    for (auto& w : *stop_words) m->insert(w);
    c->stop_words = m;
  }
  return c;
}

py::tuple csr_to_py(Csr&& m) {
  return py::make_tuple(to_numpy(std::move(m.indptr)), to_numpy(std::move(m.indices)),
                        to_numpy(std::move(m.data)));
}

py::tuple term_counts_to_py(TermCounts&& tc, size_t n_docs) {
  py::list terms(tc.terms.size());
  for (size_t i = 0; i < tc.terms.size(); ++i) terms[i] = to_str(tc.terms[i].data(), tc.terms[i].size());
  return py::make_tuple(terms, to_numpy(std::move(tc.counts)), to_numpy(std::move(tc.doc_freq)), n_docs);
}

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

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyfast_nlp compiled kernels (private; use the pyfast_nlp package)";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const DocumentError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const Utf8Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  m.def("build_info", [] {
    py::dict d;
#if defined(__clang__)
    d["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    d["compiler"] = std::string("gcc ") + __VERSION__;
#else
    d["compiler"] = "unknown";
#endif
#ifdef _OPENMP
    d["openmp"] = true;
    d["max_threads"] = omp_get_max_threads();
#else
    d["openmp"] = false;
    d["max_threads"] = 1;
#endif
    d["simd"] = simd_level();
#ifdef PFN_NATIVE
    d["native"] = true;
#else
    d["native"] = false;
#endif
#ifdef PFN_SANITIZE
    d["sanitize"] = true;
#else
    d["sanitize"] = false;
#endif
    return d;
  });

  py::class_<AnalyzerConfig, std::shared_ptr<AnalyzerConfig>>(m, "AnalyzerConfig")
      .def(py::init(&make_config), py::arg("lowercase") = true, py::arg("pattern") = "word",
           py::arg("min_token_len") = 2, py::arg("split_script") = false,
           py::arg("errors") = "strict", py::arg("stemmer") = "", py::arg("ngram_min") = 1,
           py::arg("ngram_max") = 1, py::arg("stop_words") = py::none());

  m.def("tokenize", [](const AnalyzerConfig& cfg, py::handle text) {
    std::string_view v = utf8_view(text, 0);
    TokenLists t;
    {
      py::gil_scoped_release nogil;
      t = tokenize_many(cfg, {v}, 1);
    }
    py::list l = token_lists_to_py(t);
    return py::object(l[0]);
  });

  m.def("tokenize_many", [](const AnalyzerConfig& cfg, const py::sequence& docs, int threads) {
    Docs d = docs_of(docs);
    TokenLists t;
    {
      py::gil_scoped_release nogil;
      t = tokenize_many(cfg, d.views, threads);
    }
    return token_lists_to_py(t);
  });

  py::class_<LineReader>(m, "LineReader")
      .def(py::init<const std::string&, size_t>(), py::arg("path"),
           py::arg("chunk_bytes") = size_t(1) << 24)
      .def("tokenize_next",
           [](LineReader& r, const AnalyzerConfig& cfg, int threads) -> py::object {
             std::vector<std::string_view> lines;
             TokenLists t;
             {
               py::gil_scoped_release nogil;
               if (!r.next(lines)) return py::none();
               try {
                 t = tokenize_many(cfg, lines, threads);
               } catch (const DocumentError& e) {
                 throw py::value_error("line " + std::to_string(r.first_line() + e.doc + 1) +
                                       ": " + std::string(e.what()).substr(std::string(e.what()).find(':') + 2));
               }
             }
             return token_lists_to_py(t);
           })
      .def_property_readonly("bytes_done", &LineReader::bytes_done)
      .def_property_readonly("total_bytes", &LineReader::total_bytes);

  m.def("count_terms", [](const AnalyzerConfig& cfg, const py::sequence& docs, int threads) {
    Docs d = docs_of(docs);
    TermCounts tc;
    size_t n;
    {
      py::gil_scoped_release nogil;
      TermCounter c(cfg, threads);
      c.add(d.views);
      tc = c.result();
      n = c.documents();
    }
    return term_counts_to_py(std::move(tc), n);
  });

  m.def("count_terms_file",
        [](const AnalyzerConfig& cfg, const std::string& path, int threads,
           std::optional<std::function<void(uint64_t, uint64_t)>> progress) {
          TermCounts tc;
          size_t n;
          {
            py::gil_scoped_release nogil;
            LineReader r(path);
            TermCounter c(cfg, threads);
            std::vector<std::string_view> lines;
            while (r.next(lines)) {
              try {
                c.add(lines);
              } catch (const DocumentError& e) {
                std::string msg = e.what();
                throw py::value_error(path + ", line " + std::to_string(e.doc + 1) + ": " +
                                      msg.substr(msg.find(':') + 2));
              }
              {  // between chunks: report progress and let Ctrl-C through
                py::gil_scoped_acquire gil;
                if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                if (progress) (*progress)(r.bytes_done(), r.total_bytes());
              }
            }
            tc = c.result();
            n = c.documents();
          }
          return term_counts_to_py(std::move(tc), n);
        },
        py::arg("cfg"), py::arg("path"), py::arg("threads"), py::arg("progress") = py::none());

  m.def("count_token_lists", [](const py::iterable& lists) {
    AnalyzerConfig cfg;
    TermCounter c(cfg, 1);
    std::vector<std::string_view> toks;
    size_t i = 0;
    for (py::handle doc : lists) {
      if (PyUnicode_Check(doc.ptr()) || PyBytes_Check(doc.ptr()))
        throw py::type_error("expected an iterable of token lists, got a string at item " + std::to_string(i));
      toks.clear();
      std::vector<py::object> keep;
      for (py::handle t : doc) {
        if (!PyUnicode_Check(t.ptr()))
          throw py::type_error("tokens must be str; document " + std::to_string(i) + " has " +
                               std::string(py::str(py::type::of(t).attr("__name__"))));
        toks.push_back(utf8_view(t, i));
      }
      c.add_tokens(toks);
      ++i;
    }
    return term_counts_to_py(c.result(), c.documents());
  });

  m.def("doc_term_fit", [](const AnalyzerConfig& cfg, const py::sequence& docs, int threads) {
    Docs d = docs_of(docs);
    DocTerm dt;
    {
      py::gil_scoped_release nogil;
      dt = doc_term_fit(cfg, d.views, threads);
    }
    // The terms, and the term -> column dict sharing the same str objects.
    py::list terms(dt.terms.size());
    py::dict index;
    for (size_t i = 0; i < dt.terms.size(); ++i) {
      py::str t = to_str(dt.terms[i].data(), dt.terms[i].size());
      PyObject* col = PyLong_FromSsize_t(static_cast<Py_ssize_t>(i));
      if (!col || PyDict_SetItem(index.ptr(), t.ptr(), col) < 0) {
        Py_XDECREF(col);
        throw py::error_already_set();
      }
      Py_DECREF(col);
      terms[i] = std::move(t);
    }
    dt.terms.clear();
    dt.terms.shrink_to_fit();
    return py::make_tuple(terms, index, csr_to_py(std::move(dt.matrix)));
  });

  py::class_<PyVocabulary, std::shared_ptr<PyVocabulary>>(m, "StringIndex")
      .def(py::init([](const std::vector<std::string>& terms) {
        auto v = std::make_shared<PyVocabulary>();
        v->map = StringIdMap(terms.size() + 1);
        for (size_t i = 0; i < terms.size(); ++i) {
          if (v->map.insert(terms[i]) != static_cast<int32_t>(i))
            throw py::value_error("duplicate term in vocabulary: '" + terms[i] + "'");
        }
        return v;
      }))
      .def("__len__", [](const PyVocabulary& v) { return v.map.size(); })
      .def("find", [](const PyVocabulary& v, const std::string& s) { return v.map.find(s); })
      .def("encode", [](const PyVocabulary& v, const py::sequence& tokens, int32_t unk) {
        // unk < 0: unknown tokens are dropped
        std::vector<int32_t> ids;
        ids.reserve(py::len(tokens));
        size_t i = 0;
        for (py::handle t : tokens) {
          if (!PyUnicode_Check(t.ptr()))
            throw py::type_error("tokens must be str; item " + std::to_string(i) + " is " +
                                 std::string(py::str(py::type::of(t).attr("__name__"))));
          int32_t id = v.map.find(utf8_view(t, i));
          if (id >= 0) ids.push_back(id);
          else if (unk >= 0) ids.push_back(unk);
          ++i;
        }
        return to_numpy(std::move(ids));
      });

  m.def("doc_term_transform", [](const AnalyzerConfig& cfg, const py::sequence& docs,
                                 const PyVocabulary& vocab, const I32& cols, int threads) {
    if (static_cast<size_t>(cols.size()) != vocab.map.size())
      throw py::value_error("column map and vocabulary differ in length");
    std::vector<int32_t> col(cols.data(), cols.data() + cols.size());
    Docs d = docs_of(docs);
    Csr csr;
    {
      py::gil_scoped_release nogil;
      csr = doc_term_transform(cfg, d.views, vocab.map, col, threads);
    }
    return csr_to_py(std::move(csr));
  });

  m.def("stem", [](const std::string& kind, const std::string& word) {
    StemmerKind k = stemmer_of(kind);
    std::string out;
    std::u32string work;
    stem(k, word, out, work);
    return to_str(out.data(), out.size());
  });

  m.def("stem_many", [](const std::string& kind, const py::sequence& words, int threads) {
    StemmerKind k = stemmer_of(kind);
    Docs d = docs_of(words);
    StemmedBatch sb;
    {
      py::gil_scoped_release nogil;
      sb = stem_many(k, d.views, threads);
    }
    std::vector<py::str> stems;
    stems.reserve(sb.stems.size());
    for (auto& s : sb.stems) stems.push_back(to_str(s.data(), s.size()));
    py::list res(sb.index.size());
    for (size_t i = 0; i < sb.index.size(); ++i) res[i] = stems[sb.index[i]];
    return res;
  });

  m.def("nb_feature_counts",
        [](const I64& indptr, const I32& indices, const F64& data, const I32& y,
           std::optional<F64> w, int n_classes, int64_t n_features, int threads) {
          check_csr(indptr, indices, data, n_features);
          int64_t n_rows = indptr.size() - 1;
          if (y.size() != n_rows) throw py::value_error("y has a different number of rows than X");
          const int32_t* yp = y.data();
          for (int64_t r = 0; r < n_rows; ++r)
            if (yp[r] < 0 || yp[r] >= n_classes) throw py::value_error("class index out of range");
          if (w && w->size() != n_rows) throw py::value_error("sample_weight has the wrong length");
          py::array_t<double> counts({static_cast<py::ssize_t>(n_classes), static_cast<py::ssize_t>(n_features)});
          py::array_t<double> cc(n_classes);
          std::fill(counts.mutable_data(), counts.mutable_data() + counts.size(), 0.0);
          std::fill(cc.mutable_data(), cc.mutable_data() + n_classes, 0.0);
          {
            py::gil_scoped_release nogil;
            nb_feature_counts(indptr.data(), indices.data(), data.data(), n_rows, yp,
                              w ? w->data() : nullptr, n_classes, n_features,
                              counts.mutable_data(), cc.mutable_data(), threads);
          }
          return py::make_tuple(counts, cc);
        });

  m.def("csr_matmul_dense", [](const I64& indptr, const I32& indices, const F64& data,
                               const F64& coef, std::optional<F64> bias, int threads) {
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
  });

  init_embed(m);
  init_rnn(m);
}
