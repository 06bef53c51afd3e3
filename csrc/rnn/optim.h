// Optimisers with PyTorch's update rules (torch.optim.SGD, Adagrad, Adam) and the global
// gradient norm for clipping (torch.nn.utils.clip_grad_norm_).
#pragma once
#include <cstddef>
#include <cstdint>

namespace pfn::rnn {

enum class Optimizer { SGD = 0, Adagrad = 1, Adam = 2 };

struct OptimConfig {
  Optimizer kind = Optimizer::Adam;
  float lr = 2e-3f;
  float momentum = 0.0f;  // SGD
  float beta1 = 0.9f, beta2 = 0.999f;
  float eps = 1e-8f;      // Adam 1e-8, Adagrad 1e-10 in PyTorch
  float weight_decay = 0.0f;
};

// One update of n parameters. step counts from 1. state1/state2: SGD momentum buffer /
// Adagrad sum of squares / Adam first and second moments (state2 unused by SGD and Adagrad).
// Gradients are multiplied by grad_scale first (clipping).
void optim_step(const OptimConfig& cfg, size_t n, float* p, const float* g, float* state1,
                float* state2, int64_t step, float grad_scale, int threads);

double sum_squares(size_t n, const float* g);

}  // namespace pfn::rnn
