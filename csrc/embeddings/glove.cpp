#include "embeddings/glove.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/cpu.h"
#include "common/parallel.h"
#include "common/rng.h"

namespace pfn {
namespace {

using Rng = SplitMix64;

// One AdaGrad step per record (the reference's update, in float32) on the blocks of
// word i and context j. u1/u2: dim floats of scratch.
PFN_TARGET_CLONES
void train_share(float* P, int64_t V, int dim, size_t B, const GloveRecord* rec, size_t n,
                 float eta, float clip, float* u1, float* u2, double* cost_out,
                 uint64_t* skipped_out) {
  double cost = 0;
  uint64_t skipped = 0;
  for (size_t r = 0; r < n; ++r) {
    const GloveRecord R = rec[r];
    float* wi = P + static_cast<size_t>(R.i) * B;
    float* wj = P + static_cast<size_t>(V + R.j) * B;
    float* gi = wi + dim + 1;
    float* gj = wj + dim + 1;
    float dot = 0;
#pragma omp simd reduction(+ : dot)
    for (int k = 0; k < dim; ++k) dot += wi[k] * wj[k];
    const float diff = dot + wi[dim] + wj[dim] - R.logx;
    float fdiff = R.weight * diff;
    if (!std::isfinite(fdiff)) {
      ++skipped;
      continue;
    }
    cost += 0.5 * static_cast<double>(fdiff) * static_cast<double>(diff);
    fdiff *= eta;
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int k = 0; k < dim; ++k) {
      float t1 = fdiff * wj[k], t2 = fdiff * wi[k];
      t1 = t1 > clip ? clip : (t1 < -clip ? -clip : t1);
      t2 = t2 > clip ? clip : (t2 < -clip ? -clip : t2);
      u1[k] = t1 / std::sqrt(gi[k]);
      u2[k] = t2 / std::sqrt(gj[k]);
      gi[k] += t1 * t1;
      gj[k] += t2 * t2;
      s += u1[k] + u2[k];
    }
    if (std::isfinite(s)) {
#pragma omp simd
      for (int k = 0; k < dim; ++k) {
        wi[k] -= u1[k];
        wj[k] -= u2[k];
      }
    } else {
      ++skipped;
    }
    // Biases: not clipped, as in the reference.
    const float ub1 = fdiff / std::sqrt(gi[dim]), ub2 = fdiff / std::sqrt(gj[dim]);
    if (std::isfinite(ub1)) wi[dim] -= ub1;
    if (std::isfinite(ub2)) wj[dim] -= ub2;
    const float f2 = fdiff * fdiff;
    gi[dim] += f2;
    gj[dim] += f2;
  }
  *cost_out = cost;
  *skipped_out = skipped;
}

}  // namespace

