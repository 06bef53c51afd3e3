#include "embeddings/cooccur.h"

#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <type_traits>

#include "common/file_error.h"
#include "common/buffer.h"
#include "common/parallel.h"

namespace pfn {

namespace {

// A sparse pair's record: its key (row rank << shift | column rank) without the low
// kPartBits, which the partition holding the record implies, and a partial sum. The
// key fits 32 bits for vocabularies up to 2^20 words: 8-byte records, a third less
// memory traffic than 12-byte ones in counting, spilling and merging.
#pragma pack(push, 4)
template <class K>
struct PairRecord {
  K key;
  float val;
};
#pragma pack(pop)
using Rec32 = PairRecord<uint32_t>;
using Rec64 = PairRecord<uint64_t>;
static_assert(sizeof(Rec32) == 8 && sizeof(Rec64) == 12, "records must be packed");

constexpr int kPartBits = 8;  // sparse pairs are split by the column's low bits
constexpr int kParts = 1 << kPartBits;
constexpr size_t kBlock = 2048;  // records per block (16 or 24 KiB)

inline int part_of(uint64_t key) { return static_cast<int>(key & (kParts - 1)); }

// LSD radix sort of a (cache-sized) partition on its `bits` key bits, then sums equal
// keys; returns the number of distinct keys left at the front of `a`.
template <class R>
size_t sort_and_combine(R* a, R* tmp, size_t n, int bits) {
  constexpr int kDigit = 12;  // two passes for vocabularies up to 65536 words
  constexpr size_t kBuckets = size_t(1) << kDigit;
  const int passes = std::max(0, (bits + kDigit - 1) / kDigit);
  std::vector<size_t> hist(static_cast<size_t>(passes) * kBuckets, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = a[i].key;
    for (int p = 0; p < passes; ++p) ++hist[p * kBuckets + ((k >> (p * kDigit)) & (kBuckets - 1))];
  }
  R* src = a;
  R* dst = tmp;
  for (int p = 0; p < passes; ++p) {
    size_t* h = &hist[p * kBuckets];
    size_t sum = 0;
    bool trivial = false;
    for (size_t b = 0; b < kBuckets; ++b) {
      if (h[b] == n) trivial = true;  // every key has the same digit: nothing to do
      size_t c = h[b];
      h[b] = sum;
      sum += c;
    }
    if (trivial) continue;
    const int shift = p * kDigit;
    for (size_t i = 0; i < n; ++i) dst[h[(src[i].key >> shift) & (kBuckets - 1)]++] = src[i];
    std::swap(src, dst);
  }
  // Runs of equal keys are summed in double (a frequent pair has millions of float
  // records: a float running sum drifted by parts per million). src may be tmp:
  // combining copies back into a (m <= i, so a read is never overwritten first).
  size_t m = 0;
  for (size_t i = 0; i < n;) {
    const auto key = src[i].key;
    double sum = src[i].val;
    for (++i; i < n && src[i].key == key; ++i) sum += src[i].val;
    a[m].key = key;
    a[m++].val = static_cast<float>(sum);
  }
  return m;
}

void write_all(int fd, const void* p, size_t bytes, uint64_t offset, const std::string& dir) {
  const char* c = static_cast<const char*>(p);
  while (bytes) {
    ssize_t w = ::pwrite(fd, c, bytes, static_cast<off_t>(offset));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw FileError("spilling co-occurrence counts failed in", dir);
    }
    if (w == 0) throw FileError("spilling co-occurrence counts failed in", dir, ENOSPC);
    c += w;
    bytes -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

void read_all(int fd, void* p, size_t bytes, uint64_t offset) {
  char* c = static_cast<char*>(p);
  while (bytes) {
    ssize_t r = ::pread(fd, c, bytes, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) throw FileError("reading spilled co-occurrence counts failed in", "the spill folder", r < 0 ? errno : 0);
    c += r;
    bytes -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

}  // namespace

// A thread's sparse record blocks, carved from chunks of 2 MiB huge pages (6 MiB for
// 24 KiB blocks) and reused through a free list. Taken one malloc'ed block at a
// time they cost a page fault every 4 KiB (about 40,000 per count of 20 Newsgroups), and
// memory touched for the first time is slow on a VM. Chunks are only released with the
// pool: the memory limit counts them, so blocks freed by compaction or spilling stay
// resident for reuse without taking the count past the limit.
class BlockPool {
 public:
  BlockPool(size_t block_bytes, size_t chunk_blocks) : block_(block_bytes), per_chunk_(chunk_blocks) {}
  size_t chunk_bytes() const { return block_ * per_chunk_; }
  bool empty() const { return free_.empty(); }
  // A free block; adds a chunk (chunk_bytes(), which the caller accounts for) when none is.
  char* get() {
    if (free_.empty()) {
      chunks_.emplace_back(static_cast<char*>(alloc_huge(chunk_bytes())));
      free_.reserve(chunks_.size() * per_chunk_);  // so put() never allocates
      for (size_t i = per_chunk_; i-- > 0;) free_.push_back(chunks_.back().get() + i * block_);
    }
    char* b = free_.back();
    free_.pop_back();
    return b;
  }
  void put(char* b) { free_.push_back(b); }

 private:
  struct Free {
    void operator()(char* p) const { free_large(p); }
  };
  size_t block_, per_chunk_;
  std::vector<std::unique_ptr<char, Free>> chunks_;
  std::vector<char*> free_;
};

struct CooccurCounter::Shard {
  AlignedVector<double> dense;  // (huge pages: first touch costs a fault per 2 MiB, not 4 KiB)
  // Sparse partitions, as raw bytes of records (8 or 12 bytes each): the block being
  // filled, full blocks in memory, extents on disk. After a compaction a partition's
  // summed records fill its first full blocks and the start of `cur`.
  char* cur[kParts];
  uint32_t fill[kParts];
  uint32_t counted[kParts];  // records at the start of cur already in `sparse`
  std::vector<char*> full[kParts];
  std::vector<std::pair<uint64_t, uint64_t>> disk[kParts];  // (offset, records)
  BlockPool pool;  // owns every block above
  int fd = -1;  // spill file, unlinked as soon as it is created
  uint64_t file_end = 0;
  std::vector<int32_t> ranks;  // scratch: the current document
  uint64_t docs = 0, tokens = 0, sparse = 0;
  Shard(size_t block_bytes, size_t chunk_blocks) : pool(block_bytes, chunk_blocks) {
    for (int p = 0; p < kParts; ++p) {
      cur[p] = pool.get();
      fill[p] = counted[p] = 0;
    }
  }
  ~Shard() {
    if (fd >= 0) ::close(fd);
  }
};

CooccurCounter::CooccurCounter(std::vector<int32_t> rank_of_id, const CooccurConfig& cfg)
    : cfg_(cfg), rank_of_id_(std::move(rank_of_id)) {
  const int64_t V = static_cast<int64_t>(rank_of_id_.size());
  if (cfg_.window < 1) throw std::invalid_argument("window must be >= 1");
  if (V < 1) throw std::invalid_argument("the vocabulary is empty");
  id_of_rank_.assign(V, -1);
  for (int64_t i = 0; i < V; ++i) {
    int32_t r = rank_of_id_[i];
    if (r < 0 || r >= V || id_of_rank_[r] != -1) throw std::invalid_argument("rank_of_id is not a permutation");
    id_of_rank_[r] = static_cast<int32_t>(i);
  }
  weight_.resize(static_cast<size_t>(cfg_.window) + 1);
  for (int d = 1; d <= cfg_.window; ++d) weight_[d] = cfg_.distance_weighting ? 1.0 / d : 1.0;
  key_shift_ = kPartBits;
  while ((int64_t(1) << key_shift_) < V) ++key_shift_;
  stored_bits_ = 2 * key_shift_ - kPartBits;
  narrow_ = stored_bits_ <= 32;
  rec_bytes_ = narrow_ ? sizeof(Rec32) : sizeof(Rec64);

  const int T = std::max(1, cfg_.threads);
  // Whole 2 MiB pages of whole blocks: 128 blocks of 16 KiB, or 256 of 24 KiB.
  chunk_blocks_ = narrow_ ? 128 : 256;
  chunk_bytes_ = chunk_blocks_ * kBlock * rec_bytes_;
  const uint64_t sparse_min = uint64_t(T) * kParts * kBlock * rec_bytes_;  // blocks being filled
  if (cfg_.memory_limit < sparse_min + (uint64_t(1) << 20))
    throw std::invalid_argument("memory_limit is too small: at least " +
                                std::to_string((sparse_min >> 20) + 1) + " MB for " +
                                std::to_string(T) + " thread(s)");
  // Dense block per thread: 16 MiB by default (two of them stay mostly in a server's L3
  // cache), never more than a quarter of the memory limit, nor than half of what the
  // sparse blocks leave of it (with many threads and a small limit, the first blocks
  // alone would otherwise pass the limit).
  uint64_t dense_bytes = cfg_.dense_bytes ? cfg_.dense_bytes : (uint64_t(16) << 20);
  dense_bytes = std::min<uint64_t>({dense_bytes, cfg_.memory_limit / (4 * T),
                                    (cfg_.memory_limit - sparse_min) / (2 * T)});
  const uint64_t budget = dense_bytes / sizeof(double);
  // Row b holds the left neighbours x < lim_[b] = P / (b + 1) of centre word b: the
  // region (b + 1)(x + 1) <= P, symmetric in b and x.
  auto cells_for = [&](uint64_t P) {
    uint64_t c = 0;
    for (int64_t a = 0; a < V; ++a) {
      uint64_t lim = std::min<uint64_t>(V, P / uint64_t(a + 1));
      if (lim == 0) break;
      c += lim;
    }
    return c;
  };
  uint64_t lo = 0, hi = uint64_t(V) * uint64_t(V);  // largest P with cells_for(P) <= budget
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo + 1) / 2;
    if (cells_for(mid) <= budget) lo = mid;
    else hi = mid - 1;
  }
  const uint64_t P = lo;
  for (int64_t a = 0; a < V; ++a) {
    int64_t lim = static_cast<int64_t>(std::min<uint64_t>(V, P / uint64_t(a + 1)));
    if (lim == 0) break;
    lim_.push_back(static_cast<int32_t>(lim));
    off_.push_back(static_cast<int64_t>(cells_));
    cells_ += static_cast<uint64_t>(lim);
  }
  rows_ = static_cast<int32_t>(lim_.size());
  for (int t = 0; t < T; ++t) {
    auto sh = std::make_unique<Shard>(kBlock * rec_bytes_, chunk_blocks_);
    sh->dense.assign(cells_ + 1, 0.0);  // + a spare cell for rows with no dense part
    shards_.push_back(std::move(sh));
  }
  dense_total_ = uint64_t(T) * (cells_ + 1) * sizeof(double);
  sparse_bytes_ = sparse_min;
  note_peak();
}

CooccurCounter::~CooccurCounter() = default;

void CooccurCounter::note_peak() {
  uint64_t m = dense_total_ + sparse_bytes_.load();
  std::lock_guard<std::mutex> lock(mu_);
  if (m > stats_.peak_bytes) stats_.peak_bytes = m;
}

template <class R>
void CooccurCounter::count_doc(Shard& sh, const int32_t* r, size_t n) {
  const size_t W = static_cast<size_t>(cfg_.window);
  const bool sym = cfg_.symmetric;
  const int shift = key_shift_;
  const double* weight = weight_.data();
  // Dense cells a few tokens ahead are prefetched: the misses on the rarer words' rows
  // then overlap with this token's work.
  constexpr size_t kAhead = 4;
  for (size_t j = 1; j < n; ++j) {
    const int32_t b = r[j];
    if (j + kAhead < n) {
      const size_t ja = j + kAhead;
      const int32_t ba = r[ja];
      if (ba < rows_) {
        const double* row_a = sh.dense.data() + off_[ba];
        const int32_t lim_a = lim_[ba];
        const size_t kmax_a = std::min(W, ja);
        for (size_t k = 1; k <= kmax_a; ++k) {
          const int32_t x = r[ja - k];
          if (x < lim_a) __builtin_prefetch(row_a + x, 1);
        }
      }
    }
    const size_t kmax = std::min(W, j);
    const int32_t* left = r + j;  // left[-k]: the word k places to the left
    // All of a token's dense updates land in its row; frequent neighbours in its first
    // cache lines. Rows past rows_ have no dense cells: lim 0, and `row` is the spare cell.
    const bool has_row = b < rows_;
    double* row = sh.dense.data() + (has_row ? off_[b] : static_cast<int64_t>(cells_));
    const int32_t lim = has_row ? lim_[b] : 0;
    for (size_t k = 1; k <= kmax; ++k) {
      const int32_t x = left[-static_cast<long>(k)];
      const double w = weight[k];
      if (x < lim) {
        row[x] += w;
      } else {  // keyed (left, right), or (smaller, larger) rank when symmetric
        const int32_t lo = sym ? std::min(x, b) : x, hi = sym ? std::max(x, b) : b;
        const uint64_t key = (uint64_t(lo) << shift) | uint64_t(hi);
        const int p = part_of(key);
        R& rec = reinterpret_cast<R*>(sh.cur[p])[sh.fill[p]];
        rec.key = static_cast<decltype(rec.key)>(key >> kPartBits);
        rec.val = static_cast<float>(w);
        if (++sh.fill[p] == kBlock) block_full(sh, p);
      }
    }
  }
}

void CooccurCounter::block_full(Shard& sh, int p) {
  sh.full[p].push_back(sh.cur[p]);
  sh.cur[p] = nullptr;
  sh.sparse += kBlock - sh.counted[p];
  sh.counted[p] = 0;
  // A block from the free list costs nothing. A new chunk must fit under the limit: if it
  // does not, sum repeated pairs in memory first, and spill to disk when that frees too
  // little (or no whole block).
  if (sh.pool.empty() && !reserve_chunk()) {
    try {
      const std::pair<uint64_t, uint64_t> shrunk = narrow_ ? compact<Rec32>(sh) : compact<Rec64>(sh);
      const auto stuck = [&] { return !sh.cur[p] && sh.pool.empty(); };
      if (shrunk.second * 4 > shrunk.first * 3 || stuck()) spill(sh);
      if (stuck()) {  // (cannot happen: spilling frees every full block, p's included)
        sparse_bytes_ += chunk_bytes_;
        note_peak();
      }
    } catch (...) {  // (a full disk, say): the shard stays consistent for a caller that goes on
      if (!sh.cur[p]) {
        sh.cur[p] = sh.pool.get();
        sh.fill[p] = 0;
      }
      throw;
    }
  }
  if (!sh.cur[p]) {  // (compaction may have given p a block for its remaining records)
    sh.cur[p] = sh.pool.get();
    sh.fill[p] = 0;
  }
}

// Accounts for one more chunk if it fits under the memory limit (with the other threads'
// chunks, which they reserve the same way).
bool CooccurCounter::reserve_chunk() {
  uint64_t cur = sparse_bytes_.load();
  do {
    if (dense_total_ + cur + chunk_bytes_ > cfg_.memory_limit) return false;
  } while (!sparse_bytes_.compare_exchange_weak(cur, cur + chunk_bytes_));
  note_peak();
  return true;
}

// Sorts and sums each partition's records in memory (full blocks and the block being
// filled) and writes them back into the partition's first blocks; the blocks left over
// go to the free list. Returns the number of records (before, after).
template <class R>
std::pair<uint64_t, uint64_t> CooccurCounter::compact(Shard& sh) {
  std::vector<R> a, tmp;
  uint64_t before = 0, after = 0;
  for (int p = 0; p < kParts; ++p) {
    std::vector<char*>& blocks = sh.full[p];
    const size_t fill = sh.cur[p] ? sh.fill[p] : 0;
    if (blocks.empty()) {
      before += fill;
      after += fill;
      continue;
    }
    const size_t n = blocks.size() * kBlock + fill;
    a.resize(n);
    tmp.resize(n);
    for (size_t i = 0; i < blocks.size(); ++i) std::memcpy(a.data() + i * kBlock, blocks[i], kBlock * sizeof(R));
    if (fill) std::memcpy(a.data() + blocks.size() * kBlock, sh.cur[p], fill * sizeof(R));
    const size_t m = sort_and_combine(a.data(), tmp.data(), n, stored_bits_);
    const bool had_cur = sh.cur[p] != nullptr;
    if (had_cur) {
      sh.sparse += fill - sh.counted[p];
      blocks.push_back(sh.cur[p]);
      sh.cur[p] = nullptr;
    }
    // m <= n, so the blocks hold the result: m / kBlock full ones, then the rest in the
    // next block, which becomes the one being filled (there is one: fill < kBlock; and
    // when the partition had none, block_full's, m < n unless the rest is empty).
    const size_t nb = m / kBlock, rest = m % kBlock;
    for (size_t i = 0; i < nb; ++i) std::memcpy(blocks[i], a.data() + i * kBlock, kBlock * sizeof(R));
    size_t keep = nb;
    if (rest || had_cur) {
      std::memcpy(blocks[nb], a.data() + nb * kBlock, rest * sizeof(R));
      sh.cur[p] = blocks[nb];
      sh.fill[p] = static_cast<uint32_t>(rest);
      sh.counted[p] = static_cast<uint32_t>(rest);
      keep = nb + 1;
    }
    for (size_t i = keep; i < blocks.size(); ++i) sh.pool.put(blocks[i]);
    blocks.resize(nb);
    before += n;
    after += m;
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.compactions;
  return {before, after};
}

// Writes this shard's full blocks to its temporary file, partition by partition, and
// frees them (the blocks being filled stay).
void CooccurCounter::spill(Shard& sh) {
  if (sh.fd < 0) {
    std::string tmpl = cfg_.tmp_dir + "/pyfast_nlp-cooccur-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0)
      throw FileError("cannot create a temporary file in", cfg_.tmp_dir);
    ::unlink(name.data());  // nothing is left behind, whatever happens next
    sh.fd = fd;
  }
  uint64_t written = 0;
  for (int p = 0; p < kParts; ++p) {
    if (sh.full[p].empty()) continue;
    const uint64_t start = sh.file_end;
    for (char* blk : sh.full[p]) {
      write_all(sh.fd, blk, kBlock * rec_bytes_, sh.file_end, cfg_.tmp_dir);
      sh.file_end += kBlock * rec_bytes_;
    }
    const uint64_t records = (sh.file_end - start) / rec_bytes_;
    sh.disk[p].emplace_back(start, records);
    written += records * rec_bytes_;
    for (char* blk : sh.full[p]) sh.pool.put(blk);
    sh.full[p].clear();
  }
  std::lock_guard<std::mutex> lock(mu_);
  stats_.spilled_bytes += written;
  ++stats_.spills;
}

void CooccurCounter::add_ids(const int32_t* ids, const int64_t* doc_end, size_t n_docs) {
  const int T = static_cast<int>(shards_.size());
  const uint64_t total = n_docs ? static_cast<uint64_t>(doc_end[n_docs - 1]) : 0;
  FirstError err;
#pragma omp parallel num_threads(total > 100000 ? T : 1)
  {
    Shard& sh = *shards_[thread_id()];
#pragma omp for schedule(dynamic, 16)
    for (long d = 0; d < static_cast<long>(n_docs); ++d) {
      err.run([&] {
        int64_t b = d ? doc_end[d - 1] : 0, e = doc_end[d];
        sh.ranks.clear();
        for (int64_t i = b; i < e; ++i)
          if (ids[i] >= 0) sh.ranks.push_back(rank_of_id_[ids[i]]);
        if (narrow_) count_doc<Rec32>(sh, sh.ranks.data(), sh.ranks.size());
        else count_doc<Rec64>(sh, sh.ranks.data(), sh.ranks.size());
        ++sh.docs;
        sh.tokens += sh.ranks.size();
      });
    }
  }
  err.rethrow();
  note_peak();
}

void CooccurCounter::add_texts(const AnalyzerConfig& acfg, const StringIdMap& vocab,
                               const std::vector<std::string_view>& docs, uint64_t first_doc) {
  const int T = static_cast<int>(shards_.size());
  size_t bytes = 0;
  for (auto d : docs) bytes += d.size();
  const RankLookup* lookup = lookup_for(vocab);
  FirstError err;
#pragma omp parallel num_threads(bytes > (1 << 18) ? T : 1)
  {
    Shard& sh = *shards_[thread_id()];
    Analyzer an(acfg);
#pragma omp for schedule(dynamic, 64)
    for (long d = 0; d < static_cast<long>(docs.size()); ++d) {
      err.run([&] {
        sh.ranks.clear();
        try {
          if (lookup) {
            an.analyze(docs[d], [&](std::string_view t) {
              const int32_t r = lookup->find(t);
              if (r >= 0) sh.ranks.push_back(r);
            });
          } else {
            an.analyze(docs[d], [&](std::string_view t) {
              const int32_t id = vocab.find(t);
              if (id >= 0) sh.ranks.push_back(rank_of_id_[id]);
            });
          }
        } catch (const Utf8Error& e) {
          throw DocumentError(first_doc + static_cast<uint64_t>(d), e);
        }
        if (narrow_) count_doc<Rec32>(sh, sh.ranks.data(), sh.ranks.size());
        else count_doc<Rec64>(sh, sh.ranks.data(), sh.ranks.size());
        ++sh.docs;
        sh.tokens += sh.ranks.size();
      });
    }
  }
  err.rethrow();
  note_peak();
}

// The vocabulary as a RankLookup (null past its size limit: then the StringIdMap and
// rank_of_id_ serve).
const RankLookup* CooccurCounter::lookup_for(const StringIdMap& vocab) {
  if (vocab.size() != id_of_rank_.size()) throw std::invalid_argument("the vocabulary does not match the counter's");
  if (!RankLookup::fits(vocab.size())) return nullptr;
  if (!lookup_ || lookup_vocab_ != &vocab || lookup_size_ != vocab.size()) {
    lookup_ = std::make_unique<RankLookup>(vocab, rank_of_id_.data());
    lookup_vocab_ = &vocab;
    lookup_size_ = vocab.size();
  }
  return lookup_.get();
}

void CooccurCounter::finish_counting() {
  const int T = static_cast<int>(shards_.size());
  for (auto& sh : shards_) {
    stats_.documents += sh->docs;
    stats_.tokens += sh->tokens;
    for (int p = 0; p < kParts; ++p)
      if (sh->cur[p]) sh->sparse += sh->fill[p] - sh->counted[p];
    stats_.sparse_updates += sh->sparse;
  }
  // Sum the dense blocks into the first.
  double* d0 = shards_[0]->dense.data();
  for (int t = 1; t < T; ++t) {
    const double* dt = shards_[t]->dense.data();
#pragma omp parallel for num_threads(T) schedule(static)
    for (long c = 0; c < static_cast<long>(cells_); ++c) d0[c] += dt[c];
    AlignedVector<double>().swap(shards_[t]->dense);
  }
}

// Gathers partition p from every shard (memory and disk) into `a`, sorts and sums it;
// returns the number of distinct pairs left at the front of `a`. The blocks it read are
// appended to `blocks` when given (the caller may reuse them), else left to the pools.
template <class R>
size_t CooccurCounter::gather_partition(int p, std::vector<R>& a, std::vector<R>& tmp,
                                        std::vector<char*>* blocks) {
  size_t n = 0;
  for (auto& sh : shards_) {
    n += sh->fill[p] + sh->full[p].size() * kBlock;
    for (auto& e : sh->disk[p]) n += e.second;
  }
  a.resize(n);
  tmp.resize(n);
  size_t k = 0;
  for (auto& sh : shards_) {
    for (auto& e : sh->disk[p]) {
      read_all(sh->fd, a.data() + k, e.second * sizeof(R), e.first);
      k += e.second;
    }
    for (char* blk : sh->full[p]) {
      std::memcpy(a.data() + k, blk, kBlock * sizeof(R));
      k += kBlock;
    }
    if (sh->fill[p]) std::memcpy(a.data() + k, sh->cur[p], sh->fill[p] * sizeof(R));
    // (Blocks go back to their pool only with the shard: partitions are merged in parallel.)
    if (blocks) {
      blocks->insert(blocks->end(), sh->full[p].begin(), sh->full[p].end());
      if (sh->cur[p]) blocks->push_back(sh->cur[p]);
      sh->cur[p] = nullptr;
    }
    std::vector<char*>().swap(sh->full[p]);
    k += sh->fill[p];
    sh->fill[p] = 0;
  }
  return sort_and_combine(a.data(), tmp.data(), n, stored_bits_);
}

// Calls f(row rank, column rank, value) for the distinct pairs of sparse partition p.
template <class R, class F>
void CooccurCounter::merge_partition(int p, std::vector<R>& a, std::vector<R>& tmp, F&& f) {
  const size_t m = gather_partition(p, a, tmp);
  const uint64_t mask = (uint64_t(1) << key_shift_) - 1;
  for (size_t i = 0; i < m; ++i) {
    const uint64_t key = (uint64_t(a[i].key) << kPartBits) | static_cast<uint64_t>(p);
    f(static_cast<int32_t>(key >> key_shift_), static_cast<int32_t>(key & mask), a[i].val);
  }
}

// Calls f(row rank, column rank, value) for the nonzero dense cells of rows [r0, r1):
// X[a][c] = D[c][a] (the block is indexed [centre][left]), plus D[a][c] when symmetric
// (the pair seen the other way round; then only c >= a).
// D[c][r] walks down a column of the block: the columns are taken 64 at a time, so the
// rows [r0, r1) of those 64 block rows stay in cache while they are read (one pass down
// whole columns missed the cache at every cell).
template <class F>
void CooccurCounter::dense_rows(int32_t r0, int32_t r1, F&& f) const {
  const bool sym = cfg_.symmetric;
  const double* d0 = shards_[0]->dense.data();
  constexpr int32_t kCols = 64;
  const int32_t widest = r0 < r1 ? lim_[r0] : 0;  // lim_ does not grow with the row
  for (int32_t cb = sym ? r0 : 0; cb < widest; cb += kCols) {
    for (int32_t r = r0; r < r1; ++r) {
      const int32_t c1 = std::min(cb + kCols, lim_[r]);
      if (c1 <= cb) break;  // this row and the following ones end before the block
      for (int32_t c = std::max(cb, sym ? r : 0); c < c1; ++c) {
        double v = d0[off_[c] + r];
        if (sym && c != r) v += d0[off_[r] + c];
        if (v != 0) f(r, c, v);
      }
    }
  }
}

// Row boundaries of `chunks` dense tasks with about the same number of cells each (the
// frequent words' rows are far longer than the rest).
std::vector<int32_t> CooccurCounter::dense_chunks(int chunks) const {
  std::vector<int32_t> b{0};
  const bool sym = cfg_.symmetric;
  uint64_t total = 0;
  for (int32_t r = 0; r < rows_; ++r) total += static_cast<uint64_t>(std::max(0, lim_[r] - (sym ? r : 0)));
  uint64_t acc = 0;
  for (int32_t r = 0; r < rows_; ++r) {
    acc += static_cast<uint64_t>(std::max(0, lim_[r] - (sym ? r : 0)));
    if (acc * static_cast<uint64_t>(chunks) >= total * b.size() && r + 1 < rows_) b.push_back(r + 1);
  }
  b.push_back(rows_);
  return b;
}

void CooccurCounter::merge(const std::vector<CooccurSink*>& sinks, const std::function<void()>& poll) {
  finish_counting();
  const bool sym = cfg_.symmetric;
  const int workers = static_cast<int>(sinks.size());
  // Tasks: the sparse partitions, then the dense rows in chunks.
  const std::vector<int32_t> chunk = dense_chunks(64);
  const long tasks = kParts + static_cast<long>(chunk.size()) - 1;
  FirstError err;
#pragma omp parallel num_threads(workers)
  {
    const int w = thread_id();
    CooccurSink& sink = *sinks[w];
    auto emit = [&](int32_t a, int32_t c, double v) {
      if (sym && a == c) v *= 2;  // both directions of a pair of equal words
      sink.add(id_of_rank_[a], id_of_rank_[c], v);
    };
    std::vector<Rec32> a32, tmp32;
    std::vector<Rec64> a64, tmp64;
#pragma omp for schedule(dynamic, 1)
    for (long task = 0; task < tasks; ++task) {
      err.run([&] {
        if (w == 0 && poll) poll();
        if (task < kParts) {
          if (narrow_) merge_partition(static_cast<int>(task), a32, tmp32, emit);
          else merge_partition(static_cast<int>(task), a64, tmp64, emit);
        } else {
          const int64_t ch = task - kParts;
          dense_rows(chunk[ch], chunk[ch + 1], emit);
        }
      });
    }
  }
  err.rethrow();
  shards_.clear();
}

CooMatrix CooccurCounter::merge_coo(int workers, const std::function<void()>& poll) {
  finish_counting();
  const bool sym = cfg_.symmetric;
  const uint64_t mask = (uint64_t(1) << key_shift_) - 1;
  const std::vector<int32_t> chunk = dense_chunks(64);
  const long tasks = kParts + static_cast<long>(chunk.size()) - 1;
  // Phase 1: each task's entries, sorted and summed. A sparse partition's result goes
  // back into the blocks it was read from (it is never larger than what they held in
  // memory, unless part of it was spilled: then into blocks of its own), and from there,
  // once every partition is done, into one array on huge pages, so the pools can go
  // before the output is allocated without the results costing a page fault every 4 KiB.
  // Sparse records keep their stored keys; dense tasks' records hold whole keys.
  std::vector<std::vector<char*>> res_blocks(kParts);
  std::vector<std::vector<std::unique_ptr<char[]>>> extra(kParts);
  std::vector<size_t> res_off(kParts + 1, 0);  // partition p's result: res_off[p + 1] records
  std::vector<std::vector<Rec64>> part64(static_cast<size_t>(tasks));
  Buffer<char> flat;  // the sparse results, partition after partition
  auto key_of = [&](long task, uint64_t k) {
    return task < kParts ? (k << kPartBits) | static_cast<uint64_t>(task) : k;
  };
  // Calls f(record) for the records of a task's result (sparse ones once in `flat`).
  auto visit = [&](long task, auto&& f) {
    if (task >= kParts) {
      for (const Rec64& r : part64[task]) f(r);
      return;
    }
    auto each = [&](const auto* r) {
      for (size_t i = res_off[task], e = res_off[task + 1]; i < e; ++i) f(r[i]);
    };
    if (narrow_) each(reinterpret_cast<const Rec32*>(flat.data()));
    else each(reinterpret_cast<const Rec64*>(flat.data()));
  };
  std::vector<size_t> out_n(static_cast<size_t>(tasks) + 1, 0);
  FirstError err;
#pragma omp parallel num_threads(workers)
  {
    const int w = thread_id();
    std::vector<Rec32> a32, tmp32;
    std::vector<Rec64> a64, tmp64;
    auto sparse = [&](int p, auto& a, auto& tmp) {
      using R = typename std::decay_t<decltype(a)>::value_type;
      std::vector<char*>& blocks = res_blocks[p];
      const size_t m = gather_partition(p, a, tmp, &blocks);
      for (size_t need = (m + kBlock - 1) / kBlock; blocks.size() < need;) {
        extra[p].emplace_back(new char[kBlock * sizeof(R)]);
        blocks.push_back(extra[p].back().get());
      }
      for (size_t i = 0; i * kBlock < m; ++i)
        std::memcpy(blocks[i], a.data() + i * kBlock, std::min(kBlock, m - i * kBlock) * sizeof(R));
      res_off[p + 1] = m;
    };
#pragma omp for schedule(dynamic, 1)
    for (long task = 0; task < tasks; ++task) {
      err.run([&] {
        if (w == 0 && poll) poll();
        if (task < kParts && narrow_) {
          sparse(static_cast<int>(task), a32, tmp32);
        } else if (task < kParts) {
          sparse(static_cast<int>(task), a64, tmp64);
        } else {
          const int64_t ch = task - kParts;
          std::vector<Rec64>& res = part64[task];
          dense_rows(chunk[ch], chunk[ch + 1], [&](int32_t r, int32_t c, double v) {
            res.push_back(Rec64{(uint64_t(r) << key_shift_) | uint64_t(c), static_cast<float>(v)});
          });
        }
        if (task >= kParts) {  // (sparse partitions are counted once in `flat`)
          size_t k = 0;
          for (const Rec64& r : part64[task]) k += (sym && (r.key >> key_shift_) != (r.key & mask)) ? 2 : 1;
          out_n[task + 1] = k;
        }
      });
    }
  }
  err.rethrow();
  for (int p = 0; p < kParts; ++p) res_off[p + 1] += res_off[p];
  flat = Buffer<char>(res_off[kParts] * rec_bytes_);
#pragma omp parallel for num_threads(workers) schedule(dynamic, 1)
  for (int p = 0; p < kParts; ++p) {
    const size_t per_block = kBlock * rec_bytes_;
    size_t left = (res_off[p + 1] - res_off[p]) * rec_bytes_;
    char* dst = flat.data() + res_off[p] * rec_bytes_;
    for (size_t i = 0; left; ++i) {
      const size_t k = std::min(left, per_block);
      std::memcpy(dst, res_blocks[p][i], k);
      dst += k;
      left -= k;
    }
    size_t k = 0;
    visit(p, [&](const auto& r) {
      const uint64_t key = key_of(p, r.key);
      k += (sym && (key >> key_shift_) != (key & mask)) ? 2 : 1;
    });
    out_n[p + 1] = k;
  }
  shards_.clear();  // the pools (and the dense block: its entries are in part64)
  std::vector<std::vector<char*>>().swap(res_blocks);
  std::vector<std::vector<std::unique_ptr<char[]>>>().swap(extra);
#ifdef __GLIBC__
  malloc_trim(0);  // the merge's scratch vectors were heap allocations: hand them back to the OS
#endif
  for (long t = 0; t < tasks; ++t) out_n[t + 1] += out_n[t];
  // Phase 2: write every task's entries (both directions when symmetric) at its offset.
  CooMatrix out;
  out.n = out_n[tasks];
  out.row = Buffer<int32_t>(out.n);
  out.col = Buffer<int32_t>(out.n);
  out.val = Buffer<float>(out.n);
#pragma omp parallel for num_threads(workers) schedule(dynamic, 1)
  for (long task = 0; task < tasks; ++task) {
    size_t k = out_n[task];
    int32_t* row = out.row.data();
    int32_t* col = out.col.data();
    float* val = out.val.data();
    visit(task, [&](const auto& r) {
      const uint64_t key = key_of(task, r.key);
      const int32_t a = id_of_rank_[key >> key_shift_], c = id_of_rank_[key & mask];
      float v = r.val;
      if (sym && a == c) v *= 2;  // both directions of a pair of equal words
      row[k] = a;
      col[k] = c;
      val[k++] = v;
      if (sym && a != c) {
        row[k] = c;
        col[k] = a;
        val[k++] = v;
      }
    });
    if (task >= kParts) std::vector<Rec64>().swap(part64[task]);
  }
  return out;
}

// ------------------------------------------------------------------ sinks
GloveRecordFileSink::GloveRecordFileSink(const std::string& path, bool mirror)
    : path_(path), f_(std::fopen(path.c_str(), "wb")), mirror_(mirror) {
  if (!f_) throw FileError("cannot write", path);
  buf_.reserve(1 << 20);
}

GloveRecordFileSink::~GloveRecordFileSink() {
  if (f_) std::fclose(f_);
}

void GloveRecordFileSink::put(int32_t r, int32_t c, double v) {
  char rec[16];
  int32_t a = r + 1, b = c + 1;  // the reference numbers words from 1
  std::memcpy(rec, &a, 4);
  std::memcpy(rec + 4, &b, 4);
  std::memcpy(rec + 8, &v, 8);
  buf_.insert(buf_.end(), rec, rec + 16);
  ++records_;
  if (buf_.size() >= (1 << 20)) drain();
}

void GloveRecordFileSink::add(int32_t r, int32_t c, double v) {
  put(r, c, v);
  if (mirror_ && r != c) put(c, r, v);
}

void GloveRecordFileSink::drain() {
  if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
    throw FileError("error writing", path_);
  buf_.clear();
}

void GloveRecordFileSink::close() {
  drain();
  int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) throw FileError("error writing", path_);
}

// ------------------------------------------------------------------ row shards
namespace {

struct ShardEntry {
  int32_t row, col;  // row within its shard
  double val;
};

// Entries appended in chunks of fixed size: no reallocation and copy as it grows.
class EntryChunks {
 public:
  static constexpr size_t kChunk = size_t(1) << 16;
  void push(const ShardEntry& e) {
    if (fill_ == kChunk || chunks_.empty()) {
      chunks_.emplace_back(new ShardEntry[kChunk]);
      fill_ = 0;
    }
    chunks_.back()[fill_++] = e;
  }
  size_t size() const { return chunks_.empty() ? 0 : (chunks_.size() - 1) * kChunk + fill_; }
  template <class F>
  void for_each(F&& f) const {
    for (size_t c = 0; c < chunks_.size(); ++c) {
      const size_t n = c + 1 == chunks_.size() ? fill_ : kChunk;
      for (size_t i = 0; i < n; ++i) f(chunks_[c][i]);
    }
  }
  void clear() {
    std::vector<std::unique_ptr<ShardEntry[]>>().swap(chunks_);
    fill_ = 0;
  }

