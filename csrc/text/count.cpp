#include "text/count.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "common/file_error.h"
#include "common/parallel.h"

namespace pfn {
namespace {

size_t total_bytes(const std::vector<std::string_view>& docs) {
  size_t t = 0;
  for (auto d : docs) t += d.size();
  return t;
}

// Runs analyzer over docs[b, e), calling term(doc_index, term) per term; converts UTF-8
// errors to DocumentError naming the document.
template <class Term>
void analyze_range(Analyzer& an, const std::vector<std::string_view>& docs, size_t b, size_t e,
                   size_t doc_offset, Term&& term) {
  for (size_t d = b; d < e; ++d) {
    try {
      an.analyze(docs[d], [&](std::string_view t) { term(d, t); });
    } catch (const Utf8Error& err) {
      throw DocumentError(doc_offset + d, err);
    }
  }
}

// Sorts ids by their key's bytes (= Python's str order for UTF-8): first on a
// big-endian 8-byte prefix, then the full key only where prefixes tie.
void sort_by_key(const StringIdMap& m, std::vector<int32_t>& ids, int threads) {
  std::vector<std::pair<uint64_t, int32_t>> pre(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string_view k = m.key(ids[i]);
    uint64_t p = 0;
    for (size_t j = 0; j < 8; ++j)
      p = (p << 8) | (j < k.size() ? static_cast<unsigned char>(k[j]) : 0u);
    pre[i] = {p, ids[i]};
  }
  auto less = [&](const std::pair<uint64_t, int32_t>& a, const std::pair<uint64_t, int32_t>& b) {
    if (a.first != b.first) return a.first < b.first;
    return m.key(a.second) < m.key(b.second);
  };
  // Two halves sorted on two threads, then merged (the vocabulary can be millions of terms).
  const auto mid = pre.begin() + static_cast<long>(pre.size() / 2);
#pragma omp parallel sections num_threads(threads > 1 && pre.size() > 50000 ? 2 : 1)
  {
#pragma omp section
    std::sort(pre.begin(), mid, less);
#pragma omp section
    std::sort(mid, pre.end(), less);
  }
  std::inplace_merge(pre.begin(), mid, pre.end(), less);
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = pre[i].second;
}

// One thread's rows of a document-term matrix, with ids local to `lookup`.
struct RowShard {
  std::vector<uint32_t> row_nnz;  // distinct terms per document
  struct Entry {
    int32_t id;    // term id (local to the counting thread's map, or the column)
    uint32_t cnt;  // its count in the document
  };
  std::vector<Entry, LargeAllocator<Entry>> ent;
};

// Per-thread scratch of count_rows: where each id sits in the current row.
struct Seen {
  uint32_t row;  // document index + 1 that pos refers to
  uint32_t pos;  // entry index of the id, counted from the row's first entry
};

// Counts the terms of docs[b, e) into `out`, one row per document. `lookup(term)` gives
// a term's id, or -1 to skip it.
template <class Lookup>
void count_rows(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs, size_t b,
                size_t e, Lookup&& lookup, std::vector<Seen>& seen, RowShard& out) {
  Analyzer an(cfg);
  out.row_nnz.assign(e - b, 0);
  size_t bytes = 0;
  for (size_t d = b; d < e; ++d) bytes += docs[d].size();
  out.ent.reserve(bytes / 8 + 16);  // about one distinct term per 8-10 bytes of text
  for (size_t d = b; d < e; ++d) {
    const uint32_t cur = static_cast<uint32_t>(d + 1);
    const size_t row_start = out.ent.size();
    try {
      an.analyze(docs[d], [&](std::string_view t) {
        const int32_t id = lookup(t);
        if (id < 0) return;
        if (static_cast<size_t>(id) >= seen.size())
          seen.resize(std::max<size_t>(id + 1, seen.size() * 2), Seen{0, 0});
        Seen& sn = seen[id];
        if (sn.row == cur) {
          ++out.ent[row_start + sn.pos].cnt;
        } else {
          sn.row = cur;
          sn.pos = static_cast<uint32_t>(out.ent.size() - row_start);
          out.ent.push_back({id, 1});
        }
      });
    } catch (const Utf8Error& err) {
      throw DocumentError(d, err);
    }
    out.row_nnz[d - b] = static_cast<uint32_t>(out.ent.size() - row_start);
  }
}

// Documents are counted in chunks that threads take dynamically (a stalled core does not
// hold the others up); each thread keeps one vocabulary map across its chunks.
struct Chunks {
  std::vector<size_t> bounds;  // chunk c is docs[bounds[c], bounds[c+1])
  std::vector<int> owner;      // thread that counted chunk c
  std::vector<RowShard> rows;
};

Chunks make_chunks(const std::vector<std::string_view>& docs, int threads) {
  Chunks c;
  size_t bytes = total_bytes(docs);
  int n = threads == 1 ? 1 : static_cast<int>(std::min<size_t>(threads * 16, bytes / (256 << 10) + threads));
  c.bounds = split_by_bytes(docs, n);
  c.owner.assign(n, 0);
  c.rows.resize(n);
  return c;
}

// Sorts a row's (column << 32 | entry) keys by column. Columns in a row are distinct.
// Long rows use an LSD radix sort over the column's bytes (no comparisons, so no branch
// mispredictions: std::sort spent a fifth of fit_transform here); short rows use insertion.
void sort_row(std::vector<uint64_t>& row, std::vector<uint64_t>& tmp, uint32_t max_col) {
  const size_t k = row.size();
  if (k <= 32) {
    for (size_t i = 1; i < k; ++i) {
      uint64_t v = row[i];
      size_t j = i;
      while (j > 0 && row[j - 1] > v) {
        row[j] = row[j - 1];
        --j;
      }
      row[j] = v;
    }
    return;
  }
  tmp.resize(k);
  uint64_t* src = row.data();
  uint64_t* dst = tmp.data();
  for (unsigned shift = 32; shift < 64 && (shift == 32 || (max_col >> (shift - 32)) != 0); shift += 8) {
    uint32_t count[257] = {0};
    for (size_t i = 0; i < k; ++i) ++count[((src[i] >> shift) & 255u) + 1];
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (size_t i = 0; i < k; ++i) dst[count[(src[i] >> shift) & 255u]++] = src[i];
    std::swap(src, dst);
  }
  if (src != row.data()) std::copy(src, src + k, row.data());
}

// Lays chunks out as one CSR, mapping ids through the map of the thread that counted
// each chunk (remap[owner[chunk]]) and sorting each row by column.
Csr assemble(std::vector<RowShard>& shards, const std::vector<std::vector<int32_t>>* remap,
             const std::vector<int>& owner, size_t n_docs, int threads) {
  Csr m;
  m.indptr.assign(n_docs + 1, 0);
  size_t r = 0;
  std::vector<size_t> row0(shards.size());
  for (size_t s = 0; s < shards.size(); ++s) {
    row0[s] = r;
    for (uint32_t k : shards[s].row_nnz) {
      m.indptr[r + 1] = m.indptr[r] + k;
      ++r;
    }
  }
  m.indices = Buffer<int32_t>(static_cast<size_t>(m.indptr[n_docs]));
  m.data = Buffer<int64_t>(m.indices.size());
  FirstError err;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (long s = 0; s < static_cast<long>(shards.size()); ++s) {
    err.run([&] {
      RowShard& sh = shards[s];
      const std::vector<int32_t>* rm = remap ? &(*remap)[owner[s]] : nullptr;
      // Sort each row by column: pack (column, entry) in one 64-bit key.
      std::vector<uint64_t> row, tmp;
      size_t src = 0;
      for (size_t i = 0; i < sh.row_nnz.size(); ++i) {
        size_t k = static_cast<size_t>(sh.row_nnz[i]);
        row.clear();
        uint32_t max_col = 0;
        for (size_t j = 0; j < k; ++j) {
          int32_t id = sh.ent[src + j].id;
          uint32_t col = static_cast<uint32_t>(rm ? (*rm)[id] : id);
          max_col = std::max(max_col, col);
          row.push_back((static_cast<uint64_t>(col) << 32) | static_cast<uint32_t>(j));
        }
        sort_row(row, tmp, max_col);
        size_t dst = static_cast<size_t>(m.indptr[row0[s] + i]);
        for (size_t j = 0; j < k; ++j) {
          m.indices[dst + j] = static_cast<int32_t>(row[j] >> 32);
          m.data[dst + j] = sh.ent[src + static_cast<uint32_t>(row[j])].cnt;
        }
        src += k;
      }
      RowShard().ent.swap(sh.ent);  // free shard memory early
    });
  }
  err.rethrow();
  return m;
}

}  // namespace

// ------------------------------------------------------------------ tokenize_many
TokenLists tokenize_many(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                         int num_threads) {
  int threads = resolve_threads(num_threads, total_bytes(docs));
  if (static_cast<size_t>(threads) > docs.size()) threads = docs.empty() ? 1 : static_cast<int>(docs.size());
  auto bounds = split_by_bytes(docs, threads);
  std::vector<TokenLists> parts(threads);
  FirstError err;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    err.run([&] {
      Analyzer an(cfg);
      TokenLists& p = parts[t];
      size_t cur = bounds[t];
      analyze_range(an, docs, bounds[t], bounds[t + 1], 0, [&](size_t d, std::string_view s) {
        while (cur < d) {
          p.doc_end.push_back(p.tok_end.size());
          ++cur;
        }
        p.chars.append(s);
        p.tok_end.push_back(p.chars.size());
      });
      while (cur < bounds[t + 1]) {
        p.doc_end.push_back(p.tok_end.size());
        ++cur;
      }
    });
  }
  err.rethrow();
  TokenLists out;
  for (auto& p : parts) {
    uint64_t c0 = out.chars.size(), t0 = out.tok_end.size();
    out.chars += p.chars;
    for (auto v : p.tok_end) out.tok_end.push_back(v + c0);
    for (auto v : p.doc_end) out.doc_end.push_back(v + t0);
  }
  return out;
}

