#include "rnn/sample.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>
#include <string>

#include "common/parallel.h"
#include "rnn/kernels.h"

namespace pfn::rnn {

void BlockedMatrix::assign(int k, int n, const float* src, std::ptrdiff_t rs, std::ptrdiff_t cs,
                           const int* colmap) {
  K = k;
  N = n;
  width = 4 * kernels().nr;  // gemv_t's block: 8 vectors
  data.resize(static_cast<size_t>(K) * N);
  float* out = data.data();
  for (int j0 = 0; j0 < N; j0 += width) {
    const int w = std::min(width, N - j0);
    for (int kk = 0; kk < K; ++kk)
      for (int j = 0; j < w; ++j) *out++ = src[kk * rs + (colmap ? colmap[j0 + j] : j0 + j) * cs];
  }
}

void BlockedMatrix::apply(const float* x, float* y, bool reverse) const {
  const KernelTable& kt = kernels();
  const int blocks = (N + width - 1) / width;
  for (int b = 0; b < blocks; ++b) {
    const int bb = reverse ? blocks - 1 - b : b;  // alternating directions keeps the last-read
    const int j0 = bb * width, w = std::min(width, N - j0);  // blocks in cache for the next call
    kt.gemv_t(K, w, x, data.data() + static_cast<size_t>(j0) * K, w, y + j0, true, false);
  }
}

Sampler::Sampler(Cell cell, int vocab, int hidden, std::vector<float> embedding, int emb_dim,
                 const std::vector<LayerWeights>& layers, const std::vector<int>& input_sizes,
                 const float* w_out, const float* b_out, int threads)
    : cell_(cell), V_(vocab), H_(hidden), E_(emb_dim), L_(static_cast<int>(layers.size())),
      emb_(std::move(embedding)) {
  const int G = gates_of(cell);
  // A thread per 64 units at most, and only when the recurrent weights outgrow one core's L2.
  nt_ = std::min(resolve_threads(threads), std::max(1, hidden / 64));
  if (static_cast<size_t>(G) * hidden * hidden * sizeof(float) < (size_t(512) << 10)) nt_ = 1;
  shards_.resize(nt_);
  for (int t = 0; t < nt_; ++t) {
    const int u0 = static_cast<int>(static_cast<int64_t>(hidden) * t / nt_);
    const int u1 = static_cast<int>(static_cast<int64_t>(hidden) * (t + 1) / nt_);
    const int Hs = u1 - u0, NL = G * Hs;
    std::vector<int> colmap(NL);
    for (int g = 0; g < G; ++g)
      for (int u = 0; u < Hs; ++u) colmap[g * Hs + u] = g * hidden + u0 + u;
    for (int l = 0; l < L_; ++l) {
      SamplerShard s;
      s.u0 = u0;
      s.u1 = u1;
      const int I = input_sizes[l];
      const LayerWeights& w = layers[l];
      if (l == 0 && emb_dim == 0) {
        s.onehot_rows.resize(static_cast<size_t>(I) * NL);
        for (int i = 0; i < I; ++i)
          for (int j = 0; j < NL; ++j) s.onehot_rows[static_cast<size_t>(i) * NL + j] = w.w_ih[static_cast<size_t>(colmap[j]) * I + i];
      } else {
        s.w_ih.assign(I, NL, w.w_ih, 1, I, colmap.data());
      }
      s.w_hh.assign(hidden, NL, w.w_hh, 1, hidden, colmap.data());
      s.b_x.resize(NL);
      s.b_h.assign(NL, 0.0f);
      for (int j = 0; j < NL; ++j) {
        s.b_x[j] = w.b_ih[colmap[j]] + (cell == Cell::GRU ? 0.0f : w.b_hh[colmap[j]]);
        if (cell == Cell::GRU) s.b_h[j] = w.b_hh[colmap[j]];
      }
      shards_[t].push_back(std::move(s));
    }
  }
  w_out_.assign(hidden, vocab, w_out, 1, hidden, nullptr);
  b_out_.assign(b_out, b_out + vocab);
}

namespace {

// Draws from softmax(logits / temperature) over the top_k largest logits (ties: lowest ids).
int32_t draw(const AlignedVector<float>& logits, float temperature, int top_k, std::mt19937_64& rng,
             std::vector<double>& p, std::vector<int32_t>& order) {
  const int V = static_cast<int>(logits.size());
  const int k = top_k > 0 && top_k < V ? top_k : V;
  float cutoff = -INFINITY;
  if (k < V) {
    for (int j = 0; j < V; ++j) order[j] = j;
    std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), [&](int32_t a, int32_t b) {
      return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
    });
    cutoff = logits[order[k - 1]];
  }
  float mx = -INFINITY;
  for (int j = 0; j < V; ++j) mx = std::max(mx, logits[j]);
  int ties_left = k;
  for (int j = 0; j < V && k < V; ++j) ties_left -= logits[j] > cutoff;
  double sum = 0.0;
  for (int j = 0; j < V; ++j) {
    bool keep = k == V || logits[j] > cutoff;
    if (!keep && logits[j] == cutoff && ties_left > 0) keep = true, --ties_left;
    p[j] = keep ? std::exp((static_cast<double>(logits[j]) - mx) / temperature) : 0.0;
    sum += p[j];
  }
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng) * sum;
  int32_t pick = V - 1;
  for (int j = 0; j < V; ++j) {
    if (u < p[j]) {
      pick = j;
      break;
    }
    u -= p[j];
  }
  while (pick > 0 && p[pick] == 0.0) --pick;  // rounding at the end of the scan
  return pick;
}

}  // namespace

