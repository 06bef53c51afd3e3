#include "rnn/sample.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "rnn/kernels.h"

namespace pfn::rnn {
namespace {
std::vector<float> transpose(const float* a, int rows, int cols) {
  std::vector<float> t(static_cast<size_t>(rows) * cols);
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) t[static_cast<size_t>(j) * rows + i] = a[static_cast<size_t>(i) * cols + j];
  return t;
}
}  // namespace

Sampler::Sampler(Cell cell, int vocab, int hidden, std::vector<float> embedding, int emb_dim,
                 const std::vector<LayerWeights>& layers, const std::vector<int>& input_sizes,
                 const float* w_out, const float* b_out)
    : cell_(cell), V_(vocab), H_(hidden), E_(emb_dim), emb_(std::move(embedding)) {
  const int GH = gates_of(cell) * hidden;
  for (size_t l = 0; l < layers.size(); ++l) {
    SamplerLayer s;
    s.I = input_sizes[l];
    s.w_ih_t = transpose(layers[l].w_ih, GH, s.I);
    s.w_hh_t = transpose(layers[l].w_hh, GH, hidden);
    s.b_x.resize(GH);
    s.b_h.assign(GH, 0.0f);
    for (int j = 0; j < GH; ++j) {
      s.b_x[j] = layers[l].b_ih[j] + (cell == Cell::GRU ? 0.0f : layers[l].b_hh[j]);
      if (cell == Cell::GRU) s.b_h[j] = layers[l].b_hh[j];
    }
    layers_.push_back(std::move(s));
  }
  w_out_t_ = transpose(w_out, vocab, hidden);
  b_out_.assign(b_out, b_out + vocab);
}

void Sampler::step(int32_t id, float* h, float* c, float* scratch) const {
  const KernelTable& kt = kernels();
  const int H = H_, GH = gates_of(cell_) * H;
  float* gx = scratch;          // (GH)
  float* gh = scratch + GH;     // (GH)
  float* act = scratch + 2 * GH;  // (GH) activations, (H) aux
  float* hnew = scratch + 4 * GH;  // (H)
  for (size_t l = 0; l < layers_.size(); ++l) {
    const SamplerLayer& s = layers_[l];
    float* hl = h + l * H;
    std::copy(s.b_x.begin(), s.b_x.end(), gx);
    if (l == 0 && E_ == 0) {
      const float* row = s.w_ih_t.data() + static_cast<size_t>(id) * GH;
      for (int j = 0; j < GH; ++j) gx[j] += row[j];
    } else {
      const float* in = l == 0 ? emb_.data() + static_cast<size_t>(id) * E_ : h + (l - 1) * H;
      kt.gemv_t(s.I, GH, in, s.w_ih_t.data(), GH, gx, true);
    }
    if (cell_ == Cell::GRU) {
      std::copy(s.b_h.begin(), s.b_h.end(), gh);
      kt.gemv_t(H, GH, hl, s.w_hh_t.data(), GH, gh, true);
      kt.gru_forward(H, gx, gx + H, gx + 2 * H, gh, gh + H, gh + 2 * H, hl, act, act + H,
                     act + 2 * H, act + 3 * H, hnew);
    } else {
      kt.gemv_t(H, GH, hl, s.w_hh_t.data(), GH, gx, true);
      if (cell_ == Cell::LSTM) {
        float* cl = c + l * H;
        kt.lstm_forward(H, gx, gx + H, gx + 2 * H, gx + 3 * H, cl, act, act + H, act + 2 * H,
                        act + 3 * H, cl, gh, hnew);
      } else {
        std::copy(gx, gx + H, hnew);
        kt.tanh_inplace(H, hnew);
      }
    }
    std::copy(hnew, hnew + H, hl);
  }
}

std::vector<int32_t> Sampler::sample(const std::vector<int32_t>& prime, int length,
                                     float temperature, int top_k, uint64_t seed,
                                     std::vector<float>& h, std::vector<float>& c) const {
  if (prime.empty()) throw std::invalid_argument("sampling needs at least one primer symbol");
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    throw std::invalid_argument("temperature must be a positive finite number");
  for (int32_t id : prime)
    if (id < 0 || id >= V_) throw std::out_of_range("primer symbol " + std::to_string(id) + " is out of range");
  const KernelTable& kt = kernels();
  const int GH = gates_of(cell_) * H_;
  std::vector<float> scratch(4 * GH + H_), logits(V_);
  std::vector<double> p(V_);
  std::vector<int32_t> order(V_);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uni(0.0, 1.0);
  std::vector<int32_t> out;
  out.reserve(length);
  for (size_t i = 0; i + 1 < prime.size(); ++i) step(prime[i], h.data(), c.data(), scratch.data());
  int32_t cur = prime.back();
  const float* top = nullptr;
  for (int n = 0; n < length; ++n) {
    step(cur, h.data(), c.data(), scratch.data());
    top = h.data() + (layers_.size() - 1) * H_;
    std::copy(b_out_.begin(), b_out_.end(), logits.begin());
    kt.gemv_t(H_, V_, top, w_out_t_.data(), V_, logits.data(), true);
    // softmax(logits / T) over the top_k largest
    int k = top_k > 0 && top_k < V_ ? top_k : V_;
    float cutoff = -INFINITY;
    if (k < V_) {
      for (int j = 0; j < V_; ++j) order[j] = j;
      std::nth_element(order.begin(), order.begin() + (k - 1), order.end(),
                       [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
      cutoff = logits[order[k - 1]];
    }
    float mx = -INFINITY;
    for (int j = 0; j < V_; ++j) mx = std::max(mx, logits[j]);
    if (!std::isfinite(mx)) throw std::runtime_error("the model produced non-finite logits");
    // ties at the cutoff: keep only as many as top_k allows, lowest ids first
    int ties_left = k;
    for (int j = 0; j < V_ && k < V_; ++j) ties_left -= logits[j] > cutoff;
    double sum = 0.0;
    for (int j = 0; j < V_; ++j) {
      bool keep = k == V_ || logits[j] > cutoff;
      if (!keep && logits[j] == cutoff && ties_left > 0) keep = true, --ties_left;
      p[j] = keep ? std::exp((static_cast<double>(logits[j]) - mx) / temperature) : 0.0;
      sum += p[j];
    }
    double u = uni(rng) * sum;
    int32_t pick = V_ - 1;
    for (int j = 0; j < V_; ++j) {
      if (u < p[j]) { pick = j; break; }
      u -= p[j];
    }
    while (p[pick] == 0.0) --pick;  // rounding at the end of the scan
    out.push_back(pick);
    cur = pick;
  }
  return out;
}

}  // namespace pfn::rnn
