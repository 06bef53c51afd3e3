#include "rnn/optim.h"

#include <cmath>

#include "common/cpu.h"
#include "common/parallel.h"

namespace pfn::rnn {
namespace {

PFN_TARGET_CLONES
void sgd(size_t n, float* p, const float* g, float* buf, float lr, float mu, float wd, bool first, float s) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    float d = g[i] * s + wd * p[i];
    if (mu != 0.0f) {
      d = first ? d : mu * buf[i] + d;
      buf[i] = d;
    }
    p[i] -= lr * d;
  }
}

PFN_TARGET_CLONES
void adagrad(size_t n, float* p, const float* g, float* sum, float lr, float eps, float wd, float s) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float d = g[i] * s + wd * p[i];
    sum[i] += d * d;
    p[i] -= lr * d / (std::sqrt(sum[i]) + eps);
  }
}

PFN_TARGET_CLONES
void adam(size_t n, float* p, const float* g, float* m, float* v, float b1, float b2, float step_size,
          float sqrt_bc2, float eps, float wd, float s) {
#pragma omp simd
  for (size_t i = 0; i < n; ++i) {
    const float d = g[i] * s + wd * p[i];
    m[i] = b1 * m[i] + (1.0f - b1) * d;
    v[i] = b2 * v[i] + (1.0f - b2) * d * d;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + eps);
  }
}

PFN_TARGET_CLONES
double squares(size_t n, const float* g) {
  double acc = 0.0;
#pragma omp simd reduction(+ : acc)
  for (size_t i = 0; i < n; ++i) acc += static_cast<double>(g[i]) * g[i];
  return acc;
}

}  // namespace

void optim_step(const OptimConfig& cfg, size_t n, float* p, const float* g, float* state1,
                float* state2, int64_t step, float grad_scale, int threads) {
  constexpr size_t chunk = 1 << 15;
  const int nt = n < 2 * chunk ? 1 : resolve_threads(threads);
  const double bc1 = 1.0 - std::pow(static_cast<double>(cfg.beta1), static_cast<double>(step));
  const double bc2 = 1.0 - std::pow(static_cast<double>(cfg.beta2), static_cast<double>(step));
  const float step_size = static_cast<float>(cfg.lr / bc1), sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
#pragma omp parallel for num_threads(nt) schedule(static) if (nt > 1)
  for (size_t i0 = 0; i0 < n; i0 += chunk) {
    const size_t m = n - i0 < chunk ? n - i0 : chunk;
    switch (cfg.kind) {
      case Optimizer::SGD:
        sgd(m, p + i0, g + i0, state1 + i0, cfg.lr, cfg.momentum, cfg.weight_decay, step == 1, grad_scale);
        break;
      case Optimizer::Adagrad:
        adagrad(m, p + i0, g + i0, state1 + i0, cfg.lr, cfg.eps, cfg.weight_decay, grad_scale);
        break;
      case Optimizer::Adam:
        adam(m, p + i0, g + i0, state1 + i0, state2 + i0, cfg.beta1, cfg.beta2, step_size, sqrt_bc2,
             cfg.eps, cfg.weight_decay, grad_scale);
        break;
    }
  }
}

double sum_squares(size_t n, const float* g) { return squares(n, g); }

}  // namespace pfn::rnn