std::vector<int32_t> Sampler::sample(const std::vector<int32_t>& prime, int length,
                                     float temperature, int top_k, uint64_t seed,
                                     std::vector<float>& h, std::vector<float>& c) const {
  if (prime.empty()) throw std::invalid_argument("sampling needs at least one primer symbol");
  if (!(temperature > 0.0f) || !std::isfinite(temperature))
    throw std::invalid_argument("temperature must be a positive finite number");
  for (int32_t id : prime)
    if (id < 0 || id >= V_) throw std::out_of_range("primer symbol " + std::to_string(id) + " is out of range");
  const KernelTable& kt = kernels();
  const int H = H_, G = gates_of(cell_);
  // h double-buffered per layer: step t reads hbuf[(t+1)%2] and writes hbuf[t%2], so a thread
  // that runs ahead never overwrites what another is still reading.
  std::vector<float> hbuf[2] = {h, h};
  std::vector<int32_t> out(length);
  const int steps = static_cast<int>(prime.size()) - 1 + length;
  bool bad_logits = false;
  struct Scratch {  // per thread, allocated before the parallel region
    AlignedVector<float> gx, gh, act, cown, logits;
    std::vector<double> p;
    std::vector<int32_t> order;
  };
  std::vector<Scratch> scratch(nt_);
  for (int t = 0; t < nt_; ++t) {
    const int Hs = shards_[t][0].u1 - shards_[t][0].u0, NL = G * Hs;
    scratch[t] = {AlignedVector<float>(NL), AlignedVector<float>(NL), AlignedVector<float>(NL + Hs),
                  AlignedVector<float>(static_cast<size_t>(L_) * Hs), AlignedVector<float>(V_),
                  std::vector<double>(V_), std::vector<int32_t>(V_)};
  }
#pragma omp parallel num_threads(nt_) if (nt_ > 1)
  {
    const int tid = thread_id();
    const std::vector<SamplerShard>& mine = shards_[tid];
    const int Hs = mine[0].u1 - mine[0].u0, u0 = mine[0].u0, NL = G * Hs;
    Scratch& sc = scratch[tid];
    AlignedVector<float>&gx = sc.gx, &gh = sc.gh, &act = sc.act, &cown = sc.cown, &logits = sc.logits;
    std::vector<double>& p = sc.p;
    std::vector<int32_t>& order = sc.order;
    for (int l = 0; l < L_; ++l)
      std::copy(c.begin() + l * H + u0, c.begin() + l * H + u0 + Hs, cown.begin() + l * Hs);
    std::mt19937_64 rng(seed);  // the same stream in every thread: they all draw the same
    int32_t cur = prime[0];
    for (int t = 0; t < steps; ++t) {
      const std::vector<float>& hprev = hbuf[(t + 1) % 2];
      std::vector<float>& hnext = const_cast<std::vector<float>&>(hbuf[t % 2]);
      for (int l = 0; l < L_; ++l) {
        const SamplerShard& s = mine[l];
        const bool rev = t % 2;
        std::copy(s.b_x.begin(), s.b_x.end(), gx.begin());
        if (l == 0 && E_ == 0) {
          const float* row = s.onehot_rows.data() + static_cast<size_t>(cur) * NL;
          for (int j = 0; j < NL; ++j) gx[j] += row[j];
        } else {
          const float* in = l == 0 ? emb_.data() + static_cast<size_t>(cur) * E_ : hnext.data() + (l - 1) * H;
          s.w_ih.apply(in, gx.data(), rev);
        }
        const float* hp = hprev.data() + l * H;
        float* hn = hnext.data() + l * H + u0;
        if (cell_ == Cell::GRU) {
          std::copy(s.b_h.begin(), s.b_h.end(), gh.begin());
          s.w_hh.apply(hp, gh.data(), rev);
          kt.gru_forward(Hs, gx.data(), gx.data() + Hs, gx.data() + 2 * Hs, gh.data(), gh.data() + Hs,
                         gh.data() + 2 * Hs, hp + u0, act.data(), act.data() + Hs, act.data() + 2 * Hs,
                         act.data() + 3 * Hs, hn);
        } else {
          s.w_hh.apply(hp, gx.data(), rev);
          if (cell_ == Cell::LSTM) {
            float* cl = cown.data() + l * Hs;
            kt.lstm_forward(Hs, gx.data(), gx.data() + Hs, gx.data() + 2 * Hs, gx.data() + 3 * Hs, cl,
                            act.data(), act.data() + Hs, act.data() + 2 * Hs, act.data() + 3 * Hs, cl,
                            act.data() + 4 * Hs, hn);
          } else {
            std::copy(gx.begin(), gx.begin() + Hs, hn);
            kt.tanh_inplace(Hs, hn);
          }
        }
#pragma omp barrier
      }
      if (t + 1 < static_cast<int>(prime.size())) {
        cur = prime[t + 1];
        continue;
      }
      std::copy(b_out_.begin(), b_out_.end(), logits.begin());
      w_out_.apply(hnext.data() + (L_ - 1) * H, logits.data(), false);
      bool finite = true;
      for (float v : logits) finite &= std::isfinite(v);
      if (!finite) {  // every thread sees the same logits, so all stop here together
        if (tid == 0) bad_logits = true;
        break;
      }
      cur = draw(logits, temperature, top_k, rng, p, order);
      if (tid == 0) out[t + 1 - static_cast<int>(prime.size())] = cur;
    }
    for (int l = 0; l < L_; ++l)
      std::copy(cown.begin() + l * Hs, cown.begin() + (l + 1) * Hs, c.begin() + l * H + u0);
  }
  if (bad_logits) throw std::runtime_error("the model produced non-finite logits while sampling");
  h = hbuf[(steps + 1) % 2];
  return out;
}

}  // namespace pfn::rnn
