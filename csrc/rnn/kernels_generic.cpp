// Baseline build of kernels.inc (SSE2 on x86-64, NEON or scalar elsewhere).
#define PFN_VW 4
#define PFN_MR 4
#define PFN_TABLE kernels_generic
#define PFN_ISA_NAME "generic"
#include "rnn/kernels.inc"
