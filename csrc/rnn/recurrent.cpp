#include "rnn/recurrent.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/parallel.h"
#include "rnn/gemm.h"

namespace pfn::rnn {
namespace {

using std::ptrdiff_t;

// Each thread owns a contiguous range of hidden units for the whole sequence: it computes all
// G gates of those units, so the element-wise pass needs nothing from other threads and the
// threads meet once per time step (after h_t, or dgates_t, is complete).
int threads_for(int H, int B, int threads) {
  int nt = std::max(1, threads);
  nt = std::min(nt, std::max(1, H / 16));  // at least 16 units each
  if (static_cast<double>(B) * H * H < 32768) nt = 1;  // too small to share
  return nt;
}

void unit_range(int H, int nt, int t, int& u0, int& u1) {
  u0 = static_cast<int>(static_cast<int64_t>(H) * t / nt);
  u1 = static_cast<int>(static_cast<int64_t>(H) * (t + 1) / nt);
}

void check_ids(const int32_t* ids, size_t n, int I) {
  for (size_t i = 0; i < n; ++i)
    if (ids[i] < 0 || ids[i] >= I)
      throw std::out_of_range("input id " + std::to_string(ids[i]) + " at position " +
                              std::to_string(i) + " is outside [0, " + std::to_string(I) + ")");
}

// Column sums of columns [c0, c1) of an (N, ld) matrix, added to out[c0..c1): rows split over
// threads, float partial sums per thread in contiguous (vectorised) row order.
void add_colsum(const float* m, size_t N, int ld, int c0, int c1, float* out, int threads) {
  const int C = c1 - c0;
  const int nt = N * C < (1 << 16) ? 1 : std::max(1, threads);
  std::vector<float> part(static_cast<size_t>(nt) * C, 0.0f);
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int t = thread_id();
    float* acc = part.data() + static_cast<size_t>(t) * C;
    const size_t n0 = N * t / nt, n1 = N * (t + 1) / nt;
    for (size_t n = n0; n < n1; ++n) {
      const float* row = m + n * ld + c0;
#pragma omp simd
      for (int j = 0; j < C; ++j) acc[j] += row[j];
    }
  }
  for (int j = 0; j < C; ++j) {
    double s = 0.0;
    for (int t = 0; t < nt; ++t) s += part[static_cast<size_t>(t) * C + j];
    out[c0 + j] += static_cast<float>(s);
  }
}
}  // namespace

