// Bindings of the embedding kernels: co-occurrence counting, GloVe, word-vector files. Only
// validation and conversion here.
#include <pybind11/stl.h>

#include <cmath>
#include <optional>

#include "common/parallel.h"
#include "common/rng.h"
#include "embeddings/cooccur.h"
#include "embeddings/glove.h"
#include "embeddings/vectors_io.h"
#include "embeddings/word2vec.h"
#include "bindings/py_util.h"
#include "text/count.h"

using namespace pfn;
using namespace pfnpy;

namespace {

// Parameters are updated in place (inplace() refuses a float64 or strided array, whose
// converted copy would silently take the update).
float* param_array(const py::object& a, int64_t rows, size_t cols) {
  return inplace(a, {static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(cols)}, "params");
}

py::array_t<float> matrix_of(Buffer<float>&& b, int64_t rows, int dim) {
  if (rows == 0 || b.size() == 0) return py::array_t<float>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(dim)});
  float* p = b.release();
  py::capsule owner(p, [](void* q) { free_large(q); });
  return py::array_t<float>({static_cast<py::ssize_t>(rows), static_cast<py::ssize_t>(dim)}, p, owner);
}

py::tuple vectors_to_py(WordVectorsData&& v) {
  py::list words(v.words.size());
  for (size_t i = 0; i < v.words.size(); ++i) words[i] = to_str(v.words[i].data(), v.words[i].size());
  return py::make_tuple(words, matrix_of(std::move(v.data), v.rows, v.dim));
}

struct Records {
  GloveData data;
  int64_t vocab_size = 0;
};

std::vector<std::string> words_of(const py::sequence& words, int64_t rows) {
  if (static_cast<int64_t>(py::len(words)) != rows)
    throw py::value_error("words and vectors differ in length");
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(rows));
  for (size_t i = 0; i < static_cast<size_t>(rows); ++i) {
    py::object w = words[i];
    out.emplace_back(utf8_view(w, i));
  }
  return out;
}

// Documents of ids: every id in [0, V) (or -1, a word out of the vocabulary, where allowed), and
// document ends that never decrease and end at the last id.
void check_id_docs(const I32& ids, const I64& doc_end, int64_t V, bool allow_unknown) {
  const int32_t* p = ids.data();
  const int64_t n = ids.size();
  const int32_t lo = allow_unknown ? -1 : 0;
  for (int64_t i = 0; i < n; ++i)
    if (p[i] >= V || p[i] < lo)
      throw py::value_error("id " + std::to_string(p[i]) + " at position " + std::to_string(i) +
                            " is out of range for a vocabulary of " + std::to_string(V));
  const int64_t* e = doc_end.data();
  const int64_t nd = doc_end.size();
  for (int64_t d = 0; d < nd; ++d)
    if (e[d] < (d ? e[d - 1] : 0) || e[d] > n) throw py::value_error("malformed document boundaries");
  if (nd ? e[nd - 1] != n : n != 0) throw py::value_error("malformed document boundaries");
}

const float* matrix_arg(const F32& a, int64_t& rows, int& dim) {
  if (a.ndim() != 2) throw py::value_error("vectors must be a 2-D array");
  rows = a.shape(0);
  dim = static_cast<int>(a.shape(1));
  return a.data();
}

}  // namespace

