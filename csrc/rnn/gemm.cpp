#include "rnn/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/buffer.h"
#include "common/parallel.h"

namespace pfn::rnn {

const KernelTable& kernels() {
  static const KernelTable* table = [] {
    // PYFAST_NLP_KERNELS=generic or avx2 picks a narrower set than the CPU allows (to test
    // or compare them); a set the CPU lacks is never picked.
    const char* want = std::getenv("PYFAST_NLP_KERNELS");
    const std::string cap = want ? want : "";
#if defined(__GNUC__) && defined(__x86_64__)
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (cap != "generic" && cap != "avx2" && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl"))
      return kernels_avx512();
    if (cap != "generic" && avx2) return kernels_avx2();
#endif
    return kernels_generic();
  }();
  return *table;
}

size_t packed_size(int K, int N) {
  const int nr = kernels().nr;
  return static_cast<size_t>((N + nr - 1) / nr) * nr * static_cast<size_t>(K);
}

void pack_b(int K, int N, const float* b, std::ptrdiff_t rsb, std::ptrdiff_t csb,
            const int* colmap, float* out) {
  const int nr = kernels().nr;
  for (int j0 = 0; j0 < N; j0 += nr) {
    float* panel = out + static_cast<std::ptrdiff_t>(j0) * K;
    const int w = std::min(nr, N - j0);
    for (int k = 0; k < K; ++k) {
      float* row = panel + static_cast<std::ptrdiff_t>(k) * nr;
      const float* src = b + k * rsb;
      int j = 0;
      for (; j < w; ++j) row[j] = src[(colmap ? colmap[j0 + j] : j0 + j) * csb];
      for (; j < nr; ++j) row[j] = 0.0f;
    }
  }
}

void gemm(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa,
          const float* b, std::ptrdiff_t rsb, std::ptrdiff_t csb, float* c, std::ptrdiff_t ldc,
          bool accumulate, int threads) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int i = 0; i < M; ++i) std::fill(c + i * ldc, c + i * ldc + N, 0.0f);
    return;
  }
  const KernelTable& kt = kernels();
  const int nr = kt.nr;
  // Jobs are (block of mc rows) x (group of panels, kc x 512 floats of packed B: 1 MiB, the
  // size of one core's L2 here, so partly served from L3; narrower groups, which re-pack A more
  // often, measured slower). Consecutive jobs share a panel group, so a core reuses that part
  // of B from its caches job after job; each job packs its A block (mc x kc, 256 KiB) once.
  // kc 512 rather than 256 halves the passes over C when K >= 512: the layers'
  // large products ran 5-10 % faster standalone (e.g. 8192 x 512 x 2048, 1 thread: 95 -> 103-107
  // GFLOP/s), LSTM 512x2 training steps 1-4 %.
#ifndef PFN_GEMM_MC
#define PFN_GEMM_MC 128
#endif
#ifndef PFN_GEMM_KC
#define PFN_GEMM_KC 512
#endif
  constexpr int kc = PFN_GEMM_KC;
  const int npanels = (N + nr - 1) / nr;
  const double flops = 2.0 * M * N * K;
  const int nt = flops < 2e6 ? 1 : resolve_threads(threads);
  int panels_per_job = std::max(1, std::min(npanels, 512 / nr));
  // Too few jobs for the threads: smaller row blocks first, down to 4 strips, and only then
  // narrower panel groups, because every job packs its A block again (weight gradients such
  // as 512 x 8192 x 128, A stored transposed, read that A twice from memory; at 2 threads that
  // product went from 145 to 160-165 GFLOP/s).
  const int mr = kt.mr;
  auto block_rows = [&](int blocks) { return ((M + blocks - 1) / blocks + mr - 1) / mr * mr; };
  int mc = std::min(PFN_GEMM_MC, block_rows(1));
  auto jobs = [&] { return ((M + mc - 1) / mc) * ((npanels + panels_per_job - 1) / panels_per_job); };
  for (int blocks = (M + mc - 1) / mc; jobs() < 4 * nt && block_rows(2 * blocks) >= 4 * mr; blocks *= 2)
    mc = block_rows(2 * blocks);
  while (panels_per_job > 2 && jobs() < 4 * nt) panels_per_job = (panels_per_job + 1) / 2;
  const int mjobs = (M + mc - 1) / mc;
  const int njobs = (npanels + panels_per_job - 1) / panels_per_job;
  Buffer<float> packed(static_cast<size_t>(npanels) * nr * std::min(K, kc));
#pragma omp parallel num_threads(nt) if (nt > 1)
  for (int k0 = 0; k0 < K; k0 += kc) {
    const int kb = std::min(kc, K - k0);
#pragma omp for schedule(static)
    for (int p = 0; p < npanels; ++p) {
      const int j0 = p * nr, w = std::min(nr, N - j0);
      float* panel = packed.data() + static_cast<size_t>(p) * nr * kb;
      for (int k = 0; k < kb; ++k) {
        float* row = panel + k * nr;
        const float* src = b + (k0 + k) * rsb + j0 * csb;
        int j = 0;
        if (csb == 1)
          for (; j < w; ++j) row[j] = src[j];
        else
          for (; j < w; ++j) row[j] = src[j * csb];
        for (; j < nr; ++j) row[j] = 0.0f;
      }
    }
    Buffer<float> work(gemm_work_size(mc, kb));
#pragma omp for schedule(dynamic, 1)
    for (int job = 0; job < mjobs * njobs; ++job) {
      const int i0 = (job % mjobs) * mc, p0 = (job / mjobs) * panels_per_job;
      const int m = std::min(mc, M - i0);
      const int j0 = p0 * nr, n = std::min(panels_per_job * nr, N - j0);
      kt.gemm_packed(m, n, kb, a + i0 * rsa + k0 * csa, rsa, csa,
                     packed.data() + static_cast<size_t>(p0) * nr * kb, c + i0 * ldc + j0, ldc,
                     accumulate || k0 > 0, work.data());
    }
  }
}

void gemm_reference(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa,
                    const float* b, std::ptrdiff_t rsb, std::ptrdiff_t csb, float* c,
                    std::ptrdiff_t ldc, bool accumulate) {
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      double s = accumulate ? c[i * ldc + j] : 0.0;
      for (int k = 0; k < K; ++k) s += double(a[i * rsa + k * csa]) * b[k * rsb + j * csb];
      c[i * ldc + j] = static_cast<float>(s);
    }
}

}  // namespace pfn::rnn
