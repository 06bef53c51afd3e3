#include "embed/cooccur.h"

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
      throw std::runtime_error("spilling co-occurrence counts to " + dir + " failed: " +
                               std::strerror(errno));
    }
    if (w == 0) throw std::runtime_error("spilling co-occurrence counts to " + dir + " failed: short write");
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
    if (r <= 0) throw std::runtime_error(std::string("reading spilled co-occurrence counts failed: ") +
                                         (r < 0 ? std::strerror(errno) : "file truncated"));
    c += r;
    bytes -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

}  // namespace

struct CooccurCounter::Shard {
  std::vector<double> dense;
  // Sparse partitions, as raw bytes of records (8 or 12 bytes each): the block being
  // filled, full blocks in memory, extents on disk.
  char* cur[kParts];
  uint32_t fill[kParts];
  std::vector<std::unique_ptr<char[]>> full[kParts];
  std::vector<char> packed[kParts];  // summed records from earlier compactions
  std::vector<std::pair<uint64_t, uint64_t>> disk[kParts];  // (offset, records)
  uint64_t full_blocks = 0, packed_records = 0;
  int fd = -1;  // spill file, unlinked as soon as it is created
  uint64_t file_end = 0;
  std::vector<int32_t> ranks;  // scratch: the current document
  uint64_t docs = 0, tokens = 0, sparse = 0;
  explicit Shard(size_t block_bytes) {
    for (int p = 0; p < kParts; ++p) {
      cur[p] = new char[block_bytes];
      fill[p] = 0;
    }
  }
  ~Shard() {
    for (int p = 0; p < kParts; ++p) delete[] cur[p];  // (null-safe)
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
  const uint64_t sparse_min = uint64_t(T) * kParts * kBlock * rec_bytes_;  // blocks being filled
  if (cfg_.memory_limit < sparse_min + (uint64_t(1) << 20))
    throw std::invalid_argument("memory_limit is too small: at least " +
                                std::to_string((sparse_min >> 20) + 1) + " MB for " +
                                std::to_string(T) + " thread(s)");
  // Dense block per thread: 16 MiB by default (two of them stay mostly in a server's L3
  // cache), never more than a quarter of the memory limit.
  uint64_t dense_bytes = cfg_.dense_bytes ? cfg_.dense_bytes : (uint64_t(16) << 20);
  dense_bytes = std::min<uint64_t>(dense_bytes, cfg_.memory_limit / (4 * T));
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
    auto sh = std::make_unique<Shard>(kBlock * rec_bytes_);
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
  sh.full[p].emplace_back(sh.cur[p]);
  sh.cur[p] = nullptr;
  ++sh.full_blocks;
  sh.sparse += kBlock;
  const uint64_t kBytes = kBlock * rec_bytes_;
  // Make room before taking a new block if it would pass the limit: sum repeated pairs
  // in memory first, and spill to disk only when that no longer frees enough.
  if (dense_total_ + sparse_bytes_.load() + kBytes > cfg_.memory_limit) {
    try {
      const uint64_t before = sh.full_blocks * kBlock + sh.packed_records;
      if (narrow_) compact<Rec32>(sh);
      else compact<Rec64>(sh);
      const uint64_t after = sh.packed_records;
      if (after * 4 > before * 3 || dense_total_ + sparse_bytes_.load() + kBytes > cfg_.memory_limit)
        spill(sh);
    } catch (...) {
      sh.cur[p] = new char[kBytes];  // keep the shard consistent for the other threads' exit
      sh.fill[p] = 0;
      sparse_bytes_ += kBytes;
      throw;
    }
  }
  sh.cur[p] = new char[kBytes];
  sh.fill[p] = 0;
  sparse_bytes_ += kBytes;
  if ((sh.full_blocks & 255) == 0) note_peak();
}

// Sorts and sums each partition's full blocks and packed records into packed records.
template <class R>
void CooccurCounter::compact(Shard& sh) {
  std::vector<R> a, tmp;
  uint64_t packed = 0;
  int64_t delta = 0;  // change of this shard's bytes in memory
  for (int p = 0; p < kParts; ++p) {
    const size_t old = sh.packed[p].size() / sizeof(R);
    if (sh.full[p].empty()) {
      packed += old;
      continue;
    }
    const size_t n = old + sh.full[p].size() * kBlock;
    a.resize(n);
    tmp.resize(n);
    if (old) std::memcpy(a.data(), sh.packed[p].data(), old * sizeof(R));
    size_t k = old;
    for (auto& blk : sh.full[p]) {
      std::memcpy(a.data() + k, blk.get(), kBlock * sizeof(R));
      k += kBlock;
    }
    const size_t m = sort_and_combine(a.data(), tmp.data(), n, stored_bits_);
    delta -= static_cast<int64_t>((n - m) * sizeof(R));
    const char* bytes = reinterpret_cast<const char*>(a.data());
    sh.packed[p].assign(bytes, bytes + m * sizeof(R));
    sh.packed[p].shrink_to_fit();
    sh.full[p].clear();
    packed += m;
  }
  sh.full_blocks = 0;
  sh.packed_records = packed;
  sparse_bytes_ += static_cast<uint64_t>(delta);  // (wraps to a subtraction)
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.compactions;
}

// Writes this shard's full blocks and packed records to its temporary file, partition by
// partition, and frees them.
void CooccurCounter::spill(Shard& sh) {
  note_peak();
  if (sh.fd < 0) {
    std::string tmpl = cfg_.tmp_dir + "/pyfast_nlp-cooccur-XXXXXX";
    std::vector<char> name(tmpl.begin(), tmpl.end());
    name.push_back('\0');
    int fd = ::mkstemp(name.data());
    if (fd < 0)
      throw std::runtime_error("cannot create a temporary file in " + cfg_.tmp_dir + ": " +
                               std::strerror(errno));
    ::unlink(name.data());  // nothing is left behind, whatever happens next
    sh.fd = fd;
  }
  uint64_t written = 0;
  for (int p = 0; p < kParts; ++p) {
    if (sh.full[p].empty() && sh.packed[p].empty()) continue;
    const uint64_t start = sh.file_end;
    write_all(sh.fd, sh.packed[p].data(), sh.packed[p].size(), sh.file_end, cfg_.tmp_dir);
    sh.file_end += sh.packed[p].size();
    for (auto& blk : sh.full[p]) {
      write_all(sh.fd, blk.get(), kBlock * rec_bytes_, sh.file_end, cfg_.tmp_dir);
      sh.file_end += kBlock * rec_bytes_;
    }
    const uint64_t records = (sh.file_end - start) / rec_bytes_;
    sh.disk[p].emplace_back(start, records);
    written += records * rec_bytes_;
    sh.full[p].clear();
    std::vector<char>().swap(sh.packed[p]);
  }
  sh.full_blocks = 0;
  sh.packed_records = 0;
  sparse_bytes_ -= written;
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
          an.analyze(docs[d], [&](std::string_view t) {
            int32_t id = vocab.find(t);
            if (id >= 0) sh.ranks.push_back(rank_of_id_[id]);
          });
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

void CooccurCounter::finish_counting() {
  const int T = static_cast<int>(shards_.size());
  for (auto& sh : shards_) {
    stats_.documents += sh->docs;
    stats_.tokens += sh->tokens;
    for (int p = 0; p < kParts; ++p) sh->sparse += sh->fill[p];
    stats_.sparse_updates += sh->sparse;
  }
  // Sum the dense blocks into the first.
  double* d0 = shards_[0]->dense.data();
  for (int t = 1; t < T; ++t) {
    const double* dt = shards_[t]->dense.data();
#pragma omp parallel for num_threads(T) schedule(static)
    for (long c = 0; c < static_cast<long>(cells_); ++c) d0[c] += dt[c];
    std::vector<double>().swap(shards_[t]->dense);
  }
}

// Gathers partition p from every shard (memory and disk) into `a`, frees its blocks,
// sorts and sums it; returns the number of distinct pairs left at the front of `a`.
template <class R>
size_t CooccurCounter::gather_partition(int p, std::vector<R>& a, std::vector<R>& tmp) {
  size_t n = 0;
  for (auto& sh : shards_) {
    n += sh->fill[p] + sh->full[p].size() * kBlock + sh->packed[p].size() / sizeof(R);
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
    for (auto& blk : sh->full[p]) {
      std::memcpy(a.data() + k, blk.get(), kBlock * sizeof(R));
      k += kBlock;
    }
    std::vector<std::unique_ptr<char[]>>().swap(sh->full[p]);
    if (!sh->packed[p].empty()) std::memcpy(a.data() + k, sh->packed[p].data(), sh->packed[p].size());
    k += sh->packed[p].size() / sizeof(R);
    std::vector<char>().swap(sh->packed[p]);
    if (sh->fill[p]) std::memcpy(a.data() + k, sh->cur[p], sh->fill[p] * sizeof(R));  // cur may be null
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
  // Phase 1: each task's entries, sorted and summed (sparse partitions are freed as they
  // are read, so the counts never exist twice in full). A sparse partition's records
  // keep their stored keys (8 bytes when narrow); dense tasks' records hold whole keys.
  std::vector<std::vector<Rec32>> part32(narrow_ ? kParts : 0);
  std::vector<std::vector<Rec64>> part64(static_cast<size_t>(tasks));
  auto key_of = [&](long task, uint64_t k) {
    return task < kParts ? (k << kPartBits) | static_cast<uint64_t>(task) : k;
  };
  std::vector<size_t> out_n(static_cast<size_t>(tasks) + 1, 0);
  FirstError err;
#pragma omp parallel num_threads(workers)
  {
    const int w = thread_id();
    std::vector<Rec32> a32, tmp32;
    std::vector<Rec64> a64, tmp64;
#pragma omp for schedule(dynamic, 1)
    for (long task = 0; task < tasks; ++task) {
      err.run([&] {
        if (w == 0 && poll) poll();
        size_t k = 0;
        auto count = [&](const auto& res) {
          for (const auto& r : res) {
            const uint64_t key = key_of(task, r.key);
            k += (sym && (key >> key_shift_) != (key & mask)) ? 2 : 1;
          }
        };
        if (task < kParts && narrow_) {
          const size_t m = gather_partition(static_cast<int>(task), a32, tmp32);
          part32[task].assign(a32.begin(), a32.begin() + static_cast<long>(m));
          count(part32[task]);
        } else if (task < kParts) {
          const size_t m = gather_partition(static_cast<int>(task), a64, tmp64);
          part64[task].assign(a64.begin(), a64.begin() + static_cast<long>(m));
          count(part64[task]);
        } else {
          const int64_t ch = task - kParts;
          std::vector<Rec64>& res = part64[task];
          dense_rows(chunk[ch], chunk[ch + 1], [&](int32_t r, int32_t c, double v) {
            res.push_back(Rec64{(uint64_t(r) << key_shift_) | uint64_t(c), static_cast<float>(v)});
          });
          count(res);
        }
        out_n[task + 1] = k;
      });
    }
  }
  err.rethrow();
  shards_.clear();
#ifdef __GLIBC__
  malloc_trim(0);  // the freed blocks were small heap allocations: hand them back to the OS
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
    auto write = [&](const auto& res) {
      for (const auto& r : res) {
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
      }
    };
    if (task < kParts && narrow_) {
      write(part32[task]);
      std::vector<Rec32>().swap(part32[task]);
    } else {
      write(part64[task]);
      std::vector<Rec64>().swap(part64[task]);
    }
  }
  return out;
}

// ------------------------------------------------------------------ sinks
GloveRecordFileSink::GloveRecordFileSink(const std::string& path, bool mirror)
    : path_(path), f_(std::fopen(path.c_str(), "wb")), mirror_(mirror) {
  if (!f_) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
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
    throw std::runtime_error("error writing " + path_ + ": " + std::strerror(errno));
  buf_.clear();
}

void GloveRecordFileSink::close() {
  drain();
  int rc = std::fclose(f_);
  f_ = nullptr;
  if (rc != 0) throw std::runtime_error("error writing " + path_ + ": " + std::strerror(errno));
}

}  // namespace pfn
