// AVX2 + FMA build of kernels.inc.
#define PFN_VW 8
#define PFN_MR 6
#define PFN_TABLE kernels_avx2
#define PFN_ISA_NAME "avx2"
#include "rnn/kernels.inc"
