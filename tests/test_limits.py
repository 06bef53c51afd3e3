"""Work that would need more memory than the machine has is refused up front, with a message
saying what needed how much, instead of ending in swap or the kernel's OOM killer."""
import numpy as np
import pytest
import scipy.sparse as sp

from pyfast_nlp import GloVe, Vocab, cooccurrence, nn
from pyfast_nlp._base import available_memory
from pyfast_nlp import CharLM


@pytest.fixture
def small_machine(monkeypatch):
    monkeypatch.setenv("PYFAST_NLP_MEMORY_LIMIT", str(200 * 2**20))  # pretend 200 MB are free


def test_available_memory_is_a_plausible_number():
    assert 2**20 < available_memory() < 2**50


def test_glove_refuses_a_model_larger_than_memory(small_machine):
    n = 300_000  # 2 * n * 208 floats at dim 100: 476 MB, twice (the last good epoch's are kept): 952 MB
    cooc = sp.coo_matrix((np.ones(2, np.float32), ([0, 1], [1, 0])), shape=(n, n))
    with pytest.raises(MemoryError, match=r"GloVe with 300,000 words at dim 100 .* needs about 952\.\d MB"):
        GloVe(dim=100, epochs=1).fit(cooc, [f"w{i}" for i in range(n)], progress=False)
    with pytest.raises(ValueError, match="dim must be"):
        GloVe(dim=10**6).fit(cooc, [f"w{i}" for i in range(n)], progress=False)


def test_charlm_refuses_a_model_larger_than_memory(small_machine):
    with pytest.raises(MemoryError, match="LSTM of 2 x 4096 units"):
        CharLM(hidden_size=4096).fit("hello world\n" * 50, seq_len=5, batch_size=2, max_steps=1, progress=False)
    with pytest.raises(MemoryError, match="activations of a 2000 x 64 chunk"):
        CharLM(hidden_size=256).fit("hello world\n" * 20000, seq_len=2000, batch_size=64, max_steps=1,
                                    progress=False)


def test_kernel_cache_and_dense_one_hot_are_checked(small_machine):
    H = 256
    x = np.zeros((20000, 64), np.int32)
    w = [np.zeros(s, np.float32) for s in ((4 * H, 10), (4 * H, H), (4 * H,), (4 * H,))]
    h = np.zeros((64, H), np.float32)
    with pytest.raises(MemoryError, match="LSTM cache of 20000 steps x 64 sequences"):
        nn.lstm_forward(x, h, h, *w)
    v = Vocab([f"w{i}" for i in range(100_000)])
    assert v.one_hot(np.arange(1000)).shape == (1000, 100_001)  # sparse: fine
    with pytest.raises(MemoryError, match="dense 1,000 x 100,001 one-hot"):
        v.one_hot(np.arange(1000), dense=True)


def test_cooccurrence_memory_limit_too_small_is_refused():
    with pytest.raises(ValueError, match="memory_limit must be at least"):
        cooccurrence([np.arange(10, dtype=np.int32)], [f"w{i}" for i in range(10)], memory_limit="1KB",
                     progress=False)


def test_memory_limit_variable_must_be_a_number(monkeypatch):
    monkeypatch.setenv("PYFAST_NLP_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="PYFAST_NLP_MEMORY_LIMIT"):
        Vocab(["a"]).one_hot([0], dense=True)


def test_memory_messages_tell_close_sizes_apart():
    from pyfast_nlp._base import _human_pair

    assert _human_pair(1.40 * 2 ** 30, 1.43 * 2 ** 30) == ("1.40 GB", "1.43 GB")
    assert _human_pair(1.5 * 2 ** 30, 3 * 2 ** 30) == ("1.5 GB", "3.0 GB")
    a, b = _human_pair(2 ** 30, 2 ** 30 + 5)
    assert a != b


def test_an_allocation_failure_inside_counting_says_what_ran_out(tmp_path):
    # ulimit -v below memory_limit: the C++ allocator fails first; the MemoryError says what and why
    import os
    import subprocess
    import sys
    import textwrap

    import pyfast_nlp

    if pyfast_nlp.build_info()["sanitize"]:
        pytest.skip("AddressSanitizer reserves more address space than any ulimit -v here allows")
    code = textwrap.dedent("""
        import os, random, resource
        from pyfast_nlp import Tokenizer, Vocab, cooccurrence
        rng = random.Random(0)
        words = [f"w{i}" for i in range(200000)]
        docs = [" ".join(rng.choice(words) for _ in range(50)) for _ in range(40000)]
        ws = Tokenizer(pattern="whitespace")
        vocab = Vocab.build(docs, tokenizer=ws, specials=())
        rss = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        resource.setrlimit(resource.RLIMIT_AS, (rss + (200 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))
        try:
            cooccurrence(docs, vocab, tokenizer=ws, window=10, memory_limit="4GB", num_threads=2, progress=False)
            print("no error")
        except MemoryError as e:
            print("MemoryError:", e)
    """)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(pyfast_nlp.__file__)))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "MemoryError: counting co-occurrences ran out of memory (std::bad_alloc) although memory_limit='4GB'" \
        in out.stdout, out.stdout
