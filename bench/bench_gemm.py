"""Our GEMM micro-kernels against a well-kept BLAS from PyPI (numpy's OpenBLAS), on the
shapes the recurrent kernels use. This is the benchmark behind the decision to write our own.

    python bench/bench_gemm.py            # 1 and 2 threads, each in its own process

Our side is `_core.gemm`, which packs B on every call and starts an OpenMP team on every call
(the recurrent step packs its weights once per layer call and keeps one team for the whole
sequence, so the per-step figures here are a lower bound for it).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

SHAPES = [  # (M, K, N, what)
    (64, 256, 1024, "LSTM 256 step: h (B,H) x W_hh^T"),
    (64, 1024, 256, "LSTM 256 backward step: dgates x W_hh"),
    (64, 512, 2048, "LSTM 512 step"),
    (1024, 8192, 256, "LSTM 256 dW_hh over a chunk (T*B = 8192)"),
    (8192, 512, 2048, "LSTM 512 input projection of layer 2"),
    (8192, 256, 65, "output layer logits (V = 65)"),
]


def worker(threads: int, which: str) -> None:
    import numpy as np

    from pyfast_nlp import _core

    rng = np.random.default_rng(0)
    rows = []
    for M, K, N, what in SHAPES:
        a = rng.standard_normal((M, K)).astype(np.float32)
        b = rng.standard_normal((K, N)).astype(np.float32)
        ref = a.astype(np.float64) @ b
        assert np.abs(_core.gemm(a, b, threads=threads) - ref).max() < 1e-3 * np.abs(ref).max()
        res = {}
        f = (lambda: a @ b) if which == "openblas" else (lambda: _core.gemm(a, b, threads=threads))
        for name in (which,):
            f()
            reps = max(3, int(2e8 / (2 * M * N * K)))
            ts = []
            for _ in range(5):
                t0 = time.perf_counter()
                for _ in range(reps):
                    f()
                ts.append((time.perf_counter() - t0) / reps)
            res[name] = 2 * M * N * K / statistics.median(ts) / 1e9
        rows.append({"shape": [M, K, N], "what": what, **res})
    print(json.dumps(rows))


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--worker":
        worker(int(sys.argv[2]), sys.argv[3])
        return
    print("| threads | M x K x N | use | OpenBLAS GFLOP/s | pyfast_nlp GFLOP/s | ratio |")
    print("|---|---|---|---|---|---|")
    for threads in (1, 2):
        # each side in its own process: OpenBLAS's threads spin after a call and would steal
        # the cores from ours (and OpenMP's from OpenBLAS)
        res = {}
        for which in ("openblas", "ours"):
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads) if which == "openblas" else "1",
                       OMP_NUM_THREADS=str(threads))
            out = subprocess.run([sys.executable, __file__, "--worker", str(threads), which], env=env,
                                 capture_output=True, text=True, check=True)
            res[which] = json.loads(out.stdout.strip().splitlines()[-1])
        for r0, r1 in zip(res["openblas"], res["ours"]):
            r = {**r0, **r1}
            M, K, N = r["shape"]
            print(f"| {threads} | {M} x {K} x {N} | {r['what']} | {r['openblas']:.0f} | {r['ours']:.0f} | "
                  f"{r['ours'] / r['openblas']:.2f} |")


if __name__ == "__main__":
    main()
