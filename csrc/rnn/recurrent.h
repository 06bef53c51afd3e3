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

#include "common/buffer.h"

namespace pfn::rnn {

// An uninitialised array that keeps its memory when resized smaller, so the workspace of one
// training step is reused by the next instead of being page-faulted in again.
template <class T>
class Scratch {
 public:
  T* resize(size_t n) {
    if (n > cap_) {
      buf_ = Buffer<T>(n);
      cap_ = n;
    }
    n_ = n;
    return buf_.data();
  }
  void clear() { n_ = 0; }
  T* data() { return buf_.data(); }
  const T* data() const { return buf_.data(); }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  size_t capacity() const { return cap_; }

 private:
  Buffer<T> buf_;
  size_t cap_ = 0, n_ = 0;
};

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
// may change or free its arrays in between. Passing the same cache to the next forward call
// reuses its memory.
struct LayerCache {
  LayerShape s;
  bool ids_input = false;
  bool saved = false;        // false: forward kept only what its outputs need
  Scratch<int32_t> ids;      // (T,B) when ids_input
  Scratch<float> x;          // (T,B,I) otherwise
  Scratch<float> w_ih, w_hh;
  Scratch<float> hs;         // (T+1,B,H): h0, then h_1..h_T (= y)
  Scratch<float> gates;      // (T,B,G*H) activations: LSTM i,f,g,o; GRU r,z,n; empty for RNN
  Scratch<float> cs;         // LSTM (T+1,B,H): c0..c_T
  Scratch<float> aux;        // LSTM tanh(c_t), GRU W_hn h + b_hn, (T,B,H)
  Scratch<float> work, work2;  // forward: input projections; backward: gate gradients
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

// dy (T,B,H) or null, dh_n (B,H) or null, dc_n (B,H) or null -> grads (+=). Uses the cache's
// workspace, so one cache must not go through two backward calls at once.
void layer_backward(LayerCache& cache, const float* dy, const float* dh_n, const float* dc_n,
                    const LayerGrads& g, int threads);

// Fused output layer: logits = y W^T + b (y (N,H), W (V,H)), softmax and cross-entropy against
// targets (N). Returns the summed loss in nats. With grads: dlogits = scale*(p - onehot), then
// dW += dlogits^T y, db += sum dlogits, dy (+)= dlogits W (dy may be null).
double softmax_xent_forward_backward(int N, int H, int V, const float* y, const float* w,
                                     const float* b, const int32_t* targets, float scale,
                                     float* dy, bool dy_accumulate, float* dw, float* db,
                                     float* logits_out, int threads);

}  // namespace pfn::rnn
