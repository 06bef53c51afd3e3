// Batch-1 stepping of a stacked recurrent language model, for sampling text: every step is a
// few matrix-vector products on weights transposed once when the sampler is built.
#pragma once
#include <cstdint>
#include <vector>

#include "rnn/recurrent.h"

namespace pfn::rnn {

struct SamplerLayer {
  int I = 0;
  std::vector<float> w_ih_t;  // (I, G*H)
  std::vector<float> w_hh_t;  // (H, G*H)
  std::vector<float> b_x;     // (G*H): b_ih (+ b_hh for RNN and LSTM)
  std::vector<float> b_h;     // (G*H): b_hh for the GRU, zeros otherwise
};

class Sampler {
 public:
  // embedding (V,E) or empty for one-hot input; layer l takes w_ih (G*H, I_l) in PyTorch layout.
  Sampler(Cell cell, int vocab, int hidden, std::vector<float> embedding, int emb_dim,
          const std::vector<LayerWeights>& layers, const std::vector<int>& input_sizes,
          const float* w_out, const float* b_out);

  // Feeds `prime` (after the state h, c of shape (L,H)), then draws `length` symbols.
  // temperature > 0; top_k <= 0 keeps every symbol. Returns the drawn symbols.
  std::vector<int32_t> sample(const std::vector<int32_t>& prime, int length, float temperature,
                              int top_k, uint64_t seed, std::vector<float>& h,
                              std::vector<float>& c) const;

  int vocab() const { return V_; }
  int layers() const { return static_cast<int>(layers_.size()); }
  int hidden() const { return H_; }

 private:
  void step(int32_t id, float* h, float* c, float* scratch) const;
  Cell cell_;
  int V_, H_, E_;
  std::vector<float> emb_;
  std::vector<SamplerLayer> layers_;
  std::vector<float> w_out_t_, b_out_;  // (H, V), (V)
};

}  // namespace pfn::rnn
