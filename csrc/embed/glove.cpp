#include "embed/glove.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/cpu.h"
#include "common/parallel.h"

namespace pfn {
namespace {

// splitmix64: small, fast, good enough for initialisation and shuffling.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
};

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

Buffer<GloveRecord> glove_records(const int32_t* row, const int32_t* col, const float* val,
                                  size_t n, const GloveConfig& cfg, uint64_t seed) {
  Buffer<GloveRecord> out(n);
  GloveRecord* o = out.data();
  const double xmax = cfg.x_max, alpha = cfg.alpha;
#pragma omp parallel for num_threads(resolve_threads(cfg.threads, n)) schedule(static)
  for (long k = 0; k < static_cast<long>(n); ++k) {
    const double x = val[k];
    o[k].i = row[k];
    o[k].j = col[k];
    o[k].logx = static_cast<float>(std::log(x));
    o[k].weight = static_cast<float>(x > xmax ? 1.0 : std::pow(x / xmax, alpha));
  }
  Rng rng{seed ^ 0x5851F42D4C957F2Dull};  // Fisher-Yates
  for (size_t k = n; k > 1; --k) std::swap(o[k - 1], o[rng.below(k)]);
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

GloveEpoch glove_train(float* params, int64_t V, const GloveRecord* rec, size_t begin,
                       size_t end, const GloveConfig& cfg) {
  const int dim = cfg.dim;
  const size_t B = glove_block(dim);
  const size_t n = end > begin ? end - begin : 0;
  const int T = resolve_threads(cfg.threads, n, 4096);
  std::vector<double> cost(T, 0.0);
  std::vector<uint64_t> skipped(T, 0);
#pragma omp parallel num_threads(T)
  {
#ifdef _OPENMP
    const int t = omp_get_thread_num();
#else
    const int t = 0;
#endif
    std::vector<float> u(2 * static_cast<size_t>(dim));
    const size_t b = begin + n * t / T, e = begin + n * (t + 1) / T;
    train_share(params, V, dim, B, rec + b, e - b, cfg.eta, cfg.grad_clip, u.data(),
                u.data() + dim, &cost[t], &skipped[t]);
  }
  GloveEpoch out;
  for (int t = 0; t < T; ++t) {
    out.cost += cost[t];
    out.skipped += skipped[t];
  }
  return out;
}

}  // namespace pfn