// ------------------------------------------------------------------ TermCounter
TermCounter::TermCounter(const AnalyzerConfig& cfg, int num_threads)
    : cfg_(cfg), threads_(resolve_threads(num_threads)) {
  shards_.resize(threads_);
}

void TermCounter::add(const std::vector<std::string_view>& docs) {
  int threads = resolve_threads(threads_, total_bytes(docs));
  auto bounds = split_by_bytes(docs, threads);
  FirstError err;
  const size_t base = docs_;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    err.run([&] {
      Shard& sh = shards_[t];
      Analyzer an(cfg_);
      analyze_range(an, docs, bounds[t], bounds[t + 1], base,
                    [&](size_t d, std::string_view s) { bump(sh, s, base + d + 1); });
    });
  }
  err.rethrow();
  docs_ += docs.size();
}

void TermCounter::bump(Shard& sh, std::string_view term, uint64_t doc_mark) {
  int32_t id = sh.map.insert(term);
  if (static_cast<size_t>(id) >= sh.stat.size()) sh.stat.push_back(Stat{0, 0, 0});
  Stat& st = sh.stat[id];
  ++st.count;
  if (st.last_doc != doc_mark) {
    st.last_doc = doc_mark;
    ++st.df;
  }
}

void TermCounter::add_tokens(const std::vector<std::string_view>& tokens) {
  for (auto s : tokens) bump(shards_[0], s, docs_ + 1);
  ++docs_;
}