void layer_forward(const LayerShape& s, const float* x, const int32_t* ids, const float* h0,
                   const float* c0, const LayerWeights& w, LayerCache& cache, int threads,
                   bool save_for_backward) {
  threads = resolve_threads(threads);
  const int T = s.T, B = s.B, I = s.I, H = s.H, G = gates_of(s.cell), GH = G * H;
  const size_t N = static_cast<size_t>(T) * B;
  const KernelTable& kt = kernels();
  if (ids) check_ids(ids, N, I);
  cache.s = s;
  cache.ids_input = ids != nullptr;
  cache.saved = save_for_backward;
  cache.ids.clear();
  cache.x.clear();
  cache.w_ih.clear();
  cache.w_hh.clear();
  if (save_for_backward) {
    if (ids)
      std::copy(ids, ids + N, cache.ids.resize(N));
    else
      std::copy(x, x + N * I, cache.x.resize(N * I));
    std::copy(w.w_ih, w.w_ih + static_cast<size_t>(GH) * I, cache.w_ih.resize(static_cast<size_t>(GH) * I));
    std::copy(w.w_hh, w.w_hh + static_cast<size_t>(GH) * H, cache.w_hh.resize(static_cast<size_t>(GH) * H));
  }
  std::copy(h0, h0 + static_cast<size_t>(B) * H, cache.hs.resize((N + B) * H));
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU;
  cache.cs.clear();
  if (lstm) std::copy(c0, c0 + static_cast<size_t>(B) * H, cache.cs.resize((N + B) * H));
  // Activations of one step are enough when nothing is saved for backward.
  const size_t saved_steps = save_for_backward ? T : 1;
  cache.gates.resize(lstm || gru ? saved_steps * B * GH : 0);
  cache.aux.resize(lstm || gru ? saved_steps * B * H : 0);

  // Input projection: for id input, row ids[n] of wt = w_ih^T + bias, read by the steps
  // themselves (a (T*B, G*H) copy of the rows would be written and read back through memory);
  // otherwise one product for all steps. b_hh joins b_ih except in the GRU, whose n gate
  // needs W_hn h + b_hn on its own.
  std::vector<float> bias(GH);
  for (int j = 0; j < GH; ++j) bias[j] = w.b_ih[j] + (gru ? 0.0f : w.b_hh[j]);
  std::vector<float> wt;
  float* xproj = nullptr;
  const int nt = threads_for(H, B, threads);
  // Dense input to an RNN or LSTM layer whose steps use every thread: each step's input
  // product runs inside the step, on the thread's own gate columns, instead of one product for
  // all steps beforehand, which wrote a (T*B, G*H) projection (64 MB for LSTM 512), added the
  // bias over it and read it back step by step.
  const bool fused = !ids && !gru && nt == threads;
  if (ids) {
    wt.resize(static_cast<size_t>(I) * GH);
    for (int i = 0; i < I; ++i)
      for (int g = 0; g < GH; ++g)
        wt[static_cast<size_t>(i) * GH + g] = w.w_ih[static_cast<size_t>(g) * I + i] + bias[g];
  } else if (!fused) {
    xproj = cache.work.resize(N * GH);
    gemm(static_cast<int>(N), GH, I, x, I, 1, w.w_ih, 1, I, xproj, GH, false, threads);
#pragma omp parallel for num_threads(threads) schedule(static) if (N * GH > (1 << 16))
    for (ptrdiff_t n = 0; n < static_cast<ptrdiff_t>(N); ++n) {
      float* dst = xproj + n * GH;
      for (int j = 0; j < GH; ++j) dst[j] += bias[j];
    }
  }

  // Per-thread buffers, allocated here: an allocation failing inside the parallel region
  // could not be reported.
  std::vector<Buffer<float>> packed(nt), packed_ih(nt), local(nt);  // 64-byte aligned
  std::vector<std::vector<int>> colmaps(nt);
  for (int t = 0; t < nt; ++t) {
    int u0, u1;
    unit_range(H, nt, t, u0, u1);
    const int Hs = u1 - u0, NL = G * Hs;
    colmaps[t].resize(NL);
    for (int g = 0; g < G; ++g)
      for (int u = 0; u < Hs; ++u) colmaps[t][g * Hs + u] = g * H + u0 + u;
    packed[t] = Buffer<float>(packed_size(H, NL));
    if (fused) packed_ih[t] = Buffer<float>(packed_size(I, NL));
    local[t] = Buffer<float>(static_cast<size_t>(B) * NL);
  }
  float* hs = cache.hs.data();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = thread_id();
    int u0, u1;
    unit_range(H, nt, tid, u0, u1);
    const int Hs = u1 - u0, NL = G * Hs;
    // W_hh^T restricted to this thread's gate columns: B(k, j) = w_hh[colmap[j]*H + k]
    pack_b(H, NL, w.w_hh, 1, H, colmaps[tid].data(), packed[tid].data());
    if (fused) pack_b(I, NL, w.w_ih, 1, I, colmaps[tid].data(), packed_ih[tid].data());
    float* gl = local[tid].data();
    for (int t = 0; t < T; ++t) {
      // xrow(b): this step's input projection for batch row b
      auto xrow = [&](int b) {
        const size_t n = static_cast<size_t>(t) * B + b;
        return ids ? wt.data() + static_cast<size_t>(ids[n]) * GH : xproj + n * GH;
      };
      const size_t st = save_for_backward ? t : 0;
      for (int b = 0; b < B; ++b)
        for (int g = 0; g < G; ++g) {
          const float* src = gru ? w.b_hh + g * H + u0 : fused ? bias.data() + g * H + u0 : xrow(b) + g * H + u0;
          std::memcpy(gl + static_cast<size_t>(b) * NL + g * Hs, src, Hs * sizeof(float));
        }
      if (fused)
        kt.gemm_packed(B, NL, I, x + static_cast<size_t>(t) * B * I, I, 1, packed_ih[tid].data(), gl, NL,
                       true, nullptr);
      const float* hprev = hs + static_cast<size_t>(t) * B * H;
      float* hnext = hs + static_cast<size_t>(t + 1) * B * H;
      kt.gemm_packed(B, NL, H, hprev, H, 1, packed[tid].data(), gl, NL, true, nullptr);
      for (int b = 0; b < B; ++b) {
        const float* row = gl + static_cast<size_t>(b) * NL;
        const size_t o = static_cast<size_t>(b) * H + u0;
        if (lstm) {
          float* ga = cache.gates.data() + (st * B + b) * GH + u0;
          const float* cprev = cache.cs.data() + static_cast<size_t>(t) * B * H + o;
          float* cnext = cache.cs.data() + static_cast<size_t>(t + 1) * B * H + o;
          kt.lstm_forward(Hs, row, row + Hs, row + 2 * Hs, row + 3 * Hs, cprev, ga, ga + H,
                          ga + 2 * H, ga + 3 * H, cnext, cache.aux.data() + st * B * H + o,
                          hnext + o);
        } else if (gru) {
          const float* xr = xrow(b) + u0;
          float* ga = cache.gates.data() + (st * B + b) * GH + u0;
          kt.gru_forward(Hs, xr, xr + H, xr + 2 * H, row, row + Hs, row + 2 * Hs, hprev + o, ga,
                         ga + H, ga + 2 * H, cache.aux.data() + st * B * H + o, hnext + o);
        } else {
          std::memcpy(hnext + o, row, Hs * sizeof(float));
          kt.tanh_inplace(Hs, hnext + o);
        }
      }
#pragma omp barrier
    }
  }
}