GloveData glove_records(const int32_t* row, const int32_t* col, const float* val, size_t n,
                        const GloveConfig& cfg, uint64_t seed) {
  GloveData out;
  out.rec = Buffer<GloveRecord>(n);
  GloveRecord* o = out.rec.data();
  const double xmax = cfg.x_max, alpha = cfg.alpha;
  auto make = [&](size_t k) {
    const double x = val[k];
    return GloveRecord{row[k], col[k], static_cast<float>(std::log(x)),
                       static_cast<float>(x > xmax ? 1.0 : std::pow(x / xmax, alpha))};
  };
  Rng rng{seed ^ 0x5851F42D4C957F2Dull};
  auto shuffle = [&](GloveRecord* a, size_t m) {  // Fisher-Yates
    for (size_t k = m; k > 1; --k) std::swap(a[k - 1], a[rng.below(k)]);
  };
  if (cfg.tile_words <= 0) {
#pragma omp parallel for num_threads(resolve_threads(cfg.threads, n)) schedule(static)
    for (long k = 0; k < static_cast<long>(n); ++k) o[k] = make(static_cast<size_t>(k));
    shuffle(o, n);
    constexpr size_t kChunk = 1 << 16;
    for (size_t b = 0; b < n; b += kChunk) out.tile_start.push_back(b);
    out.tile_start.push_back(n);
    return out;
  }
  // Blocked order: words in groups of tile_words consecutive ids (ids follow frequency,
  // so frequent words share groups); the records of each (word group, context group)
  // tile are shuffled and kept together. A tile's parameters fit in a core's L2 cache,
  // and the caller visits the tiles in a new random order every epoch. Records are
  // placed straight into their tiles (a counting sort), so there is one copy.
  int64_t V = 0;
  for (size_t k = 0; k < n; ++k) V = std::max<int64_t>(V, std::max(row[k], col[k]) + 1);
  // At most 2048 x 2048 tiles, so a huge vocabulary does not make a huge tile table.
  const int64_t g = std::max<int64_t>(cfg.tile_words, (V + 2047) / 2048);
  const int64_t G = (V + g - 1) / g;
  std::vector<size_t> start(static_cast<size_t>(G * G) + 1, 0);
  auto tile_of = [&](size_t k) { return static_cast<size_t>((row[k] / g) * G + col[k] / g); };
  for (size_t k = 0; k < n; ++k) ++start[tile_of(k) + 1];
  for (size_t t = 0; t < static_cast<size_t>(G * G); ++t) start[t + 1] += start[t];
  {
    std::vector<size_t> pos(start.begin(), start.end() - 1);
    for (size_t k = 0; k < n; ++k) o[pos[tile_of(k)]++] = make(k);
  }
  // Big tiles are cut so threads share the work evenly; empty ones are dropped.
  constexpr size_t kMaxTile = 1 << 17;
  out.tile_start.push_back(0);
  for (size_t t = 0; t < static_cast<size_t>(G * G); ++t) {
    shuffle(o + start[t], start[t + 1] - start[t]);
    for (size_t b = start[t]; b < start[t + 1]; b += kMaxTile)
      out.tile_start.push_back(std::min(b + kMaxTile, start[t + 1]));
  }
  return out;
}

void glove_init(float* params, int64_t V, int dim, uint64_t seed) {
  const size_t B = glove_block(dim);
  Rng rng{seed};
  for (int64_t v = 0; v < 2 * V; ++v) {
    float* p = params + static_cast<size_t>(v) * B;
    std::fill(p, p + B, 0.0f);
    for (int k = 0; k <= dim; ++k) p[k] = static_cast<float>((rng.uniform() - 0.5) / dim);  // w, bias
    std::fill(p + dim + 1, p + 2 * dim + 2, 1.0f);  // AdaGrad sums (with the bias's)
  }
}

GloveEpoch glove_train(float* params, int64_t V, const GloveData& data, const int64_t* order,
                       size_t n_order, const GloveConfig& cfg) {
  const int dim = cfg.dim;
  const size_t B = glove_block(dim);
  size_t n = 0;
  for (size_t k = 0; k < n_order; ++k) n += data.tile_start[order[k] + 1] - data.tile_start[order[k]];
  const int T = resolve_threads(cfg.threads, n, 4096);
  std::vector<double> cost(T, 0.0);
  std::vector<uint64_t> skipped(T, 0);
#pragma omp parallel num_threads(T)
  {
    const int t = thread_id();
    std::vector<float> u(2 * static_cast<size_t>(dim));
#pragma omp for schedule(dynamic, 1)
    for (long k = 0; k < static_cast<long>(n_order); ++k) {
      const size_t b = data.tile_start[order[k]], e = data.tile_start[order[k] + 1];
      double c = 0;
      uint64_t sk = 0;
      train_share(params, V, dim, B, data.rec.data() + b, e - b, cfg.eta, cfg.grad_clip, u.data(),
                  u.data() + dim, &c, &sk);
      cost[t] += c;
      skipped[t] += sk;
    }
  }
  GloveEpoch out;
  for (int t = 0; t < T; ++t) {
    out.cost += cost[t];
    out.skipped += skipped[t];
  }
  return out;
}

}  // namespace pfn
