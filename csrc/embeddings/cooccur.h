// Word-word co-occurrence counting with the semantics of the reference GloVe `cooccur`
// tool: a document (line) bounds the window, out-of-vocabulary words are removed before
// windowing, a pair at distance d adds 1/d (or 1), the window looks `window` words left,
// and symmetric counting adds each pair in both directions.
//
// Memory is bounded. Pairs of frequent words (small frequency rank) go to a dense block
// per thread, row = the centre word, column = its left neighbour, over the region
// (row + 1)(col + 1) <= P (the reference keeps the same region). The other pairs are
// appended, unsorted, to one of 256 hash partitions in fixed-size blocks of records (8
// bytes for vocabularies up to 2^20 words, 12 above: the partition implies the key's
// low 8 bits, so the rest of it fits 32 bits up to there). Blocks come from a pool per
// thread, in chunks of 2 MiB huge pages, and the memory limit counts the chunks. When a
// new chunk would pass the limit a thread first sorts and sums its partitions in place
// (repeated pairs collapse, and the blocks left over are reused); when that frees too
// little, it spills its full blocks to a temporary file that is unlinked as soon as it is
// created. The merge sorts and sums each partition on its own (they fit in cache), in
// parallel.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/buffer.h"
#include "common/rank_lookup.h"
#include "common/string_map.h"
#include "text/analyzer.h"

namespace pfn {

struct CooccurConfig {
  int window = 10;
  bool symmetric = true;
  bool distance_weighting = true;
  uint64_t memory_limit = uint64_t(4) << 30;  // bytes for dense and sparse blocks
  std::string tmp_dir = "/tmp";
  int threads = 1;
  uint64_t dense_bytes = 0;  // per-thread dense block; 0 = automatic
};

struct CooccurStats {
  uint64_t documents = 0, tokens = 0;  // tokens kept (in vocabulary)
  uint64_t sparse_updates = 0;  // pair updates outside the dense blocks
  uint64_t compactions = 0, spills = 0, spilled_bytes = 0;
  uint64_t peak_bytes = 0;  // the counter's own high-water mark (dense blocks + sparse blocks)
};

// Receives the merged entries, in no particular order: (row id, column id, value). For
// symmetric counts each unordered pair comes once (with both directions' value); the
// sink mirrors it.
class CooccurSink {
 public:
  virtual ~CooccurSink() = default;
  virtual void add(int32_t row, int32_t col, double value) = 0;
};

// Writes the reference tool's binary records: int32 row + 1, int32 col + 1, float64 value
// (mirroring symmetric counts). close() reports write errors.
class GloveRecordFileSink : public CooccurSink {
 public:
  GloveRecordFileSink(const std::string& path, bool mirror);
  ~GloveRecordFileSink() override;
  void add(int32_t row, int32_t col, double value) override;
  void close();
  uint64_t records() const { return records_; }

 private:
  void put(int32_t row, int32_t col, double value);
  void drain();
  std::string path_;
  std::FILE* f_ = nullptr;
  bool mirror_;
  std::vector<char> buf_;
  uint64_t records_ = 0;
};

// The whole matrix as COO arrays.
struct CooMatrix {
  Buffer<int32_t> row, col;
  Buffer<float> val;
  size_t n = 0;
};

// One row shard of a merged matrix: the rows r with r % n_shards == index, numbered r / n_shards,
// as CSR with float64 values (the merge's own sums, so shards counted on several corpora add up
// without a float32 rounding in between). Columns within a row are in no particular order.
struct CsrShard {
  int64_t rows = 0;
  Buffer<int64_t> indptr;
  Buffer<int32_t> indices;
  Buffer<double> data;
};

class CooccurCounter;

// Merges everything `counter` counted (mirrored when symmetric) into `n_shards` row shards, on
// `workers` threads. The counter is spent afterwards.
std::vector<CsrShard> merge_csr_shards(CooccurCounter& counter, int n_shards, int workers,
                                       const std::function<void()>& poll = {});

class CooccurCounter {
 public:
  // rank_of_id: a permutation of 0..V-1, small ranks for frequent words.
  CooccurCounter(std::vector<int32_t> rank_of_id, const CooccurConfig& cfg);
  ~CooccurCounter();
  CooccurCounter(const CooccurCounter&) = delete;
  CooccurCounter& operator=(const CooccurCounter&) = delete;

