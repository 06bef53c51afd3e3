// Bindings of the text kernels: the analyzer configuration, tokenizing, stemming, term
// counting and document-term matrices. Only validation and conversion here.
#include <pybind11/stl.h>

#include <climits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bindings/py_util.h"
#include "text/count.h"
#include "text/weighting.h"

using namespace pfn;
using namespace pfnpy;

namespace {

void check_sorted_distinct(const std::vector<std::string_view>& v, const char* name) {
  for (size_t i = 1; i < v.size(); ++i)
    if (!(v[i - 1] < v[i]))
      throw py::value_error(std::string(name) + " is not sorted by code point without repeats (item " +
                            std::to_string(i) + ")");
}

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

// (indptr, indices, data): data int64, or float64 converted in place
py::tuple csr_to_py(Csr&& m, bool float64 = false) {
  py::object data = float64 ? py::object(to_numpy_float64(std::move(m.data))) : py::object(to_numpy(std::move(m.data)));
  return py::make_tuple(to_numpy(std::move(m.indptr)), to_numpy(std::move(m.indices)), data);
}

// "document 3: ..." from the kernel -> "<where>, line 4: ..." for a file read in chunks
py::value_error line_error(const std::string& where, uint64_t first_line, const DocumentError& e) {
  std::string msg = e.what();
  return py::value_error(where + "line " + std::to_string(first_line + e.doc + 1) + ": " +
                         msg.substr(msg.find(':') + 2));
}

std::shared_ptr<AnalyzerConfig> make_config(Unit unit, bool lowercase, Pattern pattern, int min_token_len,
                                            bool split_script, bool replace_errors, StemmerKind stemmer,
                                            int ngram_min, int ngram_max,
                                            std::optional<std::vector<std::string>> stop_words) {
  if (min_token_len < 1) throw py::value_error("min_token_len must be >= 1");
  if (ngram_min < 1 || ngram_max < ngram_min) throw py::value_error("ngram_range must satisfy 1 <= min_n <= max_n");
  auto c = std::make_shared<AnalyzerConfig>();
  c->unit = unit;
  c->tok.lowercase = lowercase;
  c->tok.pattern = pattern;
  c->tok.min_token_len = min_token_len;
  c->tok.split_script = split_script;
  c->tok.replace_errors = replace_errors;
  c->stemmer = stemmer;
  c->ngram_min = ngram_min;
  c->ngram_max = ngram_max;
  if (stop_words) {
    auto m = std::make_shared<StringIdMap>(stop_words->size() + 1);
    for (auto& w : *stop_words) m->insert(w);
    c->stop_words = m;
  }
  return c;
}

// Term totals over batches of texts, a streamed file, or token lists; the result is
// (terms in no particular order, counts, document frequencies).
class PyTermCounter {
 public:
  PyTermCounter(const AnalyzerConfig& cfg, int threads) : counter_(cfg, threads) {}

  void add_texts(const py::sequence& docs) {
    with_docs(docs, [&](const std::vector<std::string_view>& v) { counter_.add(v); });
  }

  void add_file(const std::string& path, const Progress& progress, size_t max_line_bytes) {
    py::gil_scoped_release nogil;
    LineReader r(path, size_t(1) << 24, max_line_bytes);
    std::vector<std::string_view> lines;
    while (r.next(lines)) {
      try {
        counter_.add(lines);
      } catch (const DocumentError& e) {
        throw line_error(path + ", ", r.first_line(), e);
      }
      between_chunks(progress, r.bytes_done(), r.total_bytes());
    }
  }

