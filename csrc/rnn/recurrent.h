// Recurrent layers (vanilla RNN, LSTM, GRU): forward and backward over a whole sequence, one
// layer per call, weights in PyTorch's layout and gate order so they move between the two as is.
//   RNN : h' = tanh(W_ih x + b_ih + W_hh h + b_hh)                               (G = 1)
//   LSTM: gates i, f, g, o; c' = f*c + i*g; h' = o*tanh(c')                       (G = 4)
//   GRU : gates r, z, n; n = tanh(W_in x + b_in + r*(W_hn h + b_hn)); h' = (1-z)*n + z*h (G = 3)
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pfn::rnn {

enum class Cell { RNN = 0, LSTM = 1, GRU = 2 };

inline int gates_of(Cell c) { return c == Cell::LSTM ? 4 : c == Cell::GRU ? 3 : 1; }
inline const char* name_of(Cell c) { return c == Cell::LSTM ? "lstm" : c == Cell::GRU ? "gru" : "rnn"; }

struct LayerShape {
  Cell cell = Cell::LSTM;
  int T = 0, B = 0, I = 0, H = 0;  // I: input size, or the number of symbols for id input
};

// Weights as PyTorch stores them: w_ih (G*H, I), w_hh (G*H, H), b_ih (G*H), b_hh (G*H).
struct LayerWeights {
  const float* w_ih = nullptr;
  const float* w_hh = nullptr;
  const float* b_ih = nullptr;
  const float* b_hh = nullptr;
};

// What backward needs, saved by forward; owns copies of the inputs and weights, so the caller
// may change or free its arrays in between.
struct LayerCache {
  LayerShape s;
  bool ids_input = false;
  std::vector<int32_t> ids;  // (T,B) when ids_input
  std::vector<float> x;      // (T,B,I) otherwise
  std::vector<float> w_ih, w_hh;
  std::vector<float> hs;     // (T+1,B,H): h0, then h_1..h_T (= y)
  std::vector<float> gates;  // (T,B,G*H) activations: LSTM i,f,g,o; GRU r,z,n; empty for RNN
  std::vector<float> cs;     // LSTM (T+1,B,H): c0..c_T
  std::vector<float> aux;    // LSTM tanh(c_t), GRU W_hn h + b_hn, (T,B,H)
};

// Gradients, accumulated (+=); any pointer may be null to skip that gradient.
struct LayerGrads {
  float* dx = nullptr;  // (T,B,I); ignored for id input
  float* dh0 = nullptr;
  float* dc0 = nullptr;
  float* dw_ih = nullptr;
  float* dw_hh = nullptr;
  float* db_ih = nullptr;
  float* db_hh = nullptr;
};

// x (T,B,I) or ids (T,B) with 0 <= id < I, h0 (B,H), c0 (B,H, LSTM only) -> cache with
// y = hs[1:]; h_n = hs[T], c_n = cs[T]. `save_for_backward` = false keeps only what the
// output needs (for evaluation and sampling).
void layer_forward(const LayerShape& s, const float* x, const int32_t* ids, const float* h0,
                   const float* c0, const LayerWeights& w, LayerCache& cache, int threads,
                   bool save_for_backward = true);

// dy (T,B,H) or null, dh_n (B,H) or null, dc_n (B,H) or null -> grads (+=).
void layer_backward(const LayerCache& cache, const float* dy, const float* dh_n, const float* dc_n,
                    const LayerGrads& g, int threads);

// Fused output layer: logits = y W^T + b (y (N,H), W (V,H)), softmax and cross-entropy against
// targets (N). Returns the summed loss in nats. With grads: dlogits = scale*(p - onehot), then
// dW += dlogits^T y, db += sum dlogits, dy (+)= dlogits W (dy may be null).
double softmax_xent_forward_backward(int N, int H, int V, const float* y, const float* w,
                                     const float* b, const int32_t* targets, float scale,
                                     float* dy, bool dy_accumulate, float* dw, float* db,
                                     float* logits_out, int threads);

}  // namespace pfn::rnn
