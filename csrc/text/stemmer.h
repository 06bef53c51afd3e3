// Stemmers: Snowball English (Porter2), original Porter (1980), and a light Korean stemmer.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pfn {

enum class StemmerKind : uint8_t { None, English, Porter, Korean };

// Stems one UTF-8 word into `out`. Words are expected lower-case, as the tokenizer
// gives them. `work` is caller-owned scratch (reused across calls in a batch).
void stem(StemmerKind kind, std::string_view word, std::string& out, std::u32string& work);

// Stems many words, each distinct word once: returns the stems of the distinct words and,
// for every input word, the index of its stem (text repeats words, so this is a big
// saving, and callers can share one output object per distinct stem).
struct StemmedBatch {
  std::vector<std::string> stems;
  std::vector<int32_t> index;
};
StemmedBatch stem_many(StemmerKind kind, const std::vector<std::string_view>& words, int num_threads);

// In-place forms over code points (the algorithms count characters, not bytes).
void stem_english(std::u32string& w);
void stem_porter(std::u32string& w);
void stem_korean(std::u32string& w);

}  // namespace pfn
