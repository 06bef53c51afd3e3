// Matrix products for the recurrent kernels: B-panel packing and a threaded GEMM on top of the
// per-ISA micro-kernels in kernels.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "rnn/kernels.h"

namespace pfn::rnn {

// Floats needed to pack a K x N matrix into panels of kernels().nr columns.
size_t packed_size(int K, int N);

// Packs B (K,N) into panels, B(k,j) = b[k*rsb + col(j)*csb] with col(j) = colmap ? colmap[j] : j.
// Columns past N in the last panel are zero.
void pack_b(int K, int N, const float* b, std::ptrdiff_t rsb, std::ptrdiff_t csb,
            const int* colmap, float* out);

// C (M,N) (+)= A (M,K) * B (K,N) with A(i,k) = a[i*rsa + k*csa], B(k,j) = b[k*rsb + j*csb];
// accumulate = false overwrites C. Runs on `threads` OpenMP threads.
void gemm(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa,
          const float* b, std::ptrdiff_t rsb, std::ptrdiff_t csb, float* c, std::ptrdiff_t ldc,
          bool accumulate, int threads);

// Plain triple loop (double accumulation): the reference the tests compare gemm() with.
void gemm_reference(int M, int N, int K, const float* a, std::ptrdiff_t rsa, std::ptrdiff_t csa,
                    const float* b, std::ptrdiff_t rsb, std::ptrdiff_t csb, float* c,
                    std::ptrdiff_t ldc, bool accumulate);

}  // namespace pfn::rnn
