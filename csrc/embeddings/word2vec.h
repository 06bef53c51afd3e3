// word2vec (Mikolov et al., 2013): skip-gram and CBOW with negative sampling, frequent-word
// subsampling and a linearly decaying learning rate, Hogwild-parallel over chunks of the
// corpus, as the original word2vec tool and gensim train it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace pfn {

struct Word2VecConfig {
  int dim = 100;
  int window = 5;
  int negative = 5;
  bool sg = false;             // skip-gram, else CBOW
  bool cbow_mean = true;       // CBOW input: mean (true) or sum of the context vectors
  bool shrink_windows = true;  // each centre word draws its window in [1, window]
  float alpha = 0.025f, min_alpha = 0.0001f;
  int threads = 1;
  int64_t max_sentence = 10000;  // longer documents are cut into pieces of this many words (as gensim)
};

// Word rows (syn0) and output rows (syn1neg), `stride` floats apart (stride >= dim, padded so
// rows start on cache lines).
struct Word2VecParams {
  float* syn0;
  float* syn1;
  int64_t vocab;
  int64_t stride;
};

// Noise words for negative sampling, drawn with probability proportional to count^exponent by
// Walker's alias method: exact, O(1) per draw, 8 bytes per word (the reference tools use a
// 1e8-entry table or a binary search over cumulative counts).
struct NoiseTable {
  std::vector<uint32_t> threshold;  // keep column i with probability threshold[i] / 2^32
  std::vector<int32_t> alias;       // else take alias[i]
  int32_t draw(uint64_t r) const {  // r: 64 random bits
    const uint32_t i = static_cast<uint32_t>(((r >> 32) * threshold.size()) >> 32);
    return static_cast<uint32_t>(r) < threshold[i] ? static_cast<int32_t>(i) : alias[i];
  }
};
NoiseTable make_noise_table(const int64_t* counts, int64_t vocab, double exponent);

// Subsampling: word w is kept with probability p = min(1, (sqrt(c/t) + 1) t / c), t = sample *
// total count (the word2vec tool's formula); returned as round(p 2^32) capped at 2^32 - 1, a word
// being kept when a uniform 32-bit number is <= it. sample == 0 keeps every word.
std::vector<uint32_t> subsample_thresholds(const int64_t* counts, int64_t vocab, double sample);

// Where a call sits in the whole run, for the learning rate and the random streams.
struct Word2VecSchedule {
  int64_t words_before = 0;  // corpus words (before subsampling) trained in this run before this call
  int64_t total_words = 1;   // corpus words the whole run trains (words per epoch x epochs)
  uint64_t seed = 1;
};

struct Word2VecStats {
  double loss = 0;          // sum of -log sigma(+-f) over every (input, target) example, in float64
  int64_t examples = 0;     // positive examples trained (input, word) pairs
  int64_t words = 0;        // corpus words read
  int64_t effective = 0;    // words left after subsampling
  float last_alpha = 0;
};

// Trains on documents of ids (document d: ids[doc_end[d-1], doc_end[d])) once. The documents
// are cut into chunks of about 10,000 words that threads take in turn, updating the shared
// parameters without locks (Hogwild); chunk k draws its window sizes, subsampling and noise
// words from its own generator, seeded by (seed, its first word's position in the run), and
// uses the learning rate of that position: alpha - (alpha - min_alpha) * position / total_words.
// One thread gives the same result on every run.
Word2VecStats word2vec_train(const Word2VecParams& p, const int32_t* ids, const int64_t* doc_end,
                             size_t n_docs, const Word2VecConfig& cfg, const NoiseTable& noise,
                             const uint32_t* keep, const Word2VecSchedule& sched);

// The plain reference of one update, exposed for tests: input row l1 (a word vector, or the
// CBOW context mean), targets[0] the positive word and targets[1..] noise words (a noise word
// equal to targets[0] is skipped, as in the tools). Adds g * syn1[t] to neu1e and g * l1 to
// syn1[t] with g = (label - sigma(l1 . syn1[t])) * alpha; returns the loss.
double word2vec_update(const float* l1, float* neu1e, float* syn1, int64_t stride, int dim,
                       const int32_t* targets, int n_targets, float alpha);

// The sigmoid of the tools: 1000 steps over [-6, 6], 0 or 1 outside.
float word2vec_sigmoid(float f);

}  // namespace pfn
