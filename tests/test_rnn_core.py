"""The recurrent core (pyfast_nlp.rnn.core.LayerStack), which CharLM, pyfast_nlp.nn and gradient
flow all run on: a whole stack's loss and gradients against a float64 numpy transcription and its
finite differences."""
import numpy as np
import pytest

from pyfast_nlp.rnn.core import GATES, LayerStack
from test_nn import ref_forward  # the float64 one-layer reference (tests/ is on sys.path)


def make_stack(cell, V=7, H=5, L=2, E=3, seed=0):
    rng = np.random.default_rng(seed)
    shapes = LayerStack.param_shapes(cell, V, H, L, E)
    params = {k: (rng.standard_normal(s) * 0.4).astype(np.float32) for k, s in shapes.items()}
    return LayerStack(cell, params, V, H, L, E)


def ref_loss(stack, params, x, y, state, masks):
    """Mean cross-entropy of the stack in float64: embedding, layers (masks between), softmax."""
    inp = params["embedding.weight"][x] if stack.embedding else np.eye(stack.V)[x]
    for layer in range(stack.L):
        w = [params[f"{k}_l{layer}"] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        c0 = state["c"][layer] if "c" in state else None
        out, _, _ = ref_forward(stack.cell, inp, state["h"][layer], c0, *w)
        inp = out * masks[layer] if layer < stack.L - 1 else out
    logits = inp @ params["decoder.weight"].T + params["decoder.bias"]
    logits -= logits.max(axis=-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(logp, y[..., None], axis=-1).mean()


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_train_step_matches_float64_reference_and_finite_differences(cell):
    stack = make_stack(cell)
    rng = np.random.default_rng(1)
    T, B = 6, 3
    x = rng.integers(0, stack.V, (T, B)).astype(np.int32)
    y = rng.integers(0, stack.V, (T, B)).astype(np.int32)
    state = {k: (rng.standard_normal(v.shape) * 0.5).astype(np.float32) for k, v in stack.zero_state(B).items()}
    masks = [(rng.random((T, B, stack.H)) > 0.3).astype(np.float32) / 0.7]
    grads = {k: np.full_like(v, 7.0) for k, v in stack.params.items()}  # the step replaces what they held
    before = {k: v.copy() for k, v in stack.params.items()}
    result, _ = stack.train_step(x, y, state, grads, clip=None, threads=2, masks=masks)
    assert all(np.array_equal(before[k], v) for k, v in stack.params.items())  # no update yet

    p64 = {k: v.astype(np.float64) for k, v in stack.params.items()}
    s64 = {k: v.astype(np.float64) for k, v in state.items()}
    assert abs(result.loss - ref_loss(stack, p64, x, y, s64, masks)) < 1e-5
    assert result.grad_scale == 1.0
    assert np.isclose(result.grad_norm, np.sqrt(sum((g.astype(np.float64) ** 2).sum() for g in grads.values())),
                      rtol=1e-5)
    eps = 1e-6
    worst = 0.0
    for name in stack.params:
        flat = p64[name].reshape(-1)
        for idx in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            old = flat[idx]
            flat[idx] = old + eps
            up = ref_loss(stack, p64, x, y, s64, masks)
            flat[idx] = old - eps
            down = ref_loss(stack, p64, x, y, s64, masks)
            flat[idx] = old
            num = (up - down) / (2 * eps)
            got = float(grads[name].reshape(-1)[idx])
            worst = max(worst, abs(got - num) / max(1e-3, abs(num)))
    print(f"{cell}: largest relative gradient difference {worst:.2e}")
    assert worst < 2e-3


def test_clipping_and_update():
    stack = make_stack("lstm")
    from pyfast_nlp.rnn.optim import Optimizer

    x = np.zeros((4, 2), np.int32)
    grads = {k: np.zeros_like(v) for k, v in stack.params.items()}
    result, _ = stack.train_step(x, x + 1, stack.zero_state(2), grads, clip=1e-3)
    assert result.grad_norm > 1e-3 and np.isclose(result.grad_scale, 1e-3 / (result.grad_norm + 1e-6))
    opt = Optimizer(list(stack.params.values()), "sgd", lr=1.0)
    before = stack.params["decoder.bias"].copy()
    stack.update(opt, grads, result)
    assert np.allclose(stack.params["decoder.bias"], before - result.grad_scale * grads["decoder.bias"], atol=1e-7)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_hidden_states_evaluation_and_layer_inputs_agree_with_forward(cell):
    stack = make_stack(cell, E=None)
    ids = np.random.default_rng(2).integers(0, stack.V, 40).astype(np.int32)
    top, _, _ = stack.forward(ids.reshape(-1, 1), stack.zero_state(1))
    hs = stack.hidden_states(ids, chunk=7)  # chunks carry the state across
    assert np.allclose(hs["h"][:, -1], top[:, 0], atol=1e-6)
    assert ("c" in hs) == (cell == "lstm")
    assert np.array_equal(stack.layer_input(ids, 0), ids.reshape(-1, 1))
    assert np.allclose(stack.layer_input(ids, 1)[:, 0], hs["h"][:, 0], atol=1e-6)
    total = stack.loss(np.ascontiguousarray(top[:-1, 0]), ids[1:])
    assert np.isclose(stack.evaluate_bits(ids, 1, 9), total / (len(ids) - 1) / np.log(2), rtol=1e-6)


def test_one_gate_table_and_bad_cell():
    assert GATES == {"rnn": 1, "lstm": 4, "gru": 3}
    with pytest.raises(ValueError, match="cell must be"):
        LayerStack("transformer", {}, 3, 2, 1)