  void add_token_lists(const py::iterable& lists) {
    std::vector<std::string_view> toks;
    std::vector<py::object> keep;  // the document's tokens (a generator would drop them), so the views stay valid
    size_t i = 0;
    for (py::handle doc : lists) {
      if (PyUnicode_Check(doc.ptr()) || PyBytes_Check(doc.ptr()))
        throw py::type_error("expected an iterable of token lists, got a string at item " + std::to_string(i));
      toks.clear();
      keep.clear();
      for (py::handle t : doc) {
        if (!PyUnicode_Check(t.ptr()))
          throw py::type_error("tokens must be str; document " + std::to_string(i) + " has " + type_name(t));
        toks.push_back(utf8_view(t, i));
        keep.push_back(py::reinterpret_borrow<py::object>(t));
      }
      counter_.add_tokens(toks);
      ++i;
    }
  }

  py::tuple result() const {
    TermCounts tc = counter_.result();
    py::list terms(tc.terms.size());
    for (size_t i = 0; i < tc.terms.size(); ++i) terms[i] = to_str(tc.terms[i].data(), tc.terms[i].size());
    return py::make_tuple(terms, to_numpy(std::move(tc.counts)), to_numpy(std::move(tc.doc_freq)));
  }

  size_t documents() const { return counter_.documents(); }

 private:
  TermCounter counter_;
};

}  // namespace

