// GloVe training: AdaGrad on J = 1/2 sum f(X_ij) (w_i.c_j + b_i + b~_j - log X_ij)^2,
// Hogwild-parallel over records shuffled once, as the reference `glove` tool does.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/buffer.h"

namespace pfn {

struct GloveConfig {
  int dim = 100;
  float x_max = 100.0f, alpha = 0.75f;
  float eta = 0.05f;          // learning rate
  float grad_clip = 100.0f;   // clip of each component of the (eta-scaled) gradient
  int threads = 1;
  int64_t tile_words = 0;     // > 0: blocked record order (see glove_records)
};

// One training record: word i, context j, log X_ij and the weight f(X_ij), computed once.
struct GloveRecord {
  int32_t i, j;
  float logx, weight;
};

// Parameters live in one float array, one block per vector (V word vectors, then V
// context vectors): [w: dim | bias | AdaGrad sums of squares: dim | bias sum | padding],
// 64-byte aligned, so one record touches two compact runs of memory.
inline size_t glove_block(int dim) { return (2 * (static_cast<size_t>(dim) + 1) + 15) / 16 * 16; }

// Training records, grouped into tiles that threads take one at a time.
struct GloveData {
  Buffer<GloveRecord> rec;
  std::vector<size_t> tile_start;  // tile t is rec[tile_start[t], tile_start[t + 1])
  size_t tiles() const { return tile_start.size() - 1; }
};

// Records from COO entries (row, col, value > 0, finite; checked by the caller). With
// tile_words == 0 they are shuffled once (as the reference's `shuffle`) and cut into
// chunks; else see glove_records' blocked order.
GloveData glove_records(const int32_t* row, const int32_t* col, const float* val, size_t n,
                        const GloveConfig& cfg, uint64_t seed);

// The reference initialisation: every weight and bias uniform in (-0.5, 0.5) / dim,
// AdaGrad sums 1. `params` has 2 * V * glove_block(dim) floats.
void glove_init(float* params, int64_t V, int dim, uint64_t seed);

struct GloveEpoch {
  double cost = 0;       // sum of 1/2 f(X) diff^2 over the records trained
  uint64_t skipped = 0;  // records whose update was not finite
};

// Trains on tiles order[0, n_order) once; threads take tiles in turn and update the shared
// parameters without locks (Hogwild).
GloveEpoch glove_train(float* params, int64_t V, const GloveData& data, const int64_t* order,
                       size_t n_order, const GloveConfig& cfg);

}  // namespace pfn
