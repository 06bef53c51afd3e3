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

// A sparse pair: key = (row rank << shift) | column rank, and its partial sum.
#pragma pack(push, 4)
struct CooccurRecord {
  uint64_t key;
  float val;
};
#pragma pack(pop)
static_assert(sizeof(CooccurRecord) == 12, "CooccurRecord must be packed");

namespace {

using Rec = CooccurRecord;

constexpr int kPartBits = 8;  // sparse pairs are split by the column's low bits
constexpr int kParts = 1 << kPartBits;
constexpr size_t kBlock = 2048;  // records per block (24 KiB)

inline int part_of(uint64_t key) { return static_cast<int>(key & (kParts - 1)); }

// LSD radix sort of a (cache-sized) partition on key bits [kPartBits, bits), then sums
// equal keys; returns the number of distinct keys left at the front of `a`.
size_t sort_and_combine(Rec* a, Rec* tmp, size_t n, int bits) {
  constexpr int kDigit = 12;  // two passes for vocabularies up to 65536 words
  constexpr size_t kBuckets = size_t(1) << kDigit;
  const int passes = std::max(0, (bits - kPartBits + kDigit - 1) / kDigit);
  std::vector<size_t> hist(static_cast<size_t>(passes) * kBuckets, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t k = a[i].key >> kPartBits;
    for (int p = 0; p < passes; ++p) ++hist[p * kBuckets + ((k >> (p * kDigit)) & (kBuckets - 1))];
  }
  Rec* src = a;
  Rec* dst = tmp;
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
    const int shift = kPartBits + p * kDigit;
    for (size_t i = 0; i < n; ++i) dst[h[(src[i].key >> shift) & (kBuckets - 1)]++] = src[i];
    std::swap(src, dst);
  }
  // Runs of equal keys are summed in double (a frequent pair has millions of float
  // records: a float running sum drifted by parts per million). src may be tmp:
  // combining copies back into a (m <= i, so a read is never overwritten first).
  size_t m = 0;
  for (size_t i = 0; i < n;) {
    const uint64_t key = src[i].key;
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
  // Sparse partitions: the block being filled, full blocks in memory, extents on disk.
  Rec* cur[kParts];
  uint32_t fill[kParts];
  std::vector<std::unique_ptr<Rec[]>> full[kParts];
  std::vector<Rec> packed[kParts];  // sorted, summed records from earlier compactions
  std::vector<std::pair<uint64_t, uint64_t>> disk[kParts];  // (offset, records)
  uint64_t full_blocks = 0, packed_records = 0;
  int fd = -1;  // spill file, unlinked as soon as it is created
  uint64_t file_end = 0;
  std::vector<int32_t> ranks;  // scratch: the current document
  uint64_t docs = 0, tokens = 0, sparse = 0;
  Shard() {
    for (int p = 0; p < kParts; ++p) {
      cur[p] = new Rec[kBlock];
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

  const int T = std::max(1, cfg_.threads);
  const uint64_t sparse_min = uint64_t(T) * kParts * kBlock * sizeof(Rec);  // blocks being filled
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
    auto sh = std::make_unique<Shard>();
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

inline void CooccurCounter::count_doc(Shard& sh, const int32_t* r, size_t n) {
  const size_t W = static_cast<size_t>(cfg_.window);
  const bool sym = cfg_.symmetric;
  const int shift = key_shift_;
  const double* weight = weight_.data();
  for (size_t j = 1; j < n; ++j) {
    const int32_t b = r[j];
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
        Rec& rec = sh.cur[p][sh.fill[p]];
        rec.key = key;
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
  constexpr uint64_t kBytes = kBlock * sizeof(Rec);
  // Make room before taking a new block if it would pass the limit: sum repeated pairs
  // in memory first, and spill to disk only when that no longer frees enough.
  if (dense_total_ + sparse_bytes_.load() + kBytes > cfg_.memory_limit) {
    try {
      const uint64_t before = sh.full_blocks * kBlock + sh.packed_records;
      compact(sh);
      const uint64_t after = sh.packed_records;
      if (after * 4 > before * 3 || dense_total_ + sparse_bytes_.load() + kBytes > cfg_.memory_limit)
        spill(sh);
    } catch (...) {
      sh.cur[p] = new Rec[kBlock];  // keep the shard consistent for the other threads' exit
      sh.fill[p] = 0;
      sparse_bytes_ += kBytes;
      throw;
    }
  }
  sh.cur[p] = new Rec[kBlock];
  sh.fill[p] = 0;
  sparse_bytes_ += kBytes;
  if ((sh.full_blocks & 255) == 0) note_peak();
}

// Sorts and sums each partition's full blocks and packed records into packed records.
void CooccurCounter::compact(Shard& sh) {
  std::vector<Rec> a, tmp;
  uint64_t packed = 0;
  int64_t delta = 0;  // change of this shard's bytes in memory
  for (int p = 0; p < kParts; ++p) {
    if (sh.full[p].empty()) {
      packed += sh.packed[p].size();
      continue;
    }
    const size_t n = sh.packed[p].size() + sh.full[p].size() * kBlock;
    a.resize(n);
    tmp.resize(n);
    std::copy(sh.packed[p].begin(), sh.packed[p].end(), a.begin());
    size_t k = sh.packed[p].size();
    for (auto& blk : sh.full[p]) {
      std::memcpy(a.data() + k, blk.get(), kBlock * sizeof(Rec));
      k += kBlock;
    }
    const size_t m = sort_and_combine(a.data(), tmp.data(), n, 2 * key_shift_);
    delta -= static_cast<int64_t>((n - m) * sizeof(Rec));
    sh.packed[p].assign(a.begin(), a.begin() + static_cast<long>(m));
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
    write_all(sh.fd, sh.packed[p].data(), sh.packed[p].size() * sizeof(Rec), sh.file_end, cfg_.tmp_dir);
    sh.file_end += sh.packed[p].size() * sizeof(Rec);
    for (auto& blk : sh.full[p]) {
      write_all(sh.fd, blk.get(), kBlock * sizeof(Rec), sh.file_end, cfg_.tmp_dir);
      sh.file_end += kBlock * sizeof(Rec);
    }
    const uint64_t records = (sh.file_end - start) / sizeof(Rec);
    sh.disk[p].emplace_back(start, records);
    written += records * sizeof(Rec);
    sh.full[p].clear();
    std::vector<Rec>().swap(sh.packed[p]);
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
        count_doc(sh, sh.ranks.data(), sh.ranks.size());
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
        count_doc(sh, sh.ranks.data(), sh.ranks.size());
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
size_t CooccurCounter::gather_partition(int p, std::vector<CooccurRecord>& a, std::vector<CooccurRecord>& tmp) {
  size_t n = 0;
  for (auto& sh : shards_) {
    n += sh->fill[p] + sh->full[p].size() * kBlock + sh->packed[p].size();
    for (auto& e : sh->disk[p]) n += e.second;
  }
  a.resize(n);
  tmp.resize(n);
  size_t k = 0;
  for (auto& sh : shards_) {
    for (auto& e : sh->disk[p]) {
      read_all(sh->fd, a.data() + k, e.second * sizeof(Rec), e.first);
      k += e.second;
    }
    for (auto& blk : sh->full[p]) {
      std::memcpy(a.data() + k, blk.get(), kBlock * sizeof(Rec));
      k += kBlock;
    }
    std::vector<std::unique_ptr<Rec[]>>().swap(sh->full[p]);
    std::copy(sh->packed[p].begin(), sh->packed[p].end(), a.begin() + static_cast<long>(k));
    k += sh->packed[p].size();
    std::vector<Rec>().swap(sh->packed[p]);
    if (sh->fill[p]) std::memcpy(a.data() + k, sh->cur[p], sh->fill[p] * sizeof(Rec));  // cur may be null
    k += sh->fill[p];
    sh->fill[p] = 0;
  }
  return sort_and_combine(a.data(), tmp.data(), n, 2 * key_shift_);
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
  const uint64_t mask = (uint64_t(1) << key_shift_) - 1;
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
    std::vector<Rec> a, tmp;
#pragma omp for schedule(dynamic, 1)
    for (long task = 0; task < tasks; ++task) {
      err.run([&] {
        if (w == 0 && poll) poll();
        if (task < kParts) {
          const size_t m = gather_partition(static_cast<int>(task), a, tmp);
          for (size_t i = 0; i < m; ++i)
            emit(static_cast<int32_t>(a[i].key >> key_shift_), static_cast<int32_t>(a[i].key & mask), a[i].val);
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
  // are read, so the counts never exist twice in full).
  std::vector<std::vector<Rec>> part(static_cast<size_t>(tasks));
  std::vector<size_t> out_n(static_cast<size_t>(tasks) + 1, 0);
  FirstError err;
#pragma omp parallel num_threads(workers)
  {
    const int w = thread_id();
    std::vector<Rec> a, tmp;
#pragma omp for schedule(dynamic, 1)
    for (long task = 0; task < tasks; ++task) {
      err.run([&] {
        if (w == 0 && poll) poll();
        std::vector<Rec>& res = part[task];
        if (task < kParts) {
          const size_t m = gather_partition(static_cast<int>(task), a, tmp);
          res.assign(a.begin(), a.begin() + static_cast<long>(m));
        } else {
          const int64_t ch = task - kParts;
          dense_rows(chunk[ch], chunk[ch + 1],
                     [&](int32_t r, int32_t c, double v) {
                       res.push_back(Rec{(uint64_t(r) << key_shift_) | uint64_t(c), static_cast<float>(v)});
                     });
        }
        size_t k = 0;
        for (const Rec& r : res) k += (sym && (r.key >> key_shift_) != (r.key & mask)) ? 2 : 1;
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
    for (const Rec& r : part[task]) {
      const int32_t a = id_of_rank_[r.key >> key_shift_], c = id_of_rank_[r.key & mask];
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
    std::vector<Rec>().swap(part[task]);
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
