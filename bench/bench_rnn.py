"""Character-level RNN/LSTM/GRU training and sampling: pyfast_nlp against PyTorch on the CPU.

    python bench/bench_rnn.py            # the issue's grid: {rnn,lstm,gru} x H {128,256,512} x layers {1,2},
                                         # threads {1,2}, batch 64, seq_len 128; plus batch-1 sampling
    python bench/bench_rnn.py --quick    # hidden 256, 1 layer only
    python bench/bench_rnn.py --write    # also write the table into bench/RESULTS.md

The text is ../shared/data/shakespeare.txt with its 64 most frequent characters kept and the
rest mapped to one extra symbol, so the vocabulary is 65 as in the usual char-rnn setup. Both
sides train the same model the same way: one-hot input, the recurrent stack, a linear output
layer, mean cross-entropy, gradient clipping at norm 5, Adam (lr 2e-3), hidden state carried
from chunk to chunk. Each measurement runs in its own process (two OpenMP runtimes in one
process would compete for the cores), peer and pyfast_nlp alternating, and the median of the
repetitions is reported. Before timing anything, the script checks that 3 steps of both give
the same losses.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from _machine import cpu_name  # bench/ is on sys.path when a script here runs

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "shared", "data", "shakespeare.txt")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
V = 65
B, T = 64, 128
CEILING = 168e9  # single-precision GEMM ceiling per core the issue quotes for its Xeon (FLOP/s); --ceiling


def flops_per_char(cell: str, H: int, L: int) -> float:
    g = GATES[cell]
    return sum(6 * g * H * ((V if l == 0 else H) + H) for l in range(L)) + 6 * H * V


def prepare_text(path: str, out: str) -> None:
    import collections

    with open(path, encoding="utf-8") as f:
        text = f.read()
    keep = {c for c, _ in collections.Counter(text).most_common(V - 1)}
    other = "\x01"
    assert other not in text
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(c if c in keep else other for c in text))


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------- workers
def torch_model(cell: str, H: int, L: int, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](V, H, L)
            self.decoder = torch.nn.Linear(H, V)

    return Model()


def torch_train(text_path: str, cell: str, H: int, L: int, threads: int, steps: int, check: bool = False):
    import numpy as np
    import torch

    from pyfast_nlp import CharLM

    lm = CharLM(cell, hidden_size=H, num_layers=L, seed=0)
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    lm.fit(text, seq_len=T, batch_size=B, max_steps=0, val_fraction=0, progress=False)
    ids = lm.encode(text)
    n = (len(ids) - 1) // B
    data = torch.tensor(np.stack([ids[b * n: (b + 1) * n + 1] for b in range(B)], 1)).long()
    m = torch_model(cell, H, L, threads)
    m.load_state_dict(lm.to_torch_state_dict())
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    state, times, losses = None, [], []
    base = rss_mb()
    for step in range(steps + 1):
        t0 = time.perf_counter()
        x = data[step * T: step * T + T]
        y = data[step * T + 1: step * T + T + 1]
        out, state = m.rnn(torch.nn.functional.one_hot(x, V).float(), state)
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        loss = torch.nn.functional.cross_entropy(m.decoder(out).reshape(-1, V), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
        opt.step()
        losses.append(loss.item() / np.log(2))
        times.append(time.perf_counter() - t0)
    return {"times": times[1:], "losses": losses, "peak_mb": peak_mb(), "added_mb": peak_mb() - base}


def ours_train(text_path: str, cell: str, H: int, L: int, threads: int, steps: int, check: bool = False):
    from pyfast_nlp import CharLM

    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    stamps, losses = [], []
    base = [0.0]

    def cb(info):
        stamps.append(time.perf_counter())
        losses.append(info["loss_bits"])

    lm = CharLM(cell, hidden_size=H, num_layers=L, seed=0)
    lm.fit(text, seq_len=T, batch_size=B, max_steps=0, val_fraction=0, progress=False)
    base[0] = rss_mb()
    t0 = time.perf_counter()
    lm.fit(text, seq_len=T, batch_size=B, max_steps=steps + 1, val_fraction=0, num_threads=threads, state_reset=0,
           progress=False, callback=cb)
    times = [b - a for a, b in zip(stamps, stamps[1:])]
    del t0
    return {"times": times, "losses": losses, "peak_mb": peak_mb(), "added_mb": peak_mb() - base[0]}


def torch_sample(text_path: str, cell: str, H: int, L: int, threads: int, n: int):
    import torch

    m = torch_model(cell, H, L, threads)
    x = torch.zeros(1, 1, V)
    state = None
    idx = 1
    times = []
    with torch.no_grad():
        for i in range(n + 50):
            t0 = time.perf_counter()
            x.zero_()
            x[0, 0, idx] = 1.0
            out, state = m.rnn(x, state)
            probs = torch.softmax(m.decoder(out[0, 0]) / 0.8, dim=-1)
            idx = int(torch.multinomial(probs, 1))
            times.append(time.perf_counter() - t0)
    return {"us_per_char": statistics.median(times[50:]) * 1e6}


def ours_sample(text_path: str, cell: str, H: int, L: int, threads: int, n: int):
    from pyfast_nlp import CharLM

    with open(text_path, encoding="utf-8") as f:
        text = f.read()[:100000]
    lm = CharLM(cell, hidden_size=H, num_layers=L, seed=0)
    lm.fit(text, seq_len=T, batch_size=B, max_steps=0, val_fraction=0, progress=False)
    lm.sample("A", 100, temperature=0.8, seed=0, num_threads=threads)
    runs = []
    for r in range(5):
        t0 = time.perf_counter()
        lm.sample("A", n, temperature=0.8, seed=r, num_threads=threads)
        runs.append((time.perf_counter() - t0) / n)
    return {"us_per_char": statistics.median(runs) * 1e6}


WORKERS = {"torch_train": torch_train, "ours_train": ours_train, "torch_sample": torch_sample,
           "ours_sample": ours_sample}


def spawn(kind: str, *args) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, *map(str, args)]
    env = dict(os.environ, OMP_NUM_THREADS=str(args[4]), OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS=str(args[4]))
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- main
def machine() -> str:
    from pyfast_nlp import build_info, nn

    cpu = cpu_name()
    import torch

    return (f"{cpu}, {os.cpu_count()} logical CPUs, kernels: {nn.kernel_isa()}; Python {platform.python_version()}, "
            f"PyTorch {torch.__version__}, pyfast_nlp {build_info()['version']}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="timed training steps per run (after 1 warm-up)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cells", nargs="+", default=list(GATES), choices=list(GATES))
    ap.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512])
    ap.add_argument("--layers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-sampling", action="store_true")
    ap.add_argument("--write", action="store_true", help="write the tables into bench/RESULTS.md")
    ap.add_argument("--text", default=DATA)
    ap.add_argument("--ceiling", type=float, default=CEILING / 1e9,
                    help="this CPU's single-precision FMA ceiling per core, GFLOP/s, for the %% ceiling columns "
                         "(default: the issue's 168 for the AVX-512 Xeon; a Zen 3 core measured 114-134, a Zen 4 core 115-117)")
    ap.add_argument("--worker", nargs="+")
    a = ap.parse_args()
    if a.worker:
        kind, path, cell, H, L, threads, n = a.worker
        res = WORKERS[kind](path, cell, int(H), int(L), int(threads), int(n))
        print(json.dumps(res))
        return
    if not os.path.exists(a.text):
        sys.exit(f"{a.text} not found (the benchmark reads ../shared/data/shakespeare.txt)")
    tmp = tempfile.mkdtemp()
    text = os.path.join(tmp, "shakespeare65.txt")
    prepare_text(a.text, text)

    # validate before timing: the same losses for 3 steps
    for cell in a.cells:
        pt = spawn("torch_train", text, cell, 64, 2, 1, 3)
        us = spawn("ours_train", text, cell, 64, 2, 1, 3)
        diff = max(abs(x - y) for x, y in zip(pt["losses"], us["losses"]))
        print(f"check {cell}: losses {['%.4f' % x for x in us['losses']]}, largest difference from PyTorch {diff:.1e}")
        if diff > 1e-3:
            sys.exit("pyfast_nlp and PyTorch disagree; not timing")

    cells = a.cells
    hs = [256] if a.quick else a.hidden
    layers = [1] if a.quick else a.layers
    rows = []
    for threads in a.threads:
        for cell in cells:
            for H in hs:
                for L in layers:
                    pt_t, us_t, pt_m, us_m = [], [], [], []
                    for r in range(a.reps):
                        p = spawn("torch_train", text, cell, H, L, threads, a.steps)
                        u = spawn("ours_train", text, cell, H, L, threads, a.steps)
                        pt_t += p["times"]
                        us_t += u["times"]
                        pt_m.append(p["added_mb"])
                        us_m.append(u["added_mb"])
                    tp, tu = statistics.median(pt_t), statistics.median(us_t)
                    f = flops_per_char(cell, H, L)
                    # The best step of each side as well: on a shared host the noise only ever adds
                    # time, so the fastest steps are the steadiest comparison.
                    row = {"threads": threads, "cell": cell, "H": H, "L": L, "torch_cps": B * T / tp,
                           "ours_cps": B * T / tu, "ratio": tp / tu, "best_ratio": min(pt_t) / min(us_t),
                           "torch_ceiling": f * B * T / tp / (a.ceiling * 1e9 * threads),
                           "ours_ceiling": f * B * T / tu / (a.ceiling * 1e9 * threads),
                           "torch_mb": statistics.median(pt_m), "ours_mb": statistics.median(us_m)}
                    rows.append(row)
                    print(f"{threads} thr {cell:>4} H={H:<3} L={L}: PyTorch {row['torch_cps']:>8,.0f} ch/s "
                          f"({row['torch_ceiling']:.0%}), pyfast_nlp {row['ours_cps']:>8,.0f} ch/s "
                          f"({row['ours_ceiling']:.0%}), ratio {row['ratio']:.2f}x (best steps {row['best_ratio']:.2f}x); memory added "
                          f"{row['torch_mb']:.0f} / {row['ours_mb']:.0f} MB", flush=True)
    samples = []
    for cell, H, L in ([] if a.no_sampling else [("lstm", 256, 1)] if a.quick else
                       [("lstm", 256, 1), ("rnn", 128, 1), ("gru", 256, 1), ("lstm", 512, 2)]):
        for threads in a.threads:
            pt = statistics.median([spawn("torch_sample", text, cell, H, L, threads, 300)["us_per_char"]
                                    for _ in range(a.reps)])
            us = statistics.median([spawn("ours_sample", text, cell, H, L, threads, 3000)["us_per_char"]
                                    for _ in range(a.reps)])
            samples.append({"cell": cell, "H": H, "L": L, "threads": threads, "torch_us": pt, "ours_us": us})
            print(f"sampling {cell} {H}x{L}, {threads} thr: PyTorch {pt:.0f} us/char, pyfast_nlp {us:.1f} us/char, "
                  f"{pt / us:.1f}x", flush=True)
    if a.write:
        write_results(rows, samples, a)


def write_results(rows, samples, a) -> None:
    ceiling_arg = "" if a.ceiling * 1e9 == CEILING else f" --ceiling {a.ceiling:g}"
    lines = [f"Run on {time.strftime('%Y-%m-%d')}. Machine: {machine()}. Command: "
             f"`python bench/bench_rnn.py --reps {a.reps} --steps {a.steps}{ceiling_arg} --write` "
             f"({a.reps} runs of {a.steps} timed steps per cell, medians). Batch {B}, seq_len {T}, vocabulary {V}, "
             "one-hot input, Adam, clipping at 5; characters per second of training. \"% ceiling\" is FLOPs per "
             f"character (sum over layers of 6GH(I+H), plus 6HV) times characters per second over {a.ceiling:g} GFLOP/s per "
             "thread; memory is the peak RSS added by training (MB). Speeds and \"ratio\" are from the median step "
             "times; \"best-step ratio\" compares each side's fastest step (noise on this shared 2-vCPU host only "
             "adds time, so it is the steadier figure).", "",
             "| threads | cell | H | layers | PyTorch ch/s | pyfast_nlp ch/s | ratio | best-step ratio | "
             "PyTorch % ceiling | pyfast_nlp % ceiling | PyTorch MB | pyfast_nlp MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['threads']} | {r['cell']} | {r['H']} | {r['L']} | {r['torch_cps']:,.0f} | "
                     f"{r['ours_cps']:,.0f} | **{r['ratio']:.2f}x** | {r['best_ratio']:.2f}x | {r['torch_ceiling']:.0%} | "
                     f"{r['ours_ceiling']:.0%} | {r['torch_mb']:.0f} | {r['ours_mb']:.0f} |")
    lines += ["", "Sampling at batch 1 (temperature 0.8), microseconds per character:", "",
              "| model | threads | PyTorch | pyfast_nlp | speed-up |", "|---|---|---|---|---|"]
    for s in samples:
        lines.append(f"| {s['cell']} {s['H']}x{s['L']} | {s['threads']} | {s['torch_us']:.0f} | {s['ours_us']:.1f} | "
                     f"**{s['torch_us'] / s['ours_us']:.1f}x** |")
    block = "\n".join(lines)
    path = os.path.join(HERE, "RESULTS.md")
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    start, end = "<!-- bench_rnn start -->", "<!-- bench_rnn end -->"
    if start in doc:
        pre, rest = doc.split(start, 1)
        post = rest.split(end, 1)[1]
        doc = pre + start + "\n" + block + "\n" + end + post
    else:
        doc = doc.rstrip() + "\n\n## Character-level RNN / LSTM / GRU (bench_rnn.py)\n\n" + start + "\n" + block + \
            "\n" + end + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(doc)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
