// Batch-1 stepping of a stacked recurrent language model, for sampling text. Each thread owns a
// slice of the hidden units of every layer (as in training) and keeps its slice of the weights
// packed for matrix-vector products; threads meet once per layer per character, and every
// thread computes the (small) output layer and draws the next character itself from an
// identical random stream, so no further meeting is needed.
#pragma once
#include <cstdint>
#include <vector>

#include "common/buffer.h"
#include "rnn/recurrent.h"

namespace pfn::rnn {

// y (+)= x W for a K x N matrix W stored as column blocks, each a contiguous K x width
// stream (hardware prefetchers follow it; row-major W would jump a page per row).
struct BlockedMatrix {
  int K = 0, N = 0, width = 0;
  AlignedVector<float> data;  // 64-byte aligned: whole-line vector loads
  // W(k, j) = src[k*rs + col(j)*cs], col(j) = colmap ? colmap[j] : j
  void assign(int K, int N, const float* src, std::ptrdiff_t rs, std::ptrdiff_t cs, const int* colmap);
  void apply(const float* x, float* y, bool reverse) const;
};

struct SamplerShard {  // one thread's hidden units [u0, u1) of one layer
  int u0 = 0, u1 = 0;
  std::vector<float> onehot_rows;  // (V, G*Hs): input rows for one-hot input
  BlockedMatrix w_ih, w_hh;        // (I, G*Hs), (H, G*Hs)
  std::vector<float> b_x, b_h;     // (G*Hs): b_ih (+ b_hh except GRU); b_hh for the GRU
};

class Sampler {
 public:
  // embedding (V,E) or empty for one-hot input; layer l has w_ih (G*H, I_l) in PyTorch layout.
  Sampler(Cell cell, int vocab, int hidden, std::vector<float> embedding, int emb_dim,
          const std::vector<LayerWeights>& layers, const std::vector<int>& input_sizes,
          const float* w_out, const float* b_out, int threads);

  // Feeds `prime` from the state h, c (L,H) (updated), then draws `length` symbols from
  // softmax(logits / temperature) over the top_k most likely (top_k <= 0: all).
  std::vector<int32_t> sample(const std::vector<int32_t>& prime, int length, float temperature,
                              int top_k, uint64_t seed, std::vector<float>& h,
                              std::vector<float>& c) const;

  int vocab() const { return V_; }
  int layers() const { return L_; }
  int hidden() const { return H_; }
  int threads() const { return nt_; }

 private:
  Cell cell_;
  int V_, H_, E_, L_, nt_;
  std::vector<float> emb_;
  std::vector<std::vector<SamplerShard>> shards_;  // [thread][layer]
  BlockedMatrix w_out_;                            // (H, V)
  std::vector<float> b_out_;                       // (V)
};

}  // namespace pfn::rnn
