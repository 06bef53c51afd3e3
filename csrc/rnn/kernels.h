// Per-instruction-set compute kernels of the recurrent models: the GEMM micro-kernel loop,
// the fused element-wise cell passes, softmax-cross-entropy rows and the sampling GEMV.
// Each ISA file (kernels_avx512.cpp, kernels_avx2.cpp, kernels_generic.cpp) compiles
// kernels.inc with its own flags; kernels() picks the widest table the CPU runs.
#pragma once
#include <cstddef>

namespace pfn::rnn {

struct KernelTable {
  const char* isa;
  int nr;  // columns per packed B panel
  int mr;  // rows per micro-tile
  // C (M,N) (+)= A (M,K) * B (K,N); A(i,k) = a[i*rsa + k*csa]; bp packed by pack_b (panels of
  // nr columns, each K x nr); accumulate = false overwrites C. A is first copied to `work`
  // (gemm_work_size(M, K) floats) in strips of mr rows, so strided or cache-aliasing A costs
  // nothing in the loop. work = null reads a row-major A (csa == 1) in place: the recurrent
  // steps' A (B x H) sits in cache, and packing it cost each thread a copy per time step.
  void (*gemm_packed)(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa,
                      const float* bp, float* c, std::ptrdiff_t ldc, bool accumulate, float* work);
  // y (N) (+)= x (K) * W (K,N), W row-major with leading dimension ldw; `reverse` visits the
  // column blocks in the opposite order (same result).
  void (*gemv_t)(int K, int N, const float* x, const float* w, std::ptrdiff_t ldw, float* y,
                 bool accumulate, bool reverse);
  // LSTM, n units of one row. pre i,f,g,o (pre-activations) -> activations written to ai..ao,
  // c = f*c_prev + i*g, tc = tanh(c), h = o*tc.
  void (*lstm_forward)(int n, const float* pi, const float* pf, const float* pg, const float* po,
                       const float* c_prev, float* ai, float* af, float* ag, float* ao, float* c,
                       float* tc, float* h);
  // dh: gradient reaching h; dc: in: gradient reaching c from t+1, out: gradient to c_prev.
  // Writes pre-activation gradients di..do_.
  void (*lstm_backward)(int n, const float* ai, const float* af, const float* ag, const float* ao,
                        const float* c_prev, const float* tc, const float* dh, float* dc, float* di,
                        float* df, float* dg, float* do_);
  // GRU: x* include b_ih, h* include b_hh. Saves r, z, n and hn (the W_hn h + b_hn term).
  void (*gru_forward)(int n, const float* xr, const float* xz, const float* xn, const float* hr,
                      const float* hz, const float* hn, const float* h_prev, float* r, float* z,
                      float* nn, float* hn_out, float* h);
  // Writes dx-side gate gradients (dxr, dxz, dxn), the hh-side n gradient (dhn = dxn * r) and
  // the direct term z * dh of the gradient to h_prev.
  void (*gru_backward)(int n, const float* r, const float* z, const float* nn, const float* hn,
                       const float* h_prev, const float* dh, float* dxr, float* dxz, float* dxn,
                       float* dhn, float* dh_prev_direct);
  void (*tanh_inplace)(int n, float* x);
  // d = dh * (1 - h^2)
  void (*tanh_backward)(int n, const float* h, const float* dh, float* d);
  // One row of logits (n): returns -log softmax(logits)[target]; writes scale*(p - onehot) to
  // dlogits when it is not null.
  double (*softmax_xent)(int n, const float* logits, int target, float* dlogits, float scale);
};

const KernelTable& kernels();

inline std::size_t gemm_work_size(int M, int K) {
  const int mr = kernels().mr;
  return static_cast<std::size_t>((M + mr - 1) / mr) * mr * static_cast<std::size_t>(K);
}

const KernelTable* kernels_avx512();
const KernelTable* kernels_avx2();
const KernelTable* kernels_generic();

}  // namespace pfn::rnn