TermCounts TermCounter::result() const {
  StringIdMap all;
  TermCounts out;
  for (const Shard& sh : shards_) {
    for (size_t i = 0; i < sh.map.size(); ++i) {
      int32_t id = all.insert(sh.map.key(static_cast<int32_t>(i)));
      if (static_cast<size_t>(id) >= out.counts.size()) {
        out.counts.push_back(0);
        out.doc_freq.push_back(0);
      }
      out.counts[id] += sh.stat[i].count;
      out.doc_freq[id] += sh.stat[i].df;
    }
  }
  out.terms.reserve(all.size());
  for (size_t i = 0; i < all.size(); ++i) out.terms.emplace_back(all.key(static_cast<int32_t>(i)));
  return out;
}

// ------------------------------------------------------------------ LineReader
LineReader::LineReader(const std::string& path, size_t chunk_bytes, size_t max_line_bytes)
    : path_(path), chunk_(chunk_bytes), max_line_(max_line_bytes) {
  f_ = std::fopen(path.c_str(), "rb");
  if (!f_) throw FileError("cannot open", path);
  if (std::fseek(f_, 0, SEEK_END) == 0) {
    long sz = std::ftell(f_);
    total_ = sz > 0 ? static_cast<uint64_t>(sz) : 0;
    std::fseek(f_, 0, SEEK_SET);
  }
}

