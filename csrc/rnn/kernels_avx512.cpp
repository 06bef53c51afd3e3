// AVX-512 build of kernels.inc (compiled with -mavx512f -mfma; used only when the CPU has them).
#define PFN_VW 16
#define PFN_MR 8
#define PFN_TABLE kernels_avx512
#define PFN_ISA_NAME "avx512f"
#include "rnn/kernels.inc"