void layer_backward(LayerCache& cache, const float* dy, const float* dh_n, const float* dc_n,
                    const LayerGrads& gr, int threads) {
  threads = resolve_threads(threads);
  const LayerShape& s = cache.s;
  const int T = s.T, B = s.B, I = s.I, H = s.H, G = gates_of(s.cell), GH = G * H;
  const size_t N = static_cast<size_t>(T) * B;
  if (!cache.saved) throw std::invalid_argument("this forward pass saved nothing for backward");
  const KernelTable& kt = kernels();
  const bool lstm = s.cell == Cell::LSTM, gru = s.cell == Cell::GRU;
  // Gate gradients live in the cache's workspace.
  float* dgx = cache.work.resize(N * GH);
  float* dgh = gru ? cache.work2.resize(N * GH) : dgx;  // gradient at W_hh h (+ b_hh)

  const int nt = threads_for(H, B, threads);
  std::vector<Buffer<float>> packed(nt), dh_recs(nt);
  std::vector<std::vector<float>> dhs(nt), dcs(nt);
  std::vector<std::vector<int>> colmaps(nt);
  for (int t = 0; t < nt; ++t) {
    int u0, u1;
    unit_range(H, nt, t, u0, u1);
    dh_recs[t] = Buffer<float>(static_cast<size_t>(B) * (u1 - u0));
    std::fill(dh_recs[t].data(), dh_recs[t].data() + dh_recs[t].size(), 0.0f);
    dhs[t].resize(u1 - u0);
    if (lstm) dcs[t].assign(static_cast<size_t>(B) * (u1 - u0), 0.0f);
    colmaps[t].resize(u1 - u0);
    for (int u = u0; u < u1; ++u) colmaps[t][u - u0] = u;
    packed[t] = Buffer<float>(packed_size(GH, u1 - u0));
  }
  const float* hs = cache.hs.data();
#pragma omp parallel num_threads(nt) if (nt > 1)
  {
    const int tid = thread_id();
    int u0, u1;
    unit_range(H, nt, tid, u0, u1);
    const int Hs = u1 - u0;
    // W_hh restricted to this thread's units: B(k, j) = w_hh[k*H + u0 + j], K = G*H
    pack_b(GH, Hs, cache.w_hh.data(), H, 1, colmaps[tid].data(), packed[tid].data());
    Buffer<float>& dh_rec = dh_recs[tid];
    std::vector<float>&dh = dhs[tid], &dc = dcs[tid];
    for (int b = 0; b < B; ++b) {
      if (dh_n) std::memcpy(&dh_rec[b * Hs], dh_n + static_cast<size_t>(b) * H + u0, Hs * sizeof(float));
      if (lstm && dc_n) std::memcpy(&dc[b * Hs], dc_n + static_cast<size_t>(b) * H + u0, Hs * sizeof(float));
    }
    for (int t = T - 1; t >= 0; --t) {
      for (int b = 0; b < B; ++b) {
        const size_t o = (static_cast<size_t>(t) * B + b) * H + u0;  // (t, b, u0) in (T,B,H)
        const size_t og = (static_cast<size_t>(t) * B + b) * GH + u0;
        float* rec = &dh_rec[b * Hs];
        for (int u = 0; u < Hs; ++u) dh[u] = rec[u] + (dy ? dy[o + u] : 0.0f);
        if (lstm) {
          const float* ga = cache.gates.data() + og;
          float* d = dgx + og;
          kt.lstm_backward(Hs, ga, ga + H, ga + 2 * H, ga + 3 * H, cache.cs.data() + o,
                           cache.aux.data() + o, dh.data(), &dc[b * Hs], d, d + H, d + 2 * H, d + 3 * H);
        } else if (gru) {
          const float* ga = cache.gates.data() + og;
          float* d = dgx + og;
          float* dh2 = dgh + og;
          kt.gru_backward(Hs, ga, ga + H, ga + 2 * H, cache.aux.data() + o, hs + o, dh.data(), d,
                          d + H, d + 2 * H, dh2 + 2 * H, rec);
          std::memcpy(dh2, d, Hs * sizeof(float));
          std::memcpy(dh2 + H, d + H, Hs * sizeof(float));
        } else {
          kt.tanh_backward(Hs, hs + o + static_cast<size_t>(B) * H, dh.data(), dgx + og);
        }
      }
#pragma omp barrier
      // dh_{t-1}[:, own] (+)= dgates_t (B, G*H) . W_hh[:, own]; the GRU adds to z*dh
      kt.gemm_packed(B, Hs, GH, dgh + static_cast<size_t>(t) * B * GH, GH, 1, packed[tid].data(),
                     dh_rec.data(), Hs, gru, nullptr);
    }
    for (int b = 0; b < B; ++b) {
      if (gr.dh0)
        for (int u = 0; u < Hs; ++u) gr.dh0[static_cast<size_t>(b) * H + u0 + u] += dh_rec[b * Hs + u];
      if (lstm && gr.dc0)
        for (int u = 0; u < Hs; ++u) gr.dc0[static_cast<size_t>(b) * H + u0 + u] += dc[b * Hs + u];
    }
  }
  // Weight gradients as one product each over all T*B rows.
  if (gr.dw_hh) gemm(GH, H, static_cast<int>(N), dgh, 1, GH, hs, H, 1, gr.dw_hh, H, true, threads);
  // Bias gradients: column sums of the gate gradients. b_hh gets the same as b_ih except the
  // GRU's n block, where it sees the gradient at W_hn h + b_hn.
  std::vector<float> db(GH, 0.0f);
  if (cache.ids_input && gr.dw_ih) {
    // scatter-add rows of dgates into w_ih^T (one row per symbol), split over gate columns;
    // the bias gradient is then the sum of those I rows
    std::vector<float> dwt(static_cast<size_t>(I) * GH, 0.0f);
    const int nt2 = N * GH < (1 << 16) ? 1 : threads;
#pragma omp parallel num_threads(nt2) if (nt2 > 1)
    {
      int g0, g1;
      unit_range(GH, nt2, thread_id(), g0, g1);
      const int32_t* ids = cache.ids.data();
      for (size_t n = 0; n < N; ++n) {
        float* dst = dwt.data() + static_cast<size_t>(ids[n]) * GH;
        const float* src = dgx + n * GH;
#pragma omp simd
        for (int g = g0; g < g1; ++g) dst[g] += src[g];
      }
    }
    add_colsum(dwt.data(), I, GH, 0, GH, db.data(), 1);
    for (int g = 0; g < GH; ++g)
      for (int i = 0; i < I; ++i) gr.dw_ih[static_cast<size_t>(g) * I + i] += dwt[static_cast<size_t>(i) * GH + g];
  } else if (gr.db_ih || gr.db_hh) {
    add_colsum(dgx, N, GH, 0, GH, db.data(), threads);
  }
  if (gr.db_ih)
    for (int g = 0; g < GH; ++g) gr.db_ih[g] += db[g];
  if (gr.db_hh) {
    if (gru) {
      std::fill(db.begin() + 2 * H, db.end(), 0.0f);
      add_colsum(dgh, N, GH, 2 * H, GH, db.data(), threads);
    }
    for (int g = 0; g < GH; ++g) gr.db_hh[g] += db[g];
  }
  if (!cache.ids_input) {
    if (gr.dw_ih) gemm(GH, I, static_cast<int>(N), dgx, 1, GH, cache.x.data(), I, 1, gr.dw_ih, I, true, threads);
    if (gr.dx) gemm(static_cast<int>(N), I, GH, dgx, GH, 1, cache.w_ih.data(), I, 1, gr.dx, I, true, threads);
  }
}