LineReader::~LineReader() {
  if (f_) std::fclose(f_);
}

void LineReader::reserve(size_t bytes) {
  if (bytes <= buf_.size()) return;
  Buffer<char> bigger(std::max(bytes, 2 * buf_.size()));
  if (len_) std::memcpy(bigger.data(), buf_.data(), len_);
  buf_ = std::move(bigger);
}

bool LineReader::next(std::vector<std::string_view>& lines) {
  lines.clear();
  // The partial line after the previous chunk moves to the front.
  if (end_) {
    std::memmove(buf_.data(), buf_.data() + end_, len_ - end_);
    len_ -= end_;
    end_ = 0;
  }
  bool eof = false;
  // Read until the buffer holds at least one newline (or the file ends).
  for (;;) {
    // Fill up to the chunk size (a chunk more when a long line already fills it), but
    // never ask for much more than the rest of the file.
    size_t want = chunk_ > len_ + 4096 ? chunk_ - len_ : chunk_;
    if (total_ > done_ && total_ - done_ + 1 < want) want = static_cast<size_t>(total_ - done_ + 1);
    if (want < 4096) want = 4096;
    const size_t old = len_;
    reserve(old + want);
    size_t got = std::fread(buf_.data() + old, 1, want, f_);
    len_ = old + got;
    done_ += got;
    if (got < want) {
      if (std::ferror(f_)) throw FileError("error reading", path_);
      eof = true;
      break;
    }
    if (std::memchr(buf_.data() + old, '\n', got)) break;
    if (len_ > max_line_) throw LineTooLong(path_, next_line_ + 1, max_line_);
  }
  const char* data = buf_.data();
  size_t end = len_;
  if (!eof) {
    const char* p = data + len_;
    while (p[-1] != '\n') --p;  // a newline is there (the loop above found one)
    end = static_cast<size_t>(p - data);
  }
  end_ = end;
  first_line_ = next_line_;
  size_t s = 0;
  while (s < end) {
    const void* hit = std::memchr(data + s, '\n', end - s);
    size_t nl = hit ? static_cast<size_t>(static_cast<const char*>(hit) - data) : end;
    size_t e = nl;
    if (e > s && data[e - 1] == '\r') --e;
    if (e - s > max_line_) throw LineTooLong(path_, next_line_ + lines.size() + 1, max_line_);
    lines.emplace_back(data + s, e - s);
    s = nl + 1;
  }
  next_line_ += lines.size();
  return !lines.empty() || !eof;
}

