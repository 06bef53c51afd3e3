// Stemmers: Snowball English (Porter2), original Porter (1980), and a light Korean stemmer.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace pfn {

enum class StemmerKind : uint8_t { None, English, Porter, Korean };

// Stems one UTF-8 word into `out`. Words are expected lower-case, as the tokenizer
// gives them. `work` is caller-owned scratch (reused across calls in a batch).
void stem(StemmerKind kind, std::string_view word, std::string& out, std::u32string& work);

// In-place forms over code points (the algorithms count characters, not bytes).
void stem_english(std::u32string& w);
void stem_porter(std::u32string& w);
void stem_korean(std::u32string& w);

}  // namespace pfn