 private:
  std::vector<std::unique_ptr<ShardEntry[]>> chunks_;
  size_t fill_ = 0;
};

// Routes each entry (both directions when mirroring) to its row's shard; one per merging thread.
// A row's shard and its number there are looked up, not divided out: two integer divisions per
// entry cost more than the rest of the routing.
class ShardingSink : public CooccurSink {
 public:
  ShardingSink(int n_shards, bool mirror, const int32_t* shard_of, const int32_t* local_of)
      : parts(static_cast<size_t>(n_shards)), mirror_(mirror), shard_of_(shard_of), local_of_(local_of) {}
  void add(int32_t r, int32_t c, double v) override {
    put(r, c, v);
    if (mirror_ && r != c) put(c, r, v);
  }
  std::vector<EntryChunks> parts;

 private:
  void put(int32_t r, int32_t c, double v) { parts[static_cast<size_t>(shard_of_[r])].push({local_of_[r], c, v}); }
  bool mirror_;
  const int32_t* shard_of_;
  const int32_t* local_of_;
};

}  // namespace

std::vector<CsrShard> merge_csr_shards(CooccurCounter& counter, int n_shards, int workers,
                                       const std::function<void()>& poll) {
  if (n_shards < 1) throw std::invalid_argument("n_shards must be at least 1");
  workers = std::max(1, workers);
  std::vector<int32_t> shard_of(static_cast<size_t>(counter.vocab_size())), local_of(shard_of.size());
  for (int32_t r = 0; r < counter.vocab_size(); ++r) {
    shard_of[static_cast<size_t>(r)] = r % n_shards;
    local_of[static_cast<size_t>(r)] = r / n_shards;
  }
  std::vector<std::unique_ptr<ShardingSink>> sinks;
  std::vector<CooccurSink*> ptrs;
  for (int t = 0; t < workers; ++t) {
    sinks.push_back(std::make_unique<ShardingSink>(n_shards, counter.symmetric(), shard_of.data(), local_of.data()));
    ptrs.push_back(sinks.back().get());
  }
  counter.merge(ptrs, poll);
  const int64_t V = counter.vocab_size();
  std::vector<CsrShard> out(static_cast<size_t>(n_shards));
  FirstError err;
  // Each shard by one thread: count the entries of each row, then place them. Columns stay in the
  // order the merge emitted them (scipy calls such a matrix non-canonical; sums are unaffected).
#pragma omp parallel for num_threads(workers) schedule(dynamic, 1)
  for (int s = 0; s < n_shards; ++s) {
    err.run([&] {
      CsrShard& sh = out[static_cast<size_t>(s)];
      sh.rows = s < V ? (V - s + n_shards - 1) / n_shards : 0;
      sh.indptr = Buffer<int64_t>(static_cast<size_t>(sh.rows) + 1);
      int64_t* ptr = sh.indptr.data();
      std::fill(ptr, ptr + sh.rows + 1, int64_t(0));
      for (const auto& sink : sinks)
        sink->parts[static_cast<size_t>(s)].for_each([&](const ShardEntry& e) { ++ptr[e.row + 1]; });
      for (int64_t r = 0; r < sh.rows; ++r) ptr[r + 1] += ptr[r];
      const size_t nnz = static_cast<size_t>(ptr[sh.rows]);
      sh.indices = Buffer<int32_t>(nnz);
      sh.data = Buffer<double>(nnz);
      int32_t* ind = sh.indices.data();
      double* val = sh.data.data();
      std::vector<int64_t> next(ptr, ptr + sh.rows);
      for (const auto& sink : sinks) {
        EntryChunks& part = sink->parts[static_cast<size_t>(s)];
        part.for_each([&](const ShardEntry& e) {
          const int64_t k = next[static_cast<size_t>(e.row)]++;
          ind[k] = e.col;
          val[k] = e.val;
        });
        part.clear();
      }
    });
  }
  err.rethrow();
  return out;
}

}  // namespace pfn