// ------------------------------------------------------------------ doc-term matrices
DocTerm doc_term_fit(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                     int num_threads) {
  int threads = resolve_threads(num_threads, total_bytes(docs));
  Chunks ch = make_chunks(docs, threads);
  const long n_chunks = static_cast<long>(ch.rows.size());
  std::vector<StringIdMap> maps;
  for (int t = 0; t < threads; ++t)  // sized for roughly the vocabulary of a share of the text
    maps.emplace_back(total_bytes(docs) / threads / 256 + 1024);
  FirstError err;
#pragma omp parallel num_threads(threads)
  {
    const int t = thread_id();
    std::vector<Seen> seen;
    StringIdMap& m = maps[t];
#pragma omp for schedule(dynamic, 1)
    for (long c = 0; c < n_chunks; ++c) {
      err.run([&] {
        ch.owner[c] = t;
        count_rows(cfg, docs, ch.bounds[c], ch.bounds[c + 1],
                   [&](std::string_view s) { return m.insert(s); }, seen, ch.rows[c]);
      });
    }
  }
  err.rethrow();

  // Merge shard vocabularies, sort terms by bytes (= code point order), remap ids.
  // Shard 0's map is the base (its ids stay); the others are added to it.
  StringIdMap all = std::move(maps[0]);
  std::vector<std::vector<int32_t>> remap(threads);
  remap[0].resize(all.size());
  std::iota(remap[0].begin(), remap[0].end(), 0);
  for (int t = 1; t < threads; ++t) {
    remap[t].resize(maps[t].size());
    for (size_t i = 0; i < maps[t].size(); ++i)
      remap[t][i] = all.insert(maps[t].key(static_cast<int32_t>(i)));
    maps[t] = StringIdMap(1);
  }
  std::vector<int32_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  sort_by_key(all, order, threads);
  std::vector<int32_t> rank(all.size());
  for (size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<int32_t>(i);
  for (auto& r : remap)
    for (auto& v : r) v = rank[v];

  DocTerm out;
  out.terms.reserve(order.size());
  for (int32_t id : order) out.terms.emplace_back(all.key(id));
  out.matrix = assemble(ch.rows, &remap, ch.owner, docs.size(), threads);
  return out;
}

Csr doc_term_transform(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                       const StringIdMap& vocab, const std::vector<int32_t>& col,
                       int num_threads) {
  int threads = resolve_threads(num_threads, total_bytes(docs));
  Chunks ch = make_chunks(docs, threads);
  const long n_chunks = static_cast<long>(ch.rows.size());
  FirstError err;
#pragma omp parallel num_threads(threads)
  {
    std::vector<Seen> seen;
#pragma omp for schedule(dynamic, 1)
    for (long c = 0; c < n_chunks; ++c) {
      err.run([&] {
        count_rows(cfg, docs, ch.bounds[c], ch.bounds[c + 1],
                   [&](std::string_view s) {
                     int32_t id = vocab.find(s);
                     return id < 0 ? -1 : col[id];
                   },
                   seen, ch.rows[c]);
      });
    }
  }
  err.rethrow();
  return assemble(ch.rows, nullptr, ch.owner, docs.size(), threads);
}

// ------------------------------------------------------------------ feature hashing
uint32_t murmur3_32(std::string_view key, uint32_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(key.data());
  const size_t n = key.size();
  const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  uint32_t h = seed;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t k = uint32_t(p[i]) | uint32_t(p[i + 1]) << 8 | uint32_t(p[i + 2]) << 16 | uint32_t(p[i + 3]) << 24;
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64u;
  }
  uint32_t k = 0;
  switch (n & 3) {
    case 3: k ^= uint32_t(p[i + 2]) << 16; [[fallthrough]];
    case 2: k ^= uint32_t(p[i + 1]) << 8; [[fallthrough]];
    case 1:
      k ^= p[i];
      k *= c1;
      k = rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(n);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

namespace {

// A term's column and sign, packed as (column << 32 | negative): sort_row orders by the column.
inline uint64_t hashed(std::string_view term, int64_t n_features, bool alternate_sign) {
  const int32_t h = static_cast<int32_t>(murmur3_32(term, 0));
  // |INT32_MIN| does not fit: scikit-learn defines its column as (2**31 - 1 - (n - 1)) mod n
  const int64_t col = h == INT32_MIN ? (int64_t(INT32_MAX) - (n_features - 1)) % n_features
                                     : (h < 0 ? -int64_t(h) : int64_t(h)) % n_features;
  return static_cast<uint64_t>(col) << 32 | (alternate_sign && h < 0 ? 1u : 0u);
}

// Sorts one document's hashed terms by column (radix sort: std::sort took 40 % of the time)
// and appends their sums per column, as scipy's sum_duplicates leaves them (a column whose
// signs cancel keeps an explicit 0); returns how many it appended.
uint32_t sum_row(std::vector<uint64_t>& row, std::vector<uint64_t>& tmp, int64_t n_features,
                 std::vector<int32_t>& cols, std::vector<int64_t>& vals) {
  sort_row(row, tmp, static_cast<uint32_t>(n_features - 1));
  uint32_t nnz = 0;
  for (size_t k = 0; k < row.size();) {
    const uint64_t col = row[k] >> 32;
    int64_t v = 0;
    for (; k < row.size() && (row[k] >> 32) == col; ++k) v += (row[k] & 1) ? -1 : 1;
    cols.push_back(static_cast<int32_t>(col));
    vals.push_back(v);
    ++nnz;
  }
  return nnz;
}

void check_n_features(int64_t n_features) {
  if (n_features < 1 || n_features > INT32_MAX) throw std::invalid_argument("n_features must be in [1, 2**31 - 1]");
}

}  // namespace

Csr hash_terms(const std::vector<std::string_view>& terms, const std::vector<uint64_t>& doc_end,
               int64_t n_features, bool alternate_sign) {
  check_n_features(n_features);
  Csr m;
  m.indptr.assign(doc_end.size() + 1, 0);
  std::vector<int32_t> cols;
  std::vector<int64_t> vals;
  std::vector<uint64_t> row, tmp;
  for (size_t d = 0, t = 0; d < doc_end.size(); ++d) {
    row.clear();
    for (; t < doc_end[d]; ++t) row.push_back(hashed(terms[t], n_features, alternate_sign));
    m.indptr[d + 1] = m.indptr[d] + sum_row(row, tmp, n_features, cols, vals);
  }
  m.indices = Buffer<int32_t>(cols.size());
  m.data = Buffer<int64_t>(vals.size());
  std::copy(cols.begin(), cols.end(), m.indices.data());
  std::copy(vals.begin(), vals.end(), m.data.data());
  return m;
}

Csr hash_docs(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
              int64_t n_features, bool alternate_sign, int num_threads) {
  check_n_features(n_features);
  int threads = resolve_threads(num_threads, total_bytes(docs));
  Chunks ch = make_chunks(docs, threads);
  const long n_chunks = static_cast<long>(ch.rows.size());
  struct Part {
    std::vector<uint32_t> row_nnz;
    std::vector<int32_t> cols;
    std::vector<int64_t> vals;
  };
  std::vector<Part> parts(static_cast<size_t>(n_chunks));
  FirstError err;
#pragma omp parallel num_threads(threads)
  {
    Analyzer an(cfg);
    std::vector<uint64_t> row, tmp;  // (column << 32 | negative) per term of the document
#pragma omp for schedule(dynamic, 1)
    for (long c = 0; c < n_chunks; ++c) {
      err.run([&] {
        Part& out = parts[static_cast<size_t>(c)];
        size_t bytes = 0;
        for (size_t d = ch.bounds[c]; d < ch.bounds[c + 1]; ++d) bytes += docs[d].size();
        out.cols.reserve(bytes / 8 + 16);  // about one distinct term per 8-10 bytes of text
        out.vals.reserve(bytes / 8 + 16);
        out.row_nnz.reserve(ch.bounds[c + 1] - ch.bounds[c]);
        for (size_t d = ch.bounds[c]; d < ch.bounds[c + 1]; ++d) {
          row.clear();
          try {
            an.analyze(docs[d], [&](std::string_view t) { row.push_back(hashed(t, n_features, alternate_sign)); });
          } catch (const Utf8Error& e) {
            throw DocumentError(d, e);
          }
          out.row_nnz.push_back(sum_row(row, tmp, n_features, out.cols, out.vals));
        }
      });
    }
  }
  err.rethrow();
  Csr m;
  m.indptr.assign(docs.size() + 1, 0);
  std::vector<size_t> start(parts.size() + 1, 0);
  size_t r = 0;
  for (size_t c = 0; c < parts.size(); ++c) {
    start[c] = r;
    for (uint32_t k : parts[c].row_nnz) {
      m.indptr[r + 1] = m.indptr[r] + k;
      ++r;
    }
  }
  m.indices = Buffer<int32_t>(static_cast<size_t>(m.indptr[docs.size()]));
  m.data = Buffer<int64_t>(m.indices.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
  for (long c = 0; c < n_chunks; ++c) {
    const Part& p = parts[static_cast<size_t>(c)];
    const size_t dst = static_cast<size_t>(m.indptr[start[static_cast<size_t>(c)]]);
    std::copy(p.cols.begin(), p.cols.end(), m.indices.data() + dst);
    std::copy(p.vals.begin(), p.vals.end(), m.data.data() + dst);
  }
  return m;
}

// ------------------------------------------------------------------ encode
IdDocs encode_docs(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                   const StringIdMap& vocab, int num_threads) {
  int threads = resolve_threads(num_threads, total_bytes(docs));
  if (static_cast<size_t>(threads) > docs.size()) threads = docs.empty() ? 1 : static_cast<int>(docs.size());
  auto bounds = split_by_bytes(docs, threads);
  std::vector<IdDocs> parts(threads);
  FirstError err;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
  for (int t = 0; t < threads; ++t) {
    err.run([&] {
      Analyzer an(cfg);
      IdDocs& p = parts[t];
      p.doc_end.reserve(bounds[t + 1] - bounds[t]);
      size_t cur = bounds[t];
      analyze_range(an, docs, bounds[t], bounds[t + 1], 0, [&](size_t d, std::string_view s) {
        for (; cur < d; ++cur) p.doc_end.push_back(static_cast<int64_t>(p.ids.size()));
        const int32_t id = vocab.find(s);
        if (id >= 0) p.ids.push_back(id);
      });
      for (; cur < bounds[t + 1]; ++cur) p.doc_end.push_back(static_cast<int64_t>(p.ids.size()));
    });
  }
  err.rethrow();
  if (threads == 1) return std::move(parts[0]);
  IdDocs out;
  size_t n_ids = 0;
  for (auto& p : parts) n_ids += p.ids.size();
  out.ids.reserve(n_ids);
  out.doc_end.reserve(docs.size());
  for (auto& p : parts) {
    const int64_t base = static_cast<int64_t>(out.ids.size());
    out.ids.insert(out.ids.end(), p.ids.begin(), p.ids.end());
    for (auto e : p.doc_end) out.doc_end.push_back(e + base);
  }
  return out;
}

// ------------------------------------------------------------------ partial vocabularies
size_t merge_sorted_terms(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                          int64_t* take, int64_t* pos_a, int64_t* pos_b) {
  size_t i = 0, j = 0, k = 0;
  while (i < a.size() || j < b.size()) {
    // string_view compares bytes as unsigned char: UTF-8 byte order is code point order
    const int c = i == a.size() ? 1 : j == b.size() ? -1 : a[i].compare(b[j]);
    if (c <= 0) {
      pos_a[i] = static_cast<int64_t>(k);
      if (c == 0) pos_b[j++] = static_cast<int64_t>(k);
      take[k++] = static_cast<int64_t>(i++);
    } else {
      pos_b[j] = static_cast<int64_t>(k);
      take[k++] = -static_cast<int64_t>(j++) - 1;
    }
  }
  return k;
}

void sorted_positions(const std::vector<std::string_view>& sorted, const std::vector<std::string_view>& queries,
                      int64_t* out) {
  size_t i = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    while (i < sorted.size() && sorted[i] < queries[q]) ++i;
    out[q] = (i < sorted.size() && sorted[i] == queries[q]) ? static_cast<int64_t>(i) : -1;
  }
}

void csr_remap_columns(const int64_t* indptr, const int32_t* indices, size_t n_rows, const int64_t* new_col,
                       int64_t* new_indptr, std::vector<int32_t>& keep_col, std::vector<int64_t>& keep_at) {
  keep_col.clear();
  keep_at.clear();
  new_indptr[0] = 0;
  for (size_t r = 0; r < n_rows; ++r) {
    for (int64_t k = indptr[r]; k < indptr[r + 1]; ++k) {
      const int64_t c = new_col[indices[k]];
      if (c < 0) continue;
      keep_col.push_back(static_cast<int32_t>(c));
      keep_at.push_back(k);
    }
    new_indptr[r + 1] = static_cast<int64_t>(keep_col.size());
  }
}

}  // namespace pfn