void init_text(py::module_& m) {
  // word: runs of word characters, as scikit-learn's (?u)\b\w\w+\b; char: every code point;
  // whitespace: runs of non-space characters, as str.split()
  bind_enum<Pattern>(m, "Pattern", "What the tokenizer calls a token.",
                     {{"word", Pattern::Word}, {"char", Pattern::Char}, {"whitespace", Pattern::Whitespace}});
  // word: tokens and word n-grams; char: character n-grams of the text; char_wb: character
  // n-grams inside words padded with spaces (scikit-learn's analyzer)
  bind_enum<Unit>(m, "Unit", "What a term is made of.",
                  {{"word", Unit::Word}, {"char", Unit::Char}, {"char_wb", Unit::CharWB}});
  bind_enum<Norm>(m, "Norm", "Row normalisation.", {{"none", Norm::None}, {"l1", Norm::L1}, {"l2", Norm::L2}});
  bind_enum<StemmerKind>(m, "StemmerKind", "The compiled stemmers.",
                         {{"none", StemmerKind::None}, {"english", StemmerKind::English},
                          {"porter", StemmerKind::Porter}, {"korean", StemmerKind::Korean}});

  py::class_<AnalyzerConfig, std::shared_ptr<AnalyzerConfig>>(
      m, "AnalyzerConfig", "Tokenizer, stop words, stemmer and word n-grams: what every counting kernel runs per document.")
      .def(py::init(&make_config), py::kw_only(), py::arg("unit") = Unit::Word, py::arg("lowercase") = true, py::arg("pattern") = Pattern::Word,
           py::arg("min_token_len") = 2, py::arg("split_script") = false, py::arg("replace_errors") = false,
           py::arg("stemmer") = StemmerKind::None, py::arg("ngram_min") = 1, py::arg("ngram_max") = 1,
           py::arg("stop_words") = py::none())
      .def_readonly("unit", &AnalyzerConfig::unit)
      .def_property_readonly("lowercase", [](const AnalyzerConfig& c) { return c.tok.lowercase; })
      .def_property_readonly("pattern", [](const AnalyzerConfig& c) { return c.tok.pattern; })
      .def_property_readonly("min_token_len", [](const AnalyzerConfig& c) { return c.tok.min_token_len; })
      .def_property_readonly("split_script", [](const AnalyzerConfig& c) { return c.tok.split_script; })
      .def_property_readonly("replace_errors", [](const AnalyzerConfig& c) { return c.tok.replace_errors; })
      .def_readonly("stemmer", &AnalyzerConfig::stemmer)
      .def_readonly("ngram_min", &AnalyzerConfig::ngram_min)
      .def_readonly("ngram_max", &AnalyzerConfig::ngram_max);

  m.def(
      "tokenize",
      [](const AnalyzerConfig& config, py::handle text) {
        std::string_view v = utf8_view(text, 0);
        TokenLists t;
        {
          py::gil_scoped_release nogil;
          t = tokenize_many(config, {v}, 1);
        }
        py::list l = token_lists_to_py(t);
        return py::object(l[0]);
      },
      py::arg("config"), py::arg("text"));

  m.def(
      "tokenize_many",
      [](const AnalyzerConfig& config, const py::sequence& docs, int threads) {
        TokenLists t = with_docs(docs, [&](const auto& v) { return tokenize_many(config, v, threads); });
        return token_lists_to_py(t);
      },
      py::arg("config"), py::arg("docs"), py::arg("threads") = -1);

  py::class_<PyVocabulary, std::shared_ptr<PyVocabulary>>(m, "StringIndex", "A read-only str -> id map.")
      .def(py::init([](const std::vector<std::string>& terms) {
             auto v = std::make_shared<PyVocabulary>();
             v->map = StringIdMap(terms.size() + 1);
             for (size_t i = 0; i < terms.size(); ++i) {
               if (v->map.insert(terms[i]) != static_cast<int32_t>(i))
                 throw py::value_error("duplicate term in vocabulary: '" + terms[i] + "'");
             }
             return v;
           }),
           py::arg("terms"))
      .def("__len__", [](const PyVocabulary& v) { return v.map.size(); })
      .def("find", [](const PyVocabulary& v, const std::string& s) { return v.map.find(s); }, py::arg("term"),
           "The id of `term`, or -1.")
      .def(
          "encode",
          [](const PyVocabulary& v, const py::sequence& tokens, int32_t unk_id) {
            std::vector<int32_t> ids;
            ids.reserve(py::len(tokens));
            size_t i = 0;
            for (py::handle t : tokens) {
              if (!PyUnicode_Check(t.ptr()))
                throw py::type_error("tokens must be str; item " + std::to_string(i) + " is " + type_name(t));
              int32_t id = v.map.find(utf8_view(t, i));
              if (id >= 0) ids.push_back(id);
              else if (unk_id >= 0) ids.push_back(unk_id);
              ++i;
            }
            return to_numpy(std::move(ids));
          },
          py::arg("tokens"), py::arg("unk_id") = -1, "Ids of `tokens`; unknown ones become `unk_id`, or are dropped when it is < 0.");

  py::class_<LineReader>(m, "LineReader", "A UTF-8 text file read in chunks of whole lines (a line is a document).")
      .def(py::init<const std::string&, size_t, size_t>(), py::arg("path"), py::arg("chunk_bytes") = size_t(1) << 24,
           py::arg("max_line_bytes") = size_t(1) << 30)
      .def(
          "tokenize_next",
          [](LineReader& r, const AnalyzerConfig& config, int threads) -> py::object {
            std::vector<std::string_view> lines;
            TokenLists t;
            {
              py::gil_scoped_release nogil;
              if (!r.next(lines)) return py::none();
              try {
                t = tokenize_many(config, lines, threads);
              } catch (const DocumentError& e) {
                throw line_error("", r.first_line(), e);
              }
            }
            return token_lists_to_py(t);
          },
          py::arg("config"), py::arg("threads") = -1, "The token lists of the next chunk's lines; None at the end.")
      .def(
          "encode_next",
          [](LineReader& r, const AnalyzerConfig& config, const PyVocabulary& vocabulary, int threads) -> py::object {
            std::vector<std::string_view> lines;
            IdDocs d;
            {
              py::gil_scoped_release nogil;
              if (!r.next(lines)) return py::none();
              try {
                d = encode_docs(config, lines, vocabulary.map, threads);
              } catch (const DocumentError& e) {
                throw line_error("", r.first_line(), e);
              }
            }
            return py::make_tuple(to_numpy(std::move(d.ids)), to_numpy(std::move(d.doc_end)));
          },
          py::arg("config"), py::arg("vocabulary"), py::arg("threads") = -1,
          "(ids, doc_end) of the next chunk's lines, terms outside `vocabulary` dropped; None at the end.")
      .def_property_readonly("first_line", &LineReader::first_line)
      .def_property_readonly("bytes_done", &LineReader::bytes_done)
      .def_property_readonly("total_bytes", &LineReader::total_bytes);

  py::class_<PyTermCounter>(m, "TermCounter", "Term totals and document frequencies, added to batch by batch.")
      .def(py::init<const AnalyzerConfig&, int>(), py::arg("config"), py::arg("threads") = -1)
      .def("add_texts", &PyTermCounter::add_texts, py::arg("docs"), "Analyze and count a batch of str/bytes documents.")
      .def("add_file", &PyTermCounter::add_file, py::arg("path"), py::arg("progress") = py::none(),
           py::arg("max_line_bytes") = size_t(1) << 30,
           "Analyze and count every line of a UTF-8 file, streamed.")
      .def("add_token_lists", &PyTermCounter::add_token_lists, py::arg("lists"),
           "Count documents already tokenized (each token is one term; the configuration is not applied).")
      .def("result", &PyTermCounter::result, "(terms, counts, document frequencies), terms in no particular order.")
      .def_property_readonly("documents", &PyTermCounter::documents);

  m.def(
      "doc_term_fit",
      [](const AnalyzerConfig& config, const py::sequence& docs, int threads, bool float64) {
        DocTerm dt = with_docs(docs, [&](const auto& v) { return doc_term_fit(config, v, threads); });
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
        return py::make_tuple(terms, index, csr_to_py(std::move(dt.matrix), float64));
      },
      py::arg("config"), py::arg("docs"), py::arg("threads") = -1, py::arg("float64") = false,
      "Vocabulary (sorted by code point), term -> column dict and CSR (indptr, indices, data) of the documents;\n"
      "counts are int64, or float64 with float64=True.");

  m.def(
      "merge_sorted_terms",
      [](const py::sequence& a, const py::sequence& b) {
        Docs da = docs_of(a), db = docs_of(b);
        check_sorted_distinct(da.views, "a");
        check_sorted_distinct(db.views, "b");
        const size_t na = da.views.size(), nb = db.views.size();
        std::vector<int64_t> take(na + nb), pos_a(na), pos_b(nb);
        const size_t n = merge_sorted_terms(da.views, db.views, take.data(), pos_a.data(), pos_b.data());
        py::list merged(n);
        for (size_t k = 0; k < n; ++k)  // the input objects themselves, not copies
          merged[k] = take[k] >= 0 ? da.keep[static_cast<size_t>(take[k])]
                                   : db.keep[static_cast<size_t>(-take[k] - 1)];
        return py::make_tuple(merged, to_numpy(std::move(pos_a)), to_numpy(std::move(pos_b)));
      },
      py::arg("a"), py::arg("b"),
      "Merge two lists of distinct str terms, each sorted by code point: (merged list, position of each term\n"
      "of a in it (int64), position of each term of b).");

  m.def(
      "sorted_positions",
      [](const py::sequence& sorted, const py::sequence& queries) {
        Docs ds = docs_of(sorted), dq = docs_of(queries);
        check_sorted_distinct(ds.views, "sorted");
        check_sorted_distinct(dq.views, "queries");
        std::vector<int64_t> out(dq.views.size());
        sorted_positions(ds.views, dq.views, out.data());
        return to_numpy(std::move(out));
      },
      py::arg("sorted"), py::arg("queries"),
      "Index in `sorted` of each term of `queries` (both distinct and sorted by code point), -1 where absent.");

  m.def(
      "csr_remap_columns",
      [](const I64& indptr, const I32& indices, const I64& new_col) {
        const size_t n_rows = indptr.size() ? static_cast<size_t>(indptr.size() - 1) : 0;
        const int64_t* p = indptr.data();
        const int32_t* ind = indices.data();
        if (indptr.size() == 0 || p[0] != 0 || p[n_rows] != static_cast<int64_t>(indices.size()))
          throw py::value_error("indptr does not match indices");
        for (size_t r = 0; r < n_rows; ++r)
          if (p[r + 1] < p[r]) throw py::value_error("indptr is not non-decreasing");
        const int64_t n_cols = static_cast<int64_t>(new_col.size());
        for (py::ssize_t k = 0; k < indices.size(); ++k)
          if (ind[k] < 0 || ind[k] >= n_cols)
            throw py::value_error("column " + std::to_string(ind[k]) + " is outside new_col (" +
                                  std::to_string(n_cols) + " columns)");
        std::vector<int64_t> new_indptr(n_rows + 1);
        std::vector<int32_t> keep_col;
        std::vector<int64_t> keep_at;
        {
          py::gil_scoped_release nogil;
          csr_remap_columns(p, ind, n_rows, new_col.data(), new_indptr.data(), keep_col, keep_at);
        }
        return py::make_tuple(to_numpy(std::move(new_indptr)), to_numpy(std::move(keep_col)),
                              to_numpy(std::move(keep_at)));
      },
      py::arg("indptr"), py::arg("indices"), py::arg("new_col"),
      "Renumber a CSR matrix's columns (column c -> new_col[c], dropped where < 0): (new indptr, new column of\n"
      "each kept entry, its position in the input, to take the data from).");

  m.def(
      "encode_texts",
      [](const AnalyzerConfig& config, const py::sequence& docs, const PyVocabulary& vocabulary, int threads) {
        IdDocs d = with_docs(docs, [&](const auto& v) { return encode_docs(config, v, vocabulary.map, threads); });
        return py::make_tuple(to_numpy(std::move(d.ids)), to_numpy(std::move(d.doc_end)));
      },
      py::arg("config"), py::arg("docs"), py::arg("vocabulary"), py::arg("threads") = -1,
      "(ids int32, doc_end int64) of the documents' terms in `vocabulary` (others dropped); document d's ids\n"
      "end at doc_end[d].");

  m.def(
      "doc_term_transform",
      [](const AnalyzerConfig& config, const py::sequence& docs, const PyVocabulary& vocabulary,
         const I32& columns, int threads, bool float64) {
        if (static_cast<size_t>(columns.size()) != vocabulary.map.size())
          throw py::value_error("columns and vocabulary differ in length");
        std::vector<int32_t> col(columns.data(), columns.data() + columns.size());
        return csr_to_py(
            with_docs(docs, [&](const auto& v) { return doc_term_transform(config, v, vocabulary.map, col, threads); }),
            float64);
      },
      py::arg("config"), py::arg("docs"), py::arg("vocabulary"), py::arg("columns"), py::arg("threads") = -1,
      py::arg("float64") = false,
      "CSR (indptr, indices, data) of the documents; term id i of `vocabulary` is column columns[i]. Counts are\n"
      "int64, or float64 with float64=True.");

  m.def(
      "hash_docs",
      [](const AnalyzerConfig& config, const py::sequence& docs, int64_t n_features, bool alternate_sign,
         int threads) {
        if (n_features < 1 || n_features > INT32_MAX) throw py::value_error("n_features must be in [1, 2**31 - 1]");
        return csr_to_py(with_docs(
            docs, [&](const auto& v) { return hash_docs(config, v, n_features, alternate_sign, threads); }), true);
      },
      py::arg("config"), py::arg("docs"), py::kw_only(), py::arg("n_features"), py::arg("alternate_sign") = true,
      py::arg("threads") = -1,
      "CSR (indptr, indices, float64 data) of the hashed terms of the documents, as scikit-learn's HashingVectorizer.");

  m.def(
      "hash_term_lists",
      [](const py::iterable& lists, int64_t n_features, bool alternate_sign) {
        if (n_features < 1 || n_features > INT32_MAX) throw py::value_error("n_features must be in [1, 2**31 - 1]");
        std::vector<std::string_view> terms;
        std::vector<uint64_t> doc_end;
        std::vector<py::object> keep;  // every feature, so its UTF-8 view stays valid
        size_t i = 0;
        for (py::handle doc : lists) {
          for (py::handle t : doc) {
            if (!PyUnicode_Check(t.ptr()))
              throw py::type_error("features must be str; document " + std::to_string(i) + " has " + type_name(t));
            terms.push_back(utf8_view(t, i));
            keep.push_back(py::reinterpret_borrow<py::object>(t));
          }
          doc_end.push_back(terms.size());
          ++i;
        }
        return csr_to_py(hash_terms(terms, doc_end, n_features, alternate_sign), true);
      },
      py::arg("lists"), py::kw_only(), py::arg("n_features"), py::arg("alternate_sign") = true,
      "hash_docs for documents already analyzed into lists of str features.");

  m.def(
      "weight_rows",
      [](const I64& indptr, const I32& indices, const py::object& data, std::optional<F64> idf, bool sublinear_tf,
         Norm norm, int threads) {
        const int64_t n_rows = indptr.size() - 1;
        if (indptr.ndim() != 1 || n_rows < 0) throw py::value_error("indptr must be 1-D and non-empty");
        py::array a = py::reinterpret_borrow<py::array>(data);
        if (!py::isinstance<py::array_t<double>>(data) || a.dtype().kind() != 'f' || a.itemsize() != 8 ||
            !(a.flags() & py::array::c_style) || !a.writeable())
          throw py::type_error("data must be a writeable, C-contiguous float64 array (it is updated in place)");
        const int64_t* ip = indptr.data();
        if (ip[0] != 0 || ip[n_rows] != a.size() || indices.size() != a.size())
          throw py::value_error("malformed CSR: indptr, indices and data disagree");
        for (int64_t r = 0; r < n_rows; ++r)
          if (ip[r + 1] < ip[r]) throw py::value_error("malformed CSR indptr (decreasing)");
        if (idf) {
          const int32_t* ix = indices.data();
          for (py::ssize_t j = 0; j < indices.size(); ++j)
            if (ix[j] < 0 || ix[j] >= idf->size()) throw py::value_error("a column index is out of range of idf");
        }
        double* d = static_cast<double*>(a.mutable_data());
        py::gil_scoped_release nogil;
        weight_rows(ip, indices.data(), d, n_rows, idf ? idf->data() : nullptr, sublinear_tf, norm, threads);
      },
      py::arg("indptr"), py::arg("indices"), py::arg("data"), py::kw_only(), py::arg("idf") = py::none(),
      py::arg("sublinear_tf") = false, py::arg("norm") = Norm::L2, py::arg("threads") = -1,
      "In place on a float64 CSR: tf -> 1 + log(tf), times idf[column], then l1/l2 row normalisation.");

  m.def(
      "stem",
      [](StemmerKind kind, const std::string& word) {
        std::string out;
        std::u32string work;
        stem(kind, word, out, work);
        return to_str(out.data(), out.size());
      },
      py::arg("kind"), py::arg("word"));

  m.def(
      "stem_many",
      [](StemmerKind kind, const py::sequence& words, int threads) {
        StemmedBatch sb = with_docs(words, [&](const auto& v) { return stem_many(kind, v, threads); });
        std::vector<py::str> stems;
        stems.reserve(sb.stems.size());
        for (auto& s : sb.stems) stems.push_back(to_str(s.data(), s.size()));
        py::list res(sb.index.size());
        for (size_t i = 0; i < sb.index.size(); ++i) res[i] = stems[sb.index[i]];
        return res;
      },
      py::arg("kind"), py::arg("words"), py::arg("threads") = -1);
}