void init_embeddings(py::module_& m) {
  // ---------------------------------------------------------------- co-occurrence
  py::class_<CooccurCounter>(m, "CooccurCounter", "Word-word co-occurrence counts in bounded memory, spilled to sorted runs past memory_limit.")
      .def(py::init([](const I32& rank_of_id, int window, bool symmetric, bool distance_weighting,
                       uint64_t memory_limit, const std::string& tmp_dir, int threads,
                       uint64_t dense_bytes) {
             CooccurConfig cfg;
             if (window < 1) throw py::value_error("window must be >= 1");
             cfg.window = window;
             cfg.symmetric = symmetric;
             cfg.distance_weighting = distance_weighting;
             cfg.memory_limit = memory_limit;
             cfg.tmp_dir = tmp_dir;
             cfg.threads = resolve_threads(threads);
             cfg.dense_bytes = dense_bytes;
             std::vector<int32_t> r(rank_of_id.data(), rank_of_id.data() + rank_of_id.size());
             try {
               return std::make_unique<CooccurCounter>(std::move(r), cfg);
             } catch (const std::invalid_argument& e) {
               throw py::value_error(e.what());
             }
           }),
           py::arg("rank_of_id"), py::kw_only(), py::arg("window"), py::arg("symmetric"),
           py::arg("distance_weighting"), py::arg("memory_limit"), py::arg("tmp_dir"),
           py::arg("threads") = -1, py::arg("dense_bytes") = 0)
      .def("add_ids",
           [](CooccurCounter& c, const I32& ids, const I64& doc_end) {
             check_id_docs(ids, doc_end, c.vocab_size(), /*allow_unknown=*/true);
             const int32_t* p = ids.data();
             const int64_t* e = doc_end.data();
             const size_t nd = static_cast<size_t>(doc_end.size());
             py::gil_scoped_release nogil;
             c.add_ids(p, e, nd);
           },
           py::arg("ids"), py::arg("doc_end"), "Count documents of ids (-1: a word out of the vocabulary); document d ends at doc_end[d].")
      .def("add_texts",
           [](CooccurCounter& c, const AnalyzerConfig& config, const PyVocabulary& vocabulary,
              const py::sequence& docs, uint64_t first_doc) {
             with_docs(docs, [&](const std::vector<std::string_view>& v) {
               c.add_texts(config, vocabulary.map, v, first_doc);
             });
           },
           py::arg("config"), py::arg("vocabulary"), py::arg("docs"), py::arg("first_doc") = 0,
           "Analyze and count a batch of texts; `first_doc` numbers the first in error messages.")
      .def("add_file",
           [](CooccurCounter& c, const AnalyzerConfig& config, const PyVocabulary& vocabulary,
              const std::string& path, const Progress& progress, size_t max_line_bytes) {
             py::gil_scoped_release nogil;
             LineReader r(path, size_t(1) << 24, max_line_bytes);
             std::vector<std::string_view> lines;
             while (r.next(lines)) {
               try {
                 c.add_texts(config, vocabulary.map, lines, r.first_line());
               } catch (const DocumentError& e) {
                 std::string msg = e.what();
                 throw py::value_error(path + ", line " + std::to_string(e.doc + 1) + ": " +
                                       msg.substr(msg.find(':') + 2));
               }
               between_chunks(progress, r.bytes_done(), r.total_bytes());
             }
           },
           py::arg("config"), py::arg("vocabulary"), py::arg("path"), py::arg("progress") = py::none(),
           py::arg("max_line_bytes") = size_t(1) << 30,
           "Analyze and count every line of a UTF-8 file, streamed.")
      .def("to_coo",
           [](CooccurCounter& c, int threads) {
             CooMatrix m;
             {
               py::gil_scoped_release nogil;
               m = c.merge_coo(resolve_threads(threads), [] { check_signals(); });
             }
             return py::make_tuple(to_numpy(std::move(m.row)), to_numpy(std::move(m.col)),
                                   to_numpy(std::move(m.val)));
           },
           py::arg("threads") = -1, "Merge everything counted into (row, col, value) arrays (mirrored when symmetric).")
      .def("to_csr_shards",
           [](CooccurCounter& c, int n_shards, int threads) {
             if (n_shards < 1) throw py::value_error("n_shards must be at least 1");
             std::vector<CsrShard> shards;
             {
               py::gil_scoped_release nogil;
               shards = merge_csr_shards(c, n_shards, resolve_threads(threads), [] { check_signals(); });
             }
             py::list out;
             for (CsrShard& sh : shards)
               out.append(py::make_tuple(sh.rows, to_numpy(std::move(sh.indptr)), to_numpy(std::move(sh.indices)),
                                         to_numpy(std::move(sh.data))));
             return out;
           },
           py::arg("n_shards"), py::arg("threads") = -1,
           "Merge everything counted into row shards: for shard s (rows r with r % n_shards == s, numbered "
           "r // n_shards) a tuple (rows, indptr, indices, data) of CSR arrays, float64 values, columns of a row "
           "in no particular order.")
      .def("to_file",
           [](CooccurCounter& c, const std::string& path) {
             py::gil_scoped_release nogil;
             GloveRecordFileSink sink(path, c.symmetric());
             c.merge({&sink}, [] { check_signals(); });
             sink.close();
             return sink.records();
           },
           py::arg("path"), "Merge everything counted into the reference GloVe record file `path`; returns the record count.")
      .def("stats", [](const CooccurCounter& c) {
        const CooccurStats& s = c.stats();
        py::dict d;
        d["documents"] = s.documents;
        d["tokens"] = s.tokens;
        d["sparse_updates"] = s.sparse_updates;
        d["compactions"] = s.compactions;
        d["spills"] = s.spills;
        d["spilled_bytes"] = s.spilled_bytes;
        d["peak_bytes"] = s.peak_bytes;
        return d;
      }, "documents, tokens, sparse_updates, compactions, spills, spilled_bytes, peak_bytes");

  // ---------------------------------------------------------------- GloVe
  py::class_<Records>(m, "GloveRecords", "A co-occurrence matrix as GloVe training records, in tiles.")
      .def("__len__", [](const Records& r) { return r.data.rec.size(); })
      .def("tile_sizes", [](const Records& r) {
        std::vector<int64_t> s(r.data.tiles());
        for (size_t t = 0; t < s.size(); ++t) s[t] = static_cast<int64_t>(r.data.tile_start[t + 1] - r.data.tile_start[t]);
        return to_numpy(std::move(s));
      })
      .def_readonly("vocab_size", &Records::vocab_size)
      .def("arrays", [](const Records& r) {  // (i, j, log X, f(X)) in training order
        const auto& rec = r.data.rec;
        const size_t n = rec.size();
        py::array_t<int32_t> i(static_cast<py::ssize_t>(n)), j(static_cast<py::ssize_t>(n));
        py::array_t<float> lx(static_cast<py::ssize_t>(n)), fx(static_cast<py::ssize_t>(n));
        for (size_t k = 0; k < n; ++k) {
          i.mutable_data()[k] = rec[k].i;
          j.mutable_data()[k] = rec[k].j;
          lx.mutable_data()[k] = rec[k].logx;
          fx.mutable_data()[k] = rec[k].weight;
        }
        return py::make_tuple(i, j, lx, fx);
      });

  m.def("glove_records", [](const I32& row, const I32& col, const F32& val, int64_t vocab_size, float x_max,
                            float alpha, int threads, uint64_t seed, int64_t tile_words) {
    const int64_t V = vocab_size;
    const int64_t n = row.size();
    if (col.size() != n || val.size() != n) throw py::value_error("row, col and data differ in length");
    const int32_t* r = row.data();
    const int32_t* c = col.data();
    const float* v = val.data();
    for (int64_t k = 0; k < n; ++k) {
      if (r[k] < 0 || r[k] >= V || c[k] < 0 || c[k] >= V)
        throw py::value_error("entry " + std::to_string(k) + " has an index out of range for " +
                              std::to_string(V) + " words");
      if (!(v[k] > 0.0f) || !std::isfinite(v[k]))
        throw py::value_error("co-occurrence value " + std::to_string(v[k]) + " at entry " + std::to_string(k) +
                              ": values must be positive and finite");
    }
    GloveConfig cfg;
    cfg.x_max = x_max;
    cfg.alpha = alpha;
    cfg.threads = threads;
    cfg.tile_words = tile_words;
    auto out = std::make_unique<Records>();
    out->vocab_size = V;
    {
      py::gil_scoped_release nogil;
      out->data = glove_records(r, c, v, static_cast<size_t>(n), cfg, seed);
    }
    return out;
  }, py::arg("row"), py::arg("col"), py::arg("val"), py::kw_only(), py::arg("vocab_size"), py::arg("x_max"),
     py::arg("alpha"), py::arg("threads"), py::arg("seed"), py::arg("tile_words"),
     "Training records (i, j, log X, f(X)) of a co-occurrence matrix, grouped in tiles of `tile_words` (0: one shuffled run).");

  m.def("glove_block", &glove_block, py::arg("dim"), "Floats per parameter row for vectors of `dim` (vector, bias, AdaGrad sums, padding).");

  m.def("glove_init", [](const py::object& params, int64_t vocab_size, int dim, uint64_t seed) {
    float* p = param_array(params, 2 * vocab_size, glove_block(dim));
    py::gil_scoped_release nogil;
    glove_init(p, vocab_size, dim, seed);
  }, py::arg("params"), py::kw_only(), py::arg("vocab_size"), py::arg("dim"), py::arg("seed"),
     "The reference tool's random start, written into params (2 * vocab_size, glove_block(dim)).");

  m.def("glove_train", [](const py::object& params, int dim, const Records& records, const I64& order, float eta,
                          float grad_clip, int threads) {
    const Records& rec = records;
    float* p = param_array(params, 2 * rec.vocab_size, glove_block(dim));
    const int64_t* o = order.data();
    const int64_t n_tiles = static_cast<int64_t>(rec.data.tiles());
    for (py::ssize_t k = 0; k < order.size(); ++k)
      if (o[k] < 0 || o[k] >= n_tiles) throw py::value_error("tile index out of range");
    GloveConfig cfg;
    cfg.dim = dim;
    cfg.eta = eta;
    cfg.grad_clip = grad_clip;
    cfg.threads = threads;
    GloveEpoch e;
    {
      py::gil_scoped_release nogil;
      e = glove_train(p, rec.vocab_size, rec.data, o, static_cast<size_t>(order.size()), cfg);
    }
    return py::make_tuple(e.cost, e.skipped);
  }, py::arg("params"), py::kw_only(), py::arg("dim"), py::arg("records"), py::arg("order"), py::arg("eta"),
     py::arg("grad_clip"), py::arg("threads"),
     "One pass of AdaGrad over the tiles in `order`, in place; returns (summed loss, updates skipped as not finite).");

  // ---------------------------------------------------------------- word2vec
  py::class_<NoiseTable>(m, "NoiseTable", "Noise words for negative sampling: P(w) proportional to count^exponent (alias method).")
      .def(py::init([](const I64& counts, double exponent) {
             if (counts.ndim() != 1 || counts.size() == 0) throw py::value_error("counts must be a non-empty 1-D array");
             const int64_t* c = counts.data();
             for (py::ssize_t i = 0; i < counts.size(); ++i)
               if (c[i] < 0) throw py::value_error("counts must not be negative");
             if (!std::isfinite(exponent)) throw py::value_error("exponent must be finite");
             NoiseTable t;
             {
               py::gil_scoped_release nogil;
               t = make_noise_table(c, counts.size(), exponent);
             }
             return t;
           }),
           py::arg("counts"), py::arg("exponent"))
      .def("__len__", [](const NoiseTable& t) { return t.threshold.size(); })
      .def("arrays", [](const NoiseTable& t) {
             return py::make_tuple(to_numpy(std::vector<uint32_t>(t.threshold)), to_numpy(std::vector<int32_t>(t.alias)));
           }, "(threshold uint32, alias int32): column i is kept when the low 32 bits of a draw are < threshold[i].")
      .def("draw", [](const NoiseTable& t, int64_t n, uint64_t seed) {
             if (n < 0) throw py::value_error("n must be >= 0");
             std::vector<int32_t> out(static_cast<size_t>(n));
             SplitMix64 rng{seed};  // as the trainer's streams
             for (auto& o : out) o = t.draw(rng.next());
             return to_numpy(std::move(out));
           },
           py::arg("n"), py::arg("seed"), "n noise words (for tests of the distribution).");

  m.def("word2vec_keep", [](const I64& counts, double sample) {
    if (!(sample >= 0) || !std::isfinite(sample)) throw py::value_error("sample must be >= 0");
    return to_numpy(subsample_thresholds(counts.data(), counts.size(), sample));
  }, py::arg("counts"), py::arg("sample"),
     "Subsampling: word w is kept when a uniform 32-bit number is <= keep[w] (uint32).");

  m.def("word2vec_sigmoid", &word2vec_sigmoid, py::arg("f"), "The tools' tabulated sigmoid (0 or 1 beyond +-6).");

  m.def("word2vec_update", [](const F32& l1, const py::object& neu1e, const py::object& syn1, const I32& targets,
                              float alpha) {
    if (l1.ndim() != 1) throw py::value_error("l1 must be 1-D");
    const int dim = static_cast<int>(l1.shape(0));
    float* e = inplace(neu1e, {dim}, "neu1e");
    py::array s = py::reinterpret_borrow<py::array>(syn1);
    float* s1 = inplace(syn1, {}, "syn1");
    if (s.ndim() != 2 || s.shape(1) < dim) throw py::value_error("syn1 must be 2-D with at least len(l1) columns");
    const int32_t* t = targets.data();
    for (py::ssize_t k = 0; k < targets.size(); ++k)
      if (t[k] < 0 || t[k] >= s.shape(0)) throw py::value_error("a target is out of range");
    return word2vec_update(l1.data(), e, s1, s.shape(1), dim, t, static_cast<int>(targets.size()), alpha);
  }, py::arg("l1"), py::arg("neu1e"), py::arg("syn1"), py::arg("targets"), py::arg("alpha"),
     "One negative-sampling update (the trainer's inner step), in place; returns its loss.");

  m.def("word2vec_train", [](const py::object& syn0, const py::object& syn1neg, const I32& ids, const I64& doc_end,
                             const NoiseTable& noise, const py::array_t<uint32_t, py::array::c_style | py::array::forcecast>& keep,
                             int dim, int window, int negative, bool sg, bool cbow_mean, bool shrink_windows,
                             float alpha, float min_alpha, int threads, int64_t words_before, int64_t total_words,
                             uint64_t seed, int64_t max_sentence) {
    py::array a0 = py::reinterpret_borrow<py::array>(syn0);
    float* s0 = inplace(syn0, {}, "syn0");
    float* s1 = inplace(syn1neg, {}, "syn1neg");
    if (a0.ndim() != 2) throw py::value_error("syn0 must be 2-D");
    const int64_t V = a0.shape(0), stride = a0.shape(1);
    check_shape(py::reinterpret_borrow<py::array>(syn1neg), {static_cast<py::ssize_t>(V), static_cast<py::ssize_t>(stride)}, "syn1neg");
    if (dim < 1 || dim > stride) throw py::value_error("dim must be in [1, syn0.shape[1]]");
    if (window < 1) throw py::value_error("window must be >= 1");
    if (negative < 1 || negative > 64) throw py::value_error("negative must be in [1, 64]");
    if (max_sentence < 1) throw py::value_error("max_sentence must be >= 1");
    if (static_cast<int64_t>(noise.threshold.size()) != V || keep.size() != V)
      throw py::value_error("the noise table and keep thresholds must have one entry per word");
    check_id_docs(ids, doc_end, V, /*allow_unknown=*/false);
    const int32_t* p = ids.data();
    const int64_t* e = doc_end.data();
    const int64_t nd = doc_end.size();
    Word2VecConfig cfg;
    cfg.dim = dim;
    cfg.window = window;
    cfg.negative = negative;
    cfg.sg = sg;
    cfg.cbow_mean = cbow_mean;
    cfg.shrink_windows = shrink_windows;
    cfg.alpha = alpha;
    cfg.min_alpha = min_alpha;
    cfg.threads = threads;
    cfg.max_sentence = max_sentence;
    Word2VecSchedule sch{words_before, total_words, seed};
    Word2VecStats st;
    {
      py::gil_scoped_release nogil;
      st = word2vec_train({s0, s1, V, stride}, p, e, static_cast<size_t>(nd), cfg, noise, keep.data(), sch);
    }
    py::dict d;
    d["loss"] = st.loss;
    d["examples"] = st.examples;
    d["words"] = st.words;
    d["effective_words"] = st.effective;
    d["alpha"] = st.last_alpha;
    return d;
  }, py::arg("syn0"), py::arg("syn1neg"), py::arg("ids"), py::arg("doc_end"), py::arg("noise"), py::arg("keep"),
     py::kw_only(), py::arg("dim"), py::arg("window"), py::arg("negative"), py::arg("sg"), py::arg("cbow_mean"),
     py::arg("shrink_windows"), py::arg("alpha"), py::arg("min_alpha"), py::arg("threads"), py::arg("words_before"),
     py::arg("total_words"), py::arg("seed"), py::arg("max_sentence") = 10000,
     "One pass of word2vec over documents of ids, in place (Hogwild); returns loss, examples, words,\n"
     "effective_words (after subsampling) and alpha (the learning rate at the end).");

  // ---------------------------------------------------------------- vector files
  m.def("read_vectors_text", [](const std::string& path, bool header, int threads) {
    WordVectorsData v;
    {
      py::gil_scoped_release nogil;
      v = read_vectors_text(path, header, threads);
    }
    return vectors_to_py(std::move(v));
  }, py::arg("path"), py::arg("header"), py::arg("threads") = -1, "(words, vectors) of a GloVe (no header) or word2vec text file.");
  m.def("read_word2vec_binary", [](const std::string& path, int threads) {
    WordVectorsData v;
    {
      py::gil_scoped_release nogil;
      v = read_word2vec_binary(path, threads);
    }
    return vectors_to_py(std::move(v));
  }, py::arg("path"), py::arg("threads") = -1, "(words, vectors) of a word2vec binary file.");
  m.def("write_vectors_text", [](const std::string& path, const py::sequence& words, const F32& vectors,
                                 bool header) {
    int64_t rows;
    int dim;
    const float* p = matrix_arg(vectors, rows, dim);
    std::vector<std::string> w = words_of(words, rows);
    py::gil_scoped_release nogil;
    write_vectors_text(path, w, p, rows, dim, header);
  }, py::arg("path"), py::arg("words"), py::arg("vectors"), py::arg("header"));
  m.def("write_word2vec_binary", [](const std::string& path, const py::sequence& words,
                                    const F32& vectors) {
    int64_t rows;
    int dim;
    const float* p = matrix_arg(vectors, rows, dim);
    std::vector<std::string> w = words_of(words, rows);
    py::gil_scoped_release nogil;
    write_word2vec_binary(path, w, p, rows, dim);
  }, py::arg("path"), py::arg("words"), py::arg("vectors"));
}
