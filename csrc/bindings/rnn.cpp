// Bindings of the recurrent-model kernels: layers forward/backward, the fused output layer,
// optimisers and the sampler. Only validation and conversion here.
#include <pybind11/stl.h>

#include <optional>

#include "bindings/py_util.h"
#include "rnn/gemm.h"
#include "rnn/optim.h"
#include "rnn/recurrent.h"
#include "rnn/sample.h"

using namespace pfn::rnn;
using namespace pfnpy;

namespace {

struct Weights {
  F32 w_ih, w_hh, b_ih, b_hh;
  LayerWeights view() const { return {w_ih.data(), w_hh.data(), b_ih.data(), b_hh.data()}; }
};

Weights weights(Cell cell, py::ssize_t I, py::ssize_t H, const py::object& w_ih, const py::object& w_hh,
                const py::object& b_ih, const py::object& b_hh) {
  const py::ssize_t GH = gates_of(cell) * H;
  return {input(w_ih, {GH, I}, "w_ih"), input(w_hh, {GH, H}, "w_hh"), input(b_ih, {GH}, "b_ih"),
          input(b_hh, {GH}, "b_hh")};
}

}  // namespace

void init_rnn(py::module_& m) {
  // rnn: tanh, 1 gate; lstm: gates i, f, g, o; gru: gates r, z, n
  bind_enum<Cell>(m, "Cell", "The recurrent cells, with PyTorch's gate order.",
                  {{"rnn", Cell::RNN}, {"lstm", Cell::LSTM}, {"gru", Cell::GRU}});
  m.def("gates_of", &gates_of, py::arg("cell"), "Gate blocks per layer: 1, 4 or 3.");
  bind_enum<Optimizer>(m, "Optimizer", "The optimisers, with PyTorch's update rules.",
                       {{"sgd", Optimizer::SGD}, {"adagrad", Optimizer::Adagrad}, {"adam", Optimizer::Adam}});

  py::class_<OptimConfig>(m, "OptimConfig", "An optimiser's settings (torch.optim's names and defaults).")
      .def(py::init([](Optimizer kind, float lr, float momentum, float beta1, float beta2, float eps,
                       float weight_decay) {
             OptimConfig c;
             c.kind = kind; c.lr = lr; c.momentum = momentum; c.beta1 = beta1; c.beta2 = beta2; c.eps = eps;
             c.weight_decay = weight_decay;
             return c;
           }),
           py::kw_only(), py::arg("kind") = Optimizer::Adam, py::arg("lr") = 2e-3, py::arg("momentum") = 0.0,
           py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("eps") = 1e-8, py::arg("weight_decay") = 0.0)
      .def_readwrite("kind", &OptimConfig::kind)
      .def_readwrite("lr", &OptimConfig::lr)
      .def_readwrite("momentum", &OptimConfig::momentum)
      .def_readwrite("beta1", &OptimConfig::beta1)
      .def_readwrite("beta2", &OptimConfig::beta2)
      .def_readwrite("eps", &OptimConfig::eps)
      .def_readwrite("weight_decay", &OptimConfig::weight_decay);

  py::class_<LayerCache>(m, "LayerCache", "What a recurrent layer's forward pass keeps for backward.")
      .def_property_readonly("cell", [](const LayerCache& c) { return c.s.cell; })
      .def_property_readonly("shape", [](const LayerCache& c) {
        return py::make_tuple(c.s.T, c.s.B, c.s.I, c.s.H);
      })
      .def_property_readonly("ids_input", [](const LayerCache& c) { return c.ids_input; })
      .def("cells", [](py::object self) -> py::object {
        // LSTM cell states c_1..c_T (T,B,H) as a read-only view; None for other cells
        const LayerCache& c = self.cast<const LayerCache&>();
        if (c.s.cell != Cell::LSTM) return py::none();
        return view_of(c.cs.data() + static_cast<size_t>(c.s.B) * c.s.H, {c.s.T, c.s.B, c.s.H}, self);
      })
      .def_property_readonly("nbytes", [](const LayerCache& c) {
        return 4 * (c.x.size() + c.w_ih.size() + c.w_hh.size() + c.hs.size() + c.gates.size() +
                    c.cs.size() + c.aux.size()) + 4 * c.ids.size();
      });

  m.def("rnn_kernel_isa", [] { return std::string(kernels().isa); },
        "The instruction set the recurrent kernels run with: avx512f, avx2 or generic.");

  m.def(
      "layer_forward",
      [](Cell cell, py::object x, py::object h0, py::object c0, py::object w_ih, py::object w_hh,
         py::object b_ih, py::object b_hh, int input_size, int threads, bool save, py::object reuse) {
        py::array xa = py::array::ensure(x);
        if (!xa) throw py::type_error("x must be an array");
        const bool ids_input = xa.dtype().kind() == 'i' || xa.dtype().kind() == 'u';
        if (ids_input && input_size < 1) throw py::value_error("ids input needs input_size, the number of symbols");
        if (ids_input ? xa.ndim() != 2 : xa.ndim() != 3)
          throw py::value_error(std::string(ids_input ? "ids must have shape (T, B), not "
                                                      : "x must have shape (T, B, I), not ") + shape_str(xa));
        py::array wa = py::array::ensure(w_hh);
        const int G = gates_of(cell);
        if (!wa || wa.ndim() != 2 || wa.shape(0) != G * wa.shape(1))
          throw py::value_error(std::string("w_hh must have shape (") + (G > 1 ? std::to_string(G) + "*" : "") +
                                "H, H) for the " + name_of(cell) + ", not " + (wa ? shape_str(wa) : "a non-array"));
        LayerShape s;
        s.cell = cell;
        s.T = static_cast<int>(xa.shape(0));
        s.B = static_cast<int>(xa.shape(1));
        s.H = static_cast<int>(wa.shape(1));
        s.I = ids_input ? input_size : static_cast<int>(xa.shape(2));
        if (s.T < 1 || s.B < 1 || s.H < 1 || s.I < 1)
          throw py::value_error("T, B, input size and hidden size must all be at least 1");
        Weights w = weights(cell, s.I, s.H, w_ih, w_hh, b_ih, b_hh);
        F32 h = input(h0, {s.B, s.H}, "h0");
        std::optional<F32> c;
        if (cell == Cell::LSTM) {
          if (c0.is_none()) throw py::value_error("the LSTM needs c0");
          c = input(c0, {s.B, s.H}, "c0");
        }
        py::array_t<int32_t, py::array::c_style | py::array::forcecast> ids;
        F32 xf;
        if (ids_input) {
          ids = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(xa);
        } else {
          if (xa.dtype().kind() != 'f') throw py::type_error("x must be float32 or int ids");
          xf = F32::ensure(xa);
        }
        // reuse: a cache from an earlier call whose memory this call takes over
        py::object holder = reuse.is_none() ? py::cast(LayerCache{}) : reuse;
        LayerCache* cache = holder.cast<LayerCache*>();
        {
          py::gil_scoped_release nogil;
          layer_forward(s, ids_input ? nullptr : xf.data(), ids_input ? ids.data() : nullptr, h.data(),
                        c ? c->data() : nullptr, w.view(), *cache, threads, save);
        }
        // Outputs are read-only views into the cache (no copy); they change if the cache is
        // passed as `reuse` to a later call.
        const size_t BH = static_cast<size_t>(s.B) * s.H;
        py::array_t<float> y = view_of(cache->hs.data() + BH, {s.T, s.B, s.H}, holder);
        py::array_t<float> hn = view_of(cache->hs.data() + BH * s.T, {s.B, s.H}, holder);
        py::object cn = py::none();
        if (cell == Cell::LSTM) cn = view_of(cache->cs.data() + BH * s.T, {s.B, s.H}, holder);
        return py::make_tuple(y, hn, cn, holder);
      },
      py::arg("cell"), py::arg("x"), py::kw_only(), py::arg("h0"), py::arg("c0") = py::none(),
      py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"), py::arg("input_size") = 0,
      py::arg("threads") = -1, py::arg("save") = true, py::arg("reuse") = py::none(),
      "x (T,B,I) float or ids (T,B) over input_size symbols -> (y (T,B,H), h_n, c_n or None, cache). y, h_n and c_n\n"
      "are read-only views into the cache; `reuse` hands an earlier cache's memory to this call.");

  m.def(
      "layer_backward",
      [](LayerCache& cache, py::object dy, py::object dh_n, py::object dc_n, py::object dx,
         py::object dh0, py::object dc0, py::object dw_ih, py::object dw_hh, py::object db_ih,
         py::object db_hh, int threads) {
        const LayerShape& s = cache.s;
        const py::ssize_t T = s.T, B = s.B, I = s.I, H = s.H, GH = gates_of(s.cell) * H;
        std::optional<F32> dyf, dhf, dcf;
        if (!dy.is_none()) dyf = input(dy, {T, B, H}, "dy");
        if (!dh_n.is_none()) dhf = input(dh_n, {B, H}, "dh_n");
        if (!dc_n.is_none()) dcf = input(dc_n, {B, H}, "dc_n");
        LayerGrads g;
        g.dx = cache.ids_input ? nullptr : optional_inplace(dx, {T, B, I}, "dx");
        g.dh0 = optional_inplace(dh0, {B, H}, "dh0");
        g.dc0 = s.cell == Cell::LSTM ? optional_inplace(dc0, {B, H}, "dc0") : nullptr;
        g.dw_ih = optional_inplace(dw_ih, {GH, I}, "dw_ih");
        g.dw_hh = optional_inplace(dw_hh, {GH, H}, "dw_hh");
        g.db_ih = optional_inplace(db_ih, {GH}, "db_ih");
        g.db_hh = optional_inplace(db_hh, {GH}, "db_hh");
        py::gil_scoped_release nogil;
        layer_backward(cache, dyf ? dyf->data() : nullptr, dhf ? dhf->data() : nullptr,
                       dcf ? dcf->data() : nullptr, g, threads);
      },
      py::arg("cache"), py::kw_only(), py::arg("dy") = py::none(), py::arg("dh_n") = py::none(),
      py::arg("dc_n") = py::none(), py::arg("dx") = py::none(), py::arg("dh0") = py::none(),
      py::arg("dc0") = py::none(), py::arg("dw_ih") = py::none(), py::arg("dw_hh") = py::none(),
      py::arg("db_ih") = py::none(), py::arg("db_hh") = py::none(), py::arg("threads") = -1,
      "Backward through a layer from the gradients reaching its outputs (dy) and final state (dh_n, dc_n);\n"
      "adds into each gradient array given (None: not wanted).");

  m.def(
      "softmax_xent",
      [](py::object y, py::object w, py::object b, py::object targets, float scale, py::object dy,
         bool dy_accumulate, py::object dw, py::object db, bool want_logits, int threads) {
        py::array ya = py::array::ensure(y), wa = py::array::ensure(w);
        if (!ya || ya.ndim() != 2) throw py::value_error("y must have shape (N, H)");
        if (!wa || wa.ndim() != 2) throw py::value_error("w must have shape (V, H)");
        const py::ssize_t N = ya.shape(0), H = ya.shape(1), V = wa.shape(0);
        if (V < 1) throw py::value_error("the output layer needs at least one symbol");
        F32 yf = input(y, {N, H}, "y"), wf = input(w, {V, H}, "w"), bf = input(b, {V}, "b");
        py::array ta = py::array::ensure(targets);
        if (!ta || (ta.dtype().kind() != 'i' && ta.dtype().kind() != 'u'))
          throw py::type_error("targets must be an integer array");
        check_shape(ta, {N}, "targets");
        auto t = py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(ta);
        float* pdy = optional_inplace(dy, {N, H}, "dy");
        float* pdw = optional_inplace(dw, {V, H}, "dw");
        float* pdb = optional_inplace(db, {V}, "db");
        py::object logits = py::none();
        float* pl = nullptr;
        if (want_logits) {
          py::array_t<float> l({N, V});
          pl = l.mutable_data();
          logits = l;
        }
        double loss;
        {
          py::gil_scoped_release nogil;
          loss = softmax_xent_forward_backward(static_cast<int>(N), static_cast<int>(H), static_cast<int>(V),
                                               yf.data(), wf.data(), bf.data(), t.data(), scale, pdy,
                                               dy_accumulate, pdw, pdb, pl, threads);
        }
        return py::make_tuple(loss, logits);
      },
      py::arg("y"), py::arg("w"), py::arg("b"), py::arg("targets"), py::kw_only(), py::arg("scale") = 1.0,
      py::arg("dy") = py::none(), py::arg("dy_accumulate") = false, py::arg("dw") = py::none(),
      py::arg("db") = py::none(), py::arg("want_logits") = false, py::arg("threads") = -1,
      "logits = y w^T + b, softmax, cross-entropy: returns (summed loss in nats, logits or None). Gradients of\n"
      "scale * loss are written into dy (added with dy_accumulate) and added into dw and db when given.");

  m.def(
      "optim_step",
      [](const OptimConfig& cfg, const py::list& params, const py::list& grads, const py::list& state1,
         const py::list& state2, int64_t step, float grad_scale, int threads) {
        const py::list& s1 = state1;
        const py::list& s2 = state2;
        if (step < 1) throw py::value_error("step counts from 1");
        const size_t n = py::len(params);
        if (py::len(grads) != n || py::len(s1) != n || py::len(s2) != n)
          throw py::value_error("params, grads and optimiser states differ in length");
        struct Job { float *p, *a, *b; const float* g; size_t n; };
        std::vector<Job> jobs;
        for (size_t i = 0; i < n; ++i) {
          py::array p = py::reinterpret_borrow<py::array>(params[i]);
          std::vector<py::ssize_t> shape(p.shape(), p.shape() + p.ndim());
          Job j;
          j.p = inplace(params[i], {}, "parameter");
          j.g = inplace(grads[i], shape, "gradient");
          j.a = inplace(s1[i], shape, "optimiser state");
          j.b = inplace(s2[i], shape, "optimiser state");
          j.n = static_cast<size_t>(p.size());
          jobs.push_back(j);
        }
        py::gil_scoped_release nogil;
        for (const Job& j : jobs) optim_step(cfg, j.n, j.p, j.g, j.a, j.b, step, grad_scale, threads);
      },
      py::arg("config"), py::arg("params"), py::arg("grads"), py::arg("state1"), py::arg("state2"),
      py::kw_only(), py::arg("step"), py::arg("grad_scale") = 1.0, py::arg("threads") = -1,
      "One update of every parameter in place with grad_scale * its gradient; step counts from 1.");

  m.def("sum_squares", [](const py::list& arrays) {
    std::vector<F32> keep;  // (converted copies stay alive while the GIL is released)
    for (auto a : arrays) {
      F32 f = F32::ensure(a);
      if (!f) throw py::type_error("sum_squares takes arrays");
      keep.push_back(std::move(f));
    }
    double total = 0.0;
    {
      py::gil_scoped_release nogil;
      for (const auto& f : keep) total += sum_squares(static_cast<size_t>(f.size()), f.data());
    }
    return total;
  }, py::arg("arrays"), "The sum of squares of every value of every array, in double.");

  m.def(
      "gemm",
      [](py::object a, py::object b, bool reference, int threads, bool a_transposed) {
        // a_transposed: `a` holds A^T, shape (K, M), read with strides (1, M) as the
        // weight-gradient products read X^T.
        py::array aa = py::array::ensure(a), ba = py::array::ensure(b);
        if (!aa || !ba || aa.ndim() != 2 || ba.ndim() != 2 || aa.shape(a_transposed ? 0 : 1) != ba.shape(0))
          throw py::value_error(a_transposed ? "gemm takes (K, M) and (K, N) arrays" : "gemm takes (M, K) and (K, N) arrays");
        const py::ssize_t M = aa.shape(a_transposed ? 1 : 0), K = ba.shape(0), N = ba.shape(1);
        F32 af = a_transposed ? input(a, {K, M}, "a") : input(a, {M, K}, "a"), bf = input(b, {K, N}, "b");
        const std::ptrdiff_t rsa = a_transposed ? 1 : K, csa = a_transposed ? M : 1;
        py::array_t<float> c({M, N});
        py::gil_scoped_release nogil;
        if (reference)
          gemm_reference(int(M), int(N), int(K), af.data(), rsa, csa, bf.data(), N, 1, c.mutable_data(), N, false);
        else
          gemm(int(M), int(N), int(K), af.data(), rsa, csa, bf.data(), N, 1, c.mutable_data(), N, false, threads);
        return c;
      },
      py::arg("a"), py::arg("b"), py::kw_only(), py::arg("reference") = false, py::arg("threads") = 1,
      py::arg("a_transposed") = false, "a @ b in float32 by the recurrent layers' GEMM (or its plain reference).");

  py::class_<Sampler>(m, "Sampler", "A whole model's weights packed for generating one character at a time.")
      .def(py::init([](Cell cell, int vocab, int hidden, py::object embedding,
                       const py::list& layers, py::object w_out, py::object b_out, int threads) {
             std::vector<float> emb;
             int E = 0;
             if (!embedding.is_none()) {
               py::array ea = py::array::ensure(embedding);
               if (!ea || ea.ndim() != 2 || ea.shape(0) != vocab)
                 throw py::value_error("embedding must have shape (V, E)");
               E = static_cast<int>(ea.shape(1));
               F32 ef = input(embedding, {vocab, E}, "embedding");
               emb.assign(ef.data(), ef.data() + ef.size());
             }
             std::vector<Weights> keep;
             std::vector<LayerWeights> views;
             std::vector<int> sizes;
             for (size_t l = 0; l < py::len(layers); ++l) {
               py::tuple t = layers[l].cast<py::tuple>();
               if (t.size() != 4) throw py::value_error("each layer is (w_ih, w_hh, b_ih, b_hh)");
               const int I = l == 0 ? (E ? E : vocab) : hidden;
               keep.push_back(weights(cell, I, hidden, t[0], t[1], t[2], t[3]));
               sizes.push_back(I);
             }
             for (auto& w : keep) views.push_back(w.view());
             F32 wo = input(w_out, {vocab, hidden}, "w_out"), bo = input(b_out, {vocab}, "b_out");
             return std::make_unique<Sampler>(cell, vocab, hidden, std::move(emb), E, views, sizes,
                                              wo.data(), bo.data(), threads);
           }),
           py::arg("cell"), py::kw_only(), py::arg("vocab"), py::arg("hidden"), py::arg("embedding"),
           py::arg("layers"), py::arg("w_out"), py::arg("b_out"), py::arg("threads") = -1)
      .def_property_readonly("threads", &Sampler::threads)
      .def(
          "sample",
          [](const Sampler& s, const std::vector<int32_t>& prime, int length, float temperature,
             int top_k, uint64_t seed, py::object h, py::object c) {
            if (length < 0) throw py::value_error("length must be >= 0");
            const py::ssize_t L = s.layers(), H = s.hidden();
            float* ph = inplace(h, {L, H}, "h");
            float* pc = inplace(c, {L, H}, "c");
            std::vector<float> hv(ph, ph + L * H), cv(pc, pc + L * H);
            std::vector<int32_t> out;
            {
              py::gil_scoped_release nogil;
              out = s.sample(prime, length, temperature, top_k, seed, hv, cv);
            }
            std::copy(hv.begin(), hv.end(), ph);
            std::copy(cv.begin(), cv.end(), pc);
            return out;
          },
          py::arg("prime"), py::kw_only(), py::arg("length"), py::arg("temperature"), py::arg("top_k"),
          py::arg("seed"), py::arg("h"), py::arg("c"),
          "Feed `prime`, then draw `length` ids (top_k 0: all); h and c (layers, H) are the state, updated in place.");
}
