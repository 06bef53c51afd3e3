// AVX-512 build of kernels.inc (compiled with -mavx512f -mavx512vl -mfma: VL gives the 256-bit code, such
// as the 8 x 8 transposes, 32 registers instead of 16; used only when the CPU has them).
#define PFN_VW 16
#define PFN_MR 8
#define PFN_TABLE kernels_avx512
#define PFN_ISA_NAME "avx512f"
#include "rnn/kernels.inc"
