// Counting kernels: tokens per document, term totals (vocabulary), document-term
// matrices (bag-of-words). Parallel over documents; each thread owns its shard.
#pragma once
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"
#include "text/analyzer.h"

namespace pfn {

// Tokens of many documents, flattened: document d has tokens
// [doc_end[d-1], doc_end[d]) and token t is chars[tok_end[t-1], tok_end[t]).
struct TokenLists {
  std::string chars;
  std::vector<uint64_t> tok_end;
  std::vector<uint64_t> doc_end;
};
TokenLists tokenize_many(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                         int num_threads);

// Term totals over documents, terms in first-seen order per shard (not sorted).
struct TermCounts {
  std::vector<std::string> terms;
  std::vector<int64_t> counts;
  std::vector<int64_t> doc_freq;
};

// Accumulates term counts over several batches (a streamed file is many batches).
class TermCounter {
 public:
  TermCounter(const AnalyzerConfig& cfg, int num_threads);
  void add(const std::vector<std::string_view>& docs);
  void add_tokens(const std::vector<std::string_view>& tokens);  // pre-tokenized: one term each
  TermCounts result() const;
  size_t documents() const { return docs_; }

 private:
  struct Stat {
    int64_t count, df;
    uint64_t last_doc;  // document (+1) that last counted toward df
  };
  struct Shard {
    StringIdMap map;
    std::vector<Stat> stat;
  };
  void bump(Shard& sh, std::string_view term, uint64_t doc_mark);
  AnalyzerConfig cfg_;
  int threads_;
  size_t docs_ = 0;
  std::vector<Shard> shards_;
};

struct LineTooLong : std::length_error {
  LineTooLong(const std::string& path, uint64_t line, size_t max)
      : std::length_error(path + ", line " + std::to_string(line) + ": longer than max_line_bytes=" +
                          std::to_string(max) + " (a file with no newlines, such as /dev/zero or a minified " +
                          "file, is not a corpus of lines)") {}
};

// Streams a text file in chunks of whole lines; a line is a document.
class LineReader {
 public:
  // A line longer than max_line_bytes (a file with no newline: /dev/zero, a minified file) is a
  // LineTooLong error instead of a buffer that grows until memory runs out.
  explicit LineReader(const std::string& path, size_t chunk_bytes = size_t(1) << 24,
                      size_t max_line_bytes = size_t(1) << 30);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;
  // Next chunk's lines (views into an internal buffer valid until the next call).
  bool next(std::vector<std::string_view>& lines);
  uint64_t bytes_done() const { return done_; }
  uint64_t total_bytes() const { return total_; }
  uint64_t first_line() const { return first_line_; }  // 0-based number of lines()[0]

 private:
  void reserve(size_t bytes);
  std::string path_;
  std::FILE* f_ = nullptr;
  // [0, len_) holds the current chunk and then the partial line carried to the next;
  // one buffer, reused and never zero-filled (the file's bytes are copied in once).
  Buffer<char> buf_;
  size_t len_ = 0, end_ = 0;  // end_: where the current chunk's last whole line ends
  size_t chunk_, max_line_;
  uint64_t done_ = 0, total_ = 0, first_line_ = 0, next_line_ = 0;
};

// Compressed sparse rows with int64 counts.
struct Csr {
  std::vector<int64_t> indptr;
  Buffer<int32_t> indices;
  Buffer<int64_t> data;
};

// Bag-of-words fit: terms sorted by code point (as Python sorts str) and the
// document-term matrix with columns in that order and sorted indices per row.
struct DocTerm {
  std::vector<std::string> terms;
  Csr matrix;
};
DocTerm doc_term_fit(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                     int num_threads);

// Bag-of-words transform with a fixed vocabulary: term id i of `vocab` is column col[i].
Csr doc_term_transform(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                       const StringIdMap& vocab, const std::vector<int32_t>& col, int num_threads);

// Two lists of distinct terms, each sorted by code point (UTF-8 byte order), merged into one:
// merged term k is a[take[k]] when take[k] >= 0, else b[-take[k] - 1]; a[i] is merged term
// pos_a[i] and b[j] is pos_b[j]. Linear time: partial vocabularies of a corpus add up this way.
size_t merge_sorted_terms(const std::vector<std::string_view>& a, const std::vector<std::string_view>& b,
                          int64_t* take, int64_t* pos_a, int64_t* pos_b);

// For each term of `queries` (distinct, sorted), its index in `sorted` (distinct, sorted) or -1.
void sorted_positions(const std::vector<std::string_view>& sorted, const std::vector<std::string_view>& queries,
                      int64_t* out);

// A CSR matrix's columns renumbered: column c becomes new_col[c], or is dropped when
// new_col[c] < 0. Writes the new row starts (n_rows + 1) and returns the kept entries'
// (column, position in the input) through `keep_col` / `keep_at`. Rows keep their order, so
// rows sorted before stay sorted when new_col is increasing.
void csr_remap_columns(const int64_t* indptr, const int32_t* indices, size_t n_rows, const int64_t* new_col,
                       int64_t* new_indptr, std::vector<int32_t>& keep_col, std::vector<int64_t>& keep_at);

// MurmurHash3_x86_32 of `key` (Austin Appleby's public-domain algorithm), as scikit-learn's
// murmurhash3_32 computes it.
uint32_t murmur3_32(std::string_view key, uint32_t seed);

// Feature hashing, as scikit-learn's HashingVectorizer / FeatureHasher: term t adds sign(h)
// (or 1 without alternate_sign) to column |h| mod n_features, h = murmur3_32(t, 0) read as
// int32. Rows hold their columns sorted and summed (scipy's sum_duplicates: a sum of 0 stays stored).
Csr hash_docs(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
              int64_t n_features, bool alternate_sign, int num_threads);
// The same for documents already analyzed: document d's terms are terms[doc_end[d-1], doc_end[d]).
Csr hash_terms(const std::vector<std::string_view>& terms, const std::vector<uint64_t>& doc_end,
               int64_t n_features, bool alternate_sign);

// Documents as vocabulary ids (terms the vocabulary lacks are dropped, as the reference GloVe
// and word2vec tools do): document d's ids are ids[doc_end[d-1], doc_end[d]).
struct IdDocs {
  std::vector<int32_t> ids;
  std::vector<int64_t> doc_end;
};
IdDocs encode_docs(const AnalyzerConfig& cfg, const std::vector<std::string_view>& docs,
                   const StringIdMap& vocab, int num_threads);

}  // namespace pfn