double softmax_xent_forward_backward(int N, int H, int V, const float* y, const float* w,
                                     const float* b, const int32_t* targets, float scale,
                                     float* dy, bool dy_accumulate, float* dw, float* db,
                                     float* logits_out, int threads) {
  threads = resolve_threads(threads);
  check_ids(targets, N, V);
  const KernelTable& kt = kernels();
  // Not zero-filled: the product writes every logit, the softmax every dlogit.
  Buffer<float> logits(static_cast<size_t>(N) * V);
  gemm(N, V, H, y, H, 1, w, 1, H, logits.data(), V, false, threads);
  const bool grads = dw || db || dy;
  Buffer<float> dlog(grads ? static_cast<size_t>(N) * V : 0);
  double loss = 0.0;
  const int nt = static_cast<size_t>(N) * V < (1 << 14) ? 1 : threads;
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : loss) if (nt > 1)
  for (int n = 0; n < N; ++n) {
    float* row = logits.data() + static_cast<size_t>(n) * V;
    for (int j = 0; j < V; ++j) row[j] += b[j];
    loss += kt.softmax_xent(V, row, targets[n], grads ? dlog.data() + static_cast<size_t>(n) * V : nullptr, scale);
  }
  if (logits_out) std::copy(logits.data(), logits.data() + logits.size(), logits_out);
  if (!grads) return loss;
  if (dw && H > 3 * V) {
    // Few symbols, wide layer: dW^T = y^T dlogits, then added transposed. The other way round
    // the product has only V rows, packs all of y (N x H) as its B and re-packs dlogits per
    // job (8192 x 65 x 512, 2 threads: 6.0 -> 4.8 ms; at H = 128 it is slower, hence H > 3V).
    Buffer<float> dwt(static_cast<size_t>(H) * V);
    gemm(H, V, N, y, 1, H, dlog.data(), V, 1, dwt.data(), V, false, threads);
    for (int v = 0; v < V; ++v)
      for (int h = 0; h < H; ++h) dw[static_cast<size_t>(v) * H + h] += dwt[static_cast<size_t>(h) * V + v];
  } else if (dw) {
    gemm(V, H, N, dlog.data(), 1, V, y, H, 1, dw, H, true, threads);
  }
  if (db) add_colsum(dlog.data(), N, V, 0, V, db, threads);
  if (dy) gemm(N, H, V, dlog.data(), V, 1, w, H, 1, dy, H, dy_accumulate, threads);
  return loss;
}

}  // namespace pfn::rnn
