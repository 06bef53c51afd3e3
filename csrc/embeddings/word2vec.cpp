#include "embeddings/word2vec.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/cpu.h"
#include "common/parallel.h"
#include "common/rng.h"

namespace pfn {
namespace {

constexpr int kTable = 1000;     // sigmoid steps over [-kMaxExp, kMaxExp], as the tools
constexpr float kMaxExp = 6.0f;
constexpr int64_t kChunkWords = 10000;  // words per work item (gensim's job size)
constexpr int kMaxNegative = 64;
constexpr int kAhead = 2;  // examples whose noise words are drawn (and their rows fetched) in advance

// sigma and -log sigma on the tools' grid, computed once.
struct Tables {
  float sig[kTable + 1];
  float nlogsig[kTable + 1];
  Tables() {
    for (int i = 0; i <= kTable; ++i) {
      const double x = (static_cast<double>(i) / kTable * 2 - 1) * kMaxExp;
      sig[i] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
      nlogsig[i] = static_cast<float>(std::log1p(std::exp(-x)));
    }
  }
};
const Tables& tables() {
  static const Tables t;
  return t;
}

inline int grid(float f) { return static_cast<int>((f + kMaxExp) * (kTable / kMaxExp / 2)); }

// -log sigma(x): the table inside [-6, 6]; outside, its asymptotes (0 above, -x below).
// NaN (a diverging run) stays NaN, never a table index.
inline double neg_log_sigmoid(float x, const Tables& T) {
  if (x > -kMaxExp && x < kMaxExp) return T.nlogsig[grid(x)];
  if (x >= kMaxExp) return 0.0;
  return -static_cast<double>(x);
}


// One input row against its positive word and noise words; the hot loop of both modes.
// Kept inline so each target clone of train_chunk gets its own vector width.
template <int DIM>
__attribute__((always_inline)) inline double update(const float* __restrict l1, float* __restrict neu1e,
                                                    float* __restrict syn1, int64_t stride, int dim_,
                                                    const int32_t* targets, int n_targets, float alpha,
                                                    const Tables& T) {
  const int dim = DIM > 0 ? DIM : dim_;
  double loss = 0;
  for (int d = 0; d < n_targets; ++d) {
    const int32_t t = targets[d];
    if (d > 0 && t == targets[0]) continue;  // a noise word equal to the word itself is skipped
    float* __restrict s1 = syn1 + t * stride;
    float f = 0;
#pragma omp simd reduction(+ : f)
    for (int k = 0; k < dim; ++k) f += l1[k] * s1[k];
    const float label = d == 0 ? 1.0f : 0.0f;
    float g;
    if (f > -kMaxExp && f < kMaxExp) g = (label - T.sig[grid(f)]) * alpha;
    else if (f >= kMaxExp) g = (label - 1.0f) * alpha;
    else if (f <= -kMaxExp) g = label * alpha;
    else g = f;  // NaN: carried into the vectors, where the epoch's check finds it
    loss += neg_log_sigmoid(d == 0 ? f : -f, T);
#pragma omp simd
    for (int k = 0; k < dim; ++k) {
      neu1e[k] += g * s1[k];
      s1[k] += g * l1[k];
    }
  }
  return loss;
}

struct Piece {
  int64_t begin, end;  // a document, or a max_sentence-word piece of one
};

struct Scratch {
  std::vector<int32_t> sent;
  std::vector<float> neu1, neu1e;
  int32_t targets[kAhead + 1][kMaxNegative + 1];  // this example's targets and the next kAhead's
};

// Rows a later example will update: fetched while the current one computes, since noise words
// are random rows that are rarely in cache (drawing them early changes nothing else).
// (A read prefetch: one with write intent measured slower with two threads, which share rows.)
inline void prefetch_row(const float* row, int dim) {
  for (int k = 0; k < dim; k += 16) __builtin_prefetch(row + k, 0, 3);
}

// Trains the pieces [b, e) with one random stream and one learning rate.
template <int DIM>
__attribute__((always_inline)) inline void chunk(const Word2VecParams& P, const int32_t* ids, const Piece* pieces,
                                                 size_t b, size_t e, const Word2VecConfig& cfg,
                                                 const NoiseTable& noise, const uint32_t* keep, float alpha,
                                                 SplitMix64& rng, Scratch& S, Word2VecStats& st) {
  const Tables& T = tables();
  const int dim = DIM > 0 ? DIM : cfg.dim, window = cfg.window, neg = cfg.negative;
  const int64_t stride = P.stride;
  float* __restrict syn0 = P.syn0;
  float* __restrict neu1 = S.neu1.data();
  float* __restrict neu1e = S.neu1e.data();
  double loss = 0;
  int64_t examples = 0;
  for (size_t q = b; q < e; ++q) {
    S.sent.clear();
    for (int64_t k = pieces[q].begin; k < pieces[q].end; ++k) {
      const int32_t w = ids[k];
      if (keep && static_cast<uint32_t>(rng.next()) > keep[w]) continue;
      S.sent.push_back(w);
    }
    st.words += pieces[q].end - pieces[q].begin;
    const int n = static_cast<int>(S.sent.size());
    st.effective += n;
    const int32_t* sent = S.sent.data();
    // Noise words are drawn kAhead examples ahead, so their rows can be prefetched.
    auto draw_into = [&](int slot) {
      int32_t* nx = S.targets[slot];
      for (int d = 1; d <= neg; ++d) {
        nx[d] = noise.draw(rng.next());
        prefetch_row(P.syn1 + nx[d] * stride, dim);
      }
    };
    for (int a = 0; a < kAhead; ++a) draw_into(a);
    int cur = 0;
    auto draw_next = [&] { draw_into((cur + kAhead) % (kAhead + 1)); };
    for (int i = 0; i < n; ++i) {
      const int red = cfg.shrink_windows ? static_cast<int>(rng.below32(static_cast<uint32_t>(window))) : 0;
      const int lo = std::max(0, i - window + red), hi = std::min(n, i + window + 1 - red);
      if (cfg.sg) {
        for (int j = lo; j < hi; ++j) {
          if (j == i) continue;
          draw_next();
          int32_t* tg = S.targets[cur];
          tg[0] = sent[i];
          float* __restrict l1 = syn0 + sent[j] * stride;
          std::fill(neu1e, neu1e + dim, 0.0f);
          loss += update<DIM>(l1, neu1e, P.syn1, stride, dim, tg, neg + 1, alpha, T);
#pragma omp simd
          for (int k = 0; k < dim; ++k) l1[k] += neu1e[k];
          cur = (cur + 1) % (kAhead + 1);
          ++examples;
        }
      } else {
        if (hi - lo <= 1) continue;  // no context word
        draw_next();
        int32_t* tg = S.targets[cur];
        tg[0] = sent[i];
        std::fill(neu1, neu1 + dim, 0.0f);
        int count = 0;
        for (int j = lo; j < hi; ++j) {
          if (j == i) continue;
          const float* __restrict c = syn0 + sent[j] * stride;
#pragma omp simd
          for (int k = 0; k < dim; ++k) neu1[k] += c[k];
          ++count;
        }
        const float inv = 1.0f / static_cast<float>(count);
        if (cfg.cbow_mean) {
#pragma omp simd
          for (int k = 0; k < dim; ++k) neu1[k] *= inv;
        }
        std::fill(neu1e, neu1e + dim, 0.0f);
        loss += update<DIM>(neu1, neu1e, P.syn1, stride, dim, tg, neg + 1, alpha, T);
        if (!cfg.cbow_mean) {  // a summed input spreads its error over the context (as gensim)
#pragma omp simd
          for (int k = 0; k < dim; ++k) neu1e[k] *= inv;
        }
        for (int j = lo; j < hi; ++j) {
          if (j == i) continue;
          float* __restrict c = syn0 + sent[j] * stride;
#pragma omp simd
          for (int k = 0; k < dim; ++k) c[k] += neu1e[k];
        }
        cur = (cur + 1) % (kAhead + 1);
        ++examples;
      }
    }
  }
  st.loss += loss;
  st.examples += examples;
}

// One clone per ISA; common sizes get loops of known length (kept in registers, no remainder).
PFN_TARGET_CLONES
void train_chunk(const Word2VecParams& P, const int32_t* ids, const Piece* pieces, size_t b, size_t e,
                 const Word2VecConfig& cfg, const NoiseTable& noise, const uint32_t* keep, float alpha,
                 SplitMix64& rng, Scratch& S, Word2VecStats& st) {
  switch (cfg.dim) {
    case 50: return chunk<50>(P, ids, pieces, b, e, cfg, noise, keep, alpha, rng, S, st);
    case 100: return chunk<100>(P, ids, pieces, b, e, cfg, noise, keep, alpha, rng, S, st);
    case 200: return chunk<200>(P, ids, pieces, b, e, cfg, noise, keep, alpha, rng, S, st);
    case 300: return chunk<300>(P, ids, pieces, b, e, cfg, noise, keep, alpha, rng, S, st);
    default: return chunk<0>(P, ids, pieces, b, e, cfg, noise, keep, alpha, rng, S, st);
  }
}

uint64_t mix(uint64_t a, uint64_t b) {
  SplitMix64 r{a ^ (b * 0xD1B54A32D192ED03ull)};
  r.next();
  return r.next();
}

}  // namespace

float word2vec_sigmoid(float f) {
  if (f > -kMaxExp && f < kMaxExp) return tables().sig[grid(f)];
  if (f >= kMaxExp) return 1.0f;
  if (f <= -kMaxExp) return 0.0f;
  return f;
}

double word2vec_update(const float* l1, float* neu1e, float* syn1, int64_t stride, int dim,
                       const int32_t* targets, int n_targets, float alpha) {
  return update<0>(l1, neu1e, syn1, stride, dim, targets, n_targets, alpha, tables());
}

NoiseTable make_noise_table(const int64_t* counts, int64_t vocab, double exponent) {
  // Walker/Vose alias method in float64, then thresholds as 32-bit fractions.
  NoiseTable t;
  const size_t V = static_cast<size_t>(vocab);
  std::vector<double> w(V);
  double total = 0;
  for (size_t i = 0; i < V; ++i) total += (w[i] = std::pow(static_cast<double>(counts[i]), exponent));
  t.threshold.assign(V, 0);
  t.alias.resize(V);
  for (size_t i = 0; i < V; ++i) t.alias[i] = static_cast<int32_t>(i);
  if (V == 0 || !(total > 0)) return t;
  std::vector<double> scaled(V);
  std::vector<size_t> small, large;
  for (size_t i = 0; i < V; ++i) {
    scaled[i] = w[i] * static_cast<double>(V) / total;
    (scaled[i] < 1.0 ? small : large).push_back(i);
  }
  std::vector<double> prob(V, 1.0);
  while (!small.empty() && !large.empty()) {
    const size_t s = small.back(), l = large.back();
    small.pop_back();
    prob[s] = scaled[s];
    t.alias[s] = static_cast<int32_t>(l);
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  // What is left has probability 1 up to rounding.
  for (size_t i = 0; i < V; ++i) {
    const double p = std::min(1.0, std::max(0.0, prob[i])) * 4294967296.0;
    t.threshold[i] = p >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(std::llround(p));
    if (prob[i] >= 1.0) t.alias[i] = static_cast<int32_t>(i);  // 2^-32 of a draw goes to the alias: itself
  }
  return t;
}

std::vector<uint32_t> subsample_thresholds(const int64_t* counts, int64_t vocab, double sample) {
  std::vector<uint32_t> keep(static_cast<size_t>(vocab), 0xFFFFFFFFu);
  if (sample <= 0) return keep;
  double total = 0;
  for (int64_t i = 0; i < vocab; ++i) total += static_cast<double>(counts[i]);
  const double t = sample * total;
  for (int64_t i = 0; i < vocab; ++i) {
    const double c = static_cast<double>(counts[i]);
    if (c <= 0) continue;
    const double p = (std::sqrt(c / t) + 1.0) * t / c;
    keep[i] = p >= 1.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(std::llround(p * 4294967296.0));
  }
  return keep;
}

Word2VecStats word2vec_train(const Word2VecParams& P, const int32_t* ids, const int64_t* doc_end,
                             size_t n_docs, const Word2VecConfig& cfg, const NoiseTable& noise,
                             const uint32_t* keep, const Word2VecSchedule& sched) {
  // Pieces (documents cut at max_sentence words), then chunks of about kChunkWords words.
  std::vector<Piece> pieces;
  std::vector<size_t> chunk_start{0};
  int64_t prev = 0, in_chunk = 0;
  for (size_t d = 0; d < n_docs; ++d) {
    for (int64_t b = prev; b < doc_end[d]; b += cfg.max_sentence) {
      pieces.push_back({b, std::min(doc_end[d], b + cfg.max_sentence)});
      in_chunk += pieces.back().end - b;
      if (in_chunk >= kChunkWords) {
        chunk_start.push_back(pieces.size());
        in_chunk = 0;
      }
    }
    prev = doc_end[d];
  }
  if (chunk_start.back() != pieces.size()) chunk_start.push_back(pieces.size());
  const long n_chunks = static_cast<long>(chunk_start.size()) - 1;
  const int T = std::max(1, std::min<int>(resolve_threads(cfg.threads), static_cast<int>(std::max(1L, n_chunks))));
  std::vector<Word2VecStats> per(T);
  const double span = static_cast<double>(std::max<int64_t>(1, sched.total_words));
#pragma omp parallel num_threads(T)
  {
    const int t = thread_id();
    Scratch S;
    S.neu1.assign(static_cast<size_t>(cfg.dim), 0.0f);
    S.neu1e.assign(static_cast<size_t>(cfg.dim), 0.0f);
    S.sent.reserve(static_cast<size_t>(cfg.max_sentence));
#pragma omp for schedule(dynamic, 1)
    for (long c = 0; c < n_chunks; ++c) {
      const size_t b = chunk_start[c], e = chunk_start[c + 1];
      const int64_t pos = sched.words_before + pieces[b].begin;  // the chunk's first word in the run
      float alpha = static_cast<float>(cfg.alpha - (cfg.alpha - cfg.min_alpha) * (static_cast<double>(pos) / span));
      alpha = std::max(alpha, cfg.min_alpha);
      SplitMix64 rng{mix(sched.seed, static_cast<uint64_t>(pos))};
      train_chunk(P, ids, pieces.data(), b, e, cfg, noise, keep, alpha, rng, S, per[t]);
    }
  }
  Word2VecStats out;
  for (const auto& s : per) {
    out.loss += s.loss;
    out.examples += s.examples;
    out.words += s.words;
    out.effective += s.effective;
  }
  out.last_alpha = static_cast<float>(std::max<double>(
      cfg.min_alpha, cfg.alpha - (cfg.alpha - cfg.min_alpha) *
                                     (static_cast<double>(sched.words_before + (n_docs ? doc_end[n_docs - 1] : 0)) / span)));
  return out;
}

}  // namespace pfn