  // Documents of vocabulary ids: document d is ids[doc_end[d-1], doc_end[d]); ids < 0
  // (out of vocabulary) are removed. Ids must be < V (checked by the caller).
  void add_ids(const int32_t* ids, const int64_t* doc_end, size_t n_docs);
  // Documents of text, tokenized with `an` and looked up in `vocab` (id i = vocab id i).
  // Throws DocumentError(first_doc + d) for invalid UTF-8.
  void add_texts(const AnalyzerConfig& an, const StringIdMap& vocab,
                 const std::vector<std::string_view>& docs, uint64_t first_doc);
  // Merges everything, one sink per merging thread; `poll` is called now and then from
  // the calling thread (it may throw to cancel). The counter is spent afterwards.
  void merge(const std::vector<CooccurSink*>& sinks, const std::function<void()>& poll = {});
  // The same, straight into COO arrays (mirrored when symmetric), on `workers` threads.
  CooMatrix merge_coo(int workers, const std::function<void()>& poll = {});

  const CooccurStats& stats() const { return stats_; }
  int32_t vocab_size() const { return static_cast<int32_t>(id_of_rank_.size()); }
  bool symmetric() const { return cfg_.symmetric; }

 private:
  struct Shard;
  template <class R>
  void count_doc(Shard& sh, const int32_t* r, size_t n);
  void finish_counting();
  template <class R>
  size_t gather_partition(int p, std::vector<R>& a, std::vector<R>& tmp,
                          std::vector<char*>* blocks = nullptr);
  template <class R, class F>
  void merge_partition(int p, std::vector<R>& a, std::vector<R>& tmp, F&& f);
  template <class F>
  void dense_rows(int32_t r0, int32_t r1, F&& f) const;
  std::vector<int32_t> dense_chunks(int chunks) const;
  void block_full(Shard& sh, int part);
  bool reserve_chunk();
  template <class R>
  std::pair<uint64_t, uint64_t> compact(Shard& sh);
  void spill(Shard& sh);
  void note_peak();
  const RankLookup* lookup_for(const StringIdMap& vocab);

  CooccurConfig cfg_;
  std::vector<int32_t> rank_of_id_, id_of_rank_;
  std::vector<double> weight_;  // weight_[d] for distance d
  // Dense region: row b < rows_ has columns x < lim_[b]; cell index off_[b] + x.
  int32_t rows_ = 0;
  std::vector<int32_t> lim_;
  std::vector<int64_t> off_;
  uint64_t cells_ = 0;
  int key_shift_ = 0;  // sparse key = (uint64(row rank) << key_shift_) | column rank
  int stored_bits_ = 0;  // key bits a record stores (the partition implies the rest)
  bool narrow_ = true;   // 8-byte records (stored_bits_ <= 32), else 12-byte
  size_t rec_bytes_ = 8;
  std::vector<std::unique_ptr<Shard>> shards_;
  uint64_t dense_total_ = 0;              // bytes of all dense blocks
  size_t chunk_blocks_ = 0, chunk_bytes_ = 0;  // sparse blocks come in chunks of this size
  std::atomic<uint64_t> sparse_bytes_{0};  // bytes of sparse block chunks, all shards
  CooccurStats stats_;
  std::mutex mu_;  // guards stats_ while threads spill
  // add_texts' word -> rank map, built from the vocabulary of the first call and kept while
  // later calls pass the same one (a StringIdMap only grows, so same object and size
  // means same words).
  std::unique_ptr<RankLookup> lookup_;
  const StringIdMap* lookup_vocab_ = nullptr;
  size_t lookup_size_ = 0;
};

}  // namespace pfn
