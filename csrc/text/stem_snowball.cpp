// Snowball English ("Porter2") and original Porter stemmers, written from the published
// algorithm descriptions (snowballstem.org). Both work on code points so that region
// positions count characters, as Snowball's UTF-8 mode does.
#include <cstring>
#include <utility>

#include "text/stemmer.h"

namespace pfn {
namespace {

using U32 = std::u32string;

inline bool is_v(char32_t c) {
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
}
inline bool is_v_wxy(char32_t c) { return is_v(c) || c == 'w' || c == 'x' || c == 'Y'; }
inline bool valid_li(char32_t c) { return c && std::strchr("cdeghkmnrt", static_cast<int>(c)); }

bool ends(const U32& w, const char* suf) {
  size_t m = std::strlen(suf);
  if (m > w.size()) return false;
  size_t off = w.size() - m;
  for (size_t i = 0; i < m; ++i)
    if (w[off + i] != static_cast<char32_t>(suf[i])) return false;
  return true;
}
bool equals(const U32& w, const char* s) { return w.size() == std::strlen(s) && ends(w, s); }

void replace_tail(U32& w, size_t suffix_len, const char* by) {
  w.resize(w.size() - suffix_len);
  for (const char* p = by; *p; ++p) w.push_back(static_cast<char32_t>(*p));
}

// Longest suffix of `w` found in `list` (nullptr-terminated); returns its index or -1.
int longest(const U32& w, const char* const* list) {
  int best = -1;
  size_t best_len = 0;
  for (int i = 0; list[i]; ++i) {
    size_t m = std::strlen(list[i]);
    if ((best < 0 || m > best_len) && ends(w, list[i])) {
      best = i;
      best_len = m;
    }
  }
  return best;
}

bool vowel_in(const U32& w, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i)
    if (is_v(w[i])) return true;
  return false;
}

// Position after the first non-vowel that follows a vowel, searching from `start`.
size_t region_after(const U32& w, size_t start) {
  size_t i = start, n = w.size();
  while (i < n && !is_v(w[i])) ++i;
  if (i >= n) return n;
  ++i;
  while (i < n && is_v(w[i])) ++i;
  if (i >= n) return n;
  return i + 1;
}

// Short syllable ending at position c (exclusive). English adds "vowel at the start
// followed by a non-vowel"; Porter has only the consonant-vowel-consonant form.
bool shortv(const U32& w, size_t c, bool english) {
  if (c >= 3 && !is_v_wxy(w[c - 1]) && is_v(w[c - 2]) && !is_v(w[c - 3])) return true;
  if (english && c == 2 && !is_v(w[1]) && is_v(w[0])) return true;
  // Snowball 3: "past" counts as short ("pasted" -> "paste")
  if (english && c >= 4 && w[c - 4] == 'p' && w[c - 3] == 'a' && w[c - 2] == 's' && w[c - 1] == 't')
    return true;
  return false;
}

// Snowball's prelude/postlude: consonant y becomes Y and back. As in Snowball, the postlude
// runs only if the prelude changed something, so a 'Y' already in the input is kept.
bool mark_y(U32& w) {
  bool found = false;
  if (!w.empty() && w[0] == 'y') w[0] = 'Y', found = true;
  for (size_t i = 1; i < w.size(); ++i)
    if (w[i] == 'y' && is_v(w[i - 1])) w[i] = 'Y', found = true;
  return found;
}
void unmark_y(U32& w, bool found) {
  if (!found) return;
  for (auto& c : w)
    if (c == 'Y') c = 'y';
}

bool is_double(const U32& w) {
  size_t n = w.size();
  if (n < 2 || w[n - 1] != w[n - 2]) return false;
  char32_t c = w[n - 1];
  return c == 'b' || c == 'd' || c == 'f' || c == 'g' || c == 'm' || c == 'n' || c == 'p' ||
         c == 'r' || c == 't';
}

// ---------------------------------------------------------------- English (Porter2)
const std::pair<const char*, const char*> kException1[] = {
    {"skis", "ski"},   {"skies", "sky"},  {"idly", "idl"},   {"gently", "gentl"}, {"ugly", "ugli"},
    {"early", "earli"}, {"only", "onli"}, {"singly", "singl"}, {"sky", "sky"},
    {"news", "news"},  {"howe", "howe"},  {"atlas", "atlas"}, {"cosmos", "cosmos"},
    {"bias", "bias"},  {"andes", "andes"}};
const char* const kRegionPrefixes[] = {"gener", "commun", "arsen", "past",  "univers",
                                       "later", "emerg",  "organ", "inter", nullptr};

void english_step1a(U32& w) {
  static const char* const apos[] = {"'", "'s", "'s'", nullptr};
  int a = longest(w, apos);
  if (a >= 0) w.resize(w.size() - std::strlen(apos[a]));
  static const char* const l[] = {"sses", "ied", "ies", "s", "us", "ss", nullptr};
  switch (longest(w, l)) {
    case 0: replace_tail(w, 4, "ss"); break;
    case 1:
    case 2: replace_tail(w, 3, w.size() - 3 >= 2 ? "i" : "ie"); break;
    case 3:
      if (w.size() >= 2 && vowel_in(w, 0, w.size() - 2)) w.pop_back();
      break;
    default: break;
  }
}

bool at_start_is(const U32& w, size_t len, const char* const* list) {
  for (int i = 0; list[i]; ++i)
    if (std::strlen(list[i]) == len && std::equal(w.begin(), w.begin() + static_cast<long>(len), list[i]))
      return true;
  return false;
}

void english_step1b(U32& w, size_t p1) {
  static const char* const l[] = {"eed", "eedly", "ed", "edly", "ing", "ingly", nullptr};
  int k = longest(w, l);
  if (k < 0) return;
  size_t m = std::strlen(l[k]), start = w.size() - m;
  if (k <= 1) {  // eed, eedly; "proceed", "exceed", "succeed" stay
    static const char* const keep[] = {"succ", "proc", "exc", nullptr};
    if (!at_start_is(w, start, keep) && start >= p1) replace_tail(w, m, "ee");
    return;
  }
  if (k == 4) {  // ing: "evening", "inning", ... stay; "dying" -> "die"
    static const char* const keep[] = {"even", "cann", "inn", "earr", "herr", "out", nullptr};
    if (at_start_is(w, start, keep)) return;
    if (start == 2 && w[1] == 'y' && !is_v(w[0])) {
      replace_tail(w, 4, "ie");
      return;
    }
  }
  if (!vowel_in(w, 0, start)) return;
  w.resize(start);
  if (ends(w, "at") || ends(w, "bl") || ends(w, "iz")) {
    w.push_back('e');
  } else if (is_double(w)) {
    // "added", "egged", "erred" keep the double after a leading a/e/o
    bool keep = w.size() == 3 && (w[0] == 'a' || w[0] == 'e' || w[0] == 'o');
    if (!keep) w.pop_back();
  } else if (w.size() == p1 && shortv(w, w.size(), true)) {
    w.push_back('e');
  }
}

void english_step1c(U32& w) {
  size_t n = w.size();
  if (n >= 3 && (w[n - 1] == 'y' || w[n - 1] == 'Y') && !is_v(w[n - 2])) w[n - 1] = 'i';
}

void english_step2(U32& w, size_t p1) {
  static const char* const l[] = {"tional", "enci",   "anci",    "abli",    "entli",   "izer",
                                  "ization", "ational", "ation",  "ator",    "alism",   "aliti",
                                  "alli",   "fulness", "ousli",  "ousness", "iveness", "iviti",
                                  "biliti", "bli",     "ogi",    "fulli",   "lessli",  "li",
                                  "ogist",  nullptr};
  static const char* const to[] = {"tion", "ence", "ance", "able", "ent", "ize", "ize", "ate",
                                   "ate",  "ate",  "al",   "al",   "al",  "ful", "ous", "ous",
                                   "ive",  "ive",  "ble",  "ble",  "og",  "ful", "less", "", "og"};
  int k = longest(w, l);
  if (k < 0) return;
  size_t m = std::strlen(l[k]), start = w.size() - m;
  if (start < p1) return;
  if (k == 20) {  // ogi
    if (start >= 1 && w[start - 1] == 'l') replace_tail(w, m, "og");
  } else if (k == 23) {  // li
    if (start >= 1 && valid_li(w[start - 1])) w.resize(start);
  } else {
    replace_tail(w, m, to[k]);
  }
}

void english_step3(U32& w, size_t p1, size_t p2) {
  static const char* const l[] = {"tional", "ational", "alize", "icate", "iciti",
                                  "ical",   "ful",     "ness",  "ative", nullptr};
  static const char* const to[] = {"tion", "ate", "al", "ic", "ic", "ic", "", "", ""};
  int k = longest(w, l);
  if (k < 0) return;
  size_t m = std::strlen(l[k]), start = w.size() - m;
  if (start < p1) return;
  if (k == 8) {
    if (start >= p2) w.resize(start);
  } else {
    replace_tail(w, m, to[k]);
  }
}

void step4(U32& w, size_t p2, bool porter) {
  static const char* const l[] = {"al",  "ance", "ence", "er",  "ic",  "able", "ible",
                                  "ant", "ement", "ment", "ent", "ism", "ate",  "iti",
                                  "ous", "ive",  "ize",  "ion", "ou",  nullptr};
  int k = longest(w, l);
  if (k < 0) return;
  if (k == 18 && !porter) {  // "ou" is Porter-only; in English look for a shorter match
    return;
  }
  size_t m = std::strlen(l[k]), start = w.size() - m;
  if (start < p2) return;
  if (k == 17) {
    if (start >= 1 && (w[start - 1] == 's' || w[start - 1] == 't')) w.resize(start);
  } else {
    w.resize(start);
  }
}

void step5(U32& w, size_t p1, size_t p2, bool english) {
  size_t n = w.size();
  if (n == 0) return;
  if (w[n - 1] == 'e') {
    if (n - 1 >= p2 || (n - 1 >= p1 && !shortv(w, n - 1, english))) w.pop_back();
    if (english) return;  // English: one of the two rules; Porter: 5a then 5b
    n = w.size();
  }
  if (n && w[n - 1] == 'l') {
    if (n - 1 >= p2 && n >= 2 && w[n - 2] == 'l') w.pop_back();
  }
}

}  // namespace

void stem_english(U32& w) {
  for (const auto& e : kException1) {
    if (equals(w, e.first)) {
      w.clear();
      for (const char* p = e.second; *p; ++p) w.push_back(static_cast<char32_t>(*p));
      return;
    }
  }
  if (w.size() < 3) return;
  if (w[0] == '\'') w.erase(0, 1);
  const bool y_found = mark_y(w);
  size_t p1 = w.size();
  bool prefixed = false;
  for (int i = 0; kRegionPrefixes[i]; ++i) {
    size_t m = std::strlen(kRegionPrefixes[i]);
    if (w.size() >= m && std::equal(w.begin(), w.begin() + static_cast<long>(m),
                                    kRegionPrefixes[i])) {
      p1 = m;
      prefixed = true;
      break;
    }
  }
  if (!prefixed) p1 = region_after(w, 0);
  size_t p2 = region_after(w, p1);

  english_step1a(w);
  english_step1b(w, p1);
  english_step1c(w);
  english_step2(w, p1);
  english_step3(w, p1, p2);
  step4(w, p2, false);
  step5(w, p1, p2, true);
  unmark_y(w, y_found);
}

// ---------------------------------------------------------------- Porter (1980)
void stem_porter(U32& w) {
  const bool y_found = mark_y(w);
  size_t p1 = region_after(w, 0);
  size_t p2 = region_after(w, p1);

  static const char* const l1a[] = {"sses", "ies", "ss", "s", nullptr};
  switch (longest(w, l1a)) {
    case 0: replace_tail(w, 4, "ss"); break;
    case 1: replace_tail(w, 3, "i"); break;
    case 3: w.pop_back(); break;
    default: break;
  }
  static const char* const l1b[] = {"eed", "ed", "ing", nullptr};
  int k = longest(w, l1b);
  if (k == 0) {
    if (w.size() - 3 >= p1) replace_tail(w, 3, "ee");
  } else if (k > 0) {
    size_t start = w.size() - std::strlen(l1b[k]);
    if (vowel_in(w, 0, start)) {
      w.resize(start);
      if (ends(w, "at") || ends(w, "bl") || ends(w, "iz")) {
        w.push_back('e');
      } else if (is_double(w)) {
        w.pop_back();
      } else if (w.size() == p1 && shortv(w, w.size(), false)) {
        w.push_back('e');
      }
    }
  }
  if (!w.empty() && (w.back() == 'y' || w.back() == 'Y') && vowel_in(w, 0, w.size() - 1))
    w.back() = 'i';

  static const char* const l2[] = {"tional", "enci", "anci", "abli", "entli", "eli",
                                   "izer",   "ization", "ational", "ation", "ator", "alli",
                                   "alism",  "aliti", "fulness", "ousli", "ousness",
                                   "iveness", "iviti", "biliti", nullptr};
  static const char* const t2[] = {"tion", "ence", "ance", "able", "ent", "e",   "ize",
                                   "ize",  "ate",  "ate",  "ate",  "al",  "al",  "al",
                                   "ful",  "ous",  "ous",  "ive",  "ive", "ble"};
  k = longest(w, l2);
  if (k >= 0 && w.size() - std::strlen(l2[k]) >= p1) replace_tail(w, std::strlen(l2[k]), t2[k]);

  static const char* const l3[] = {"icate", "ative", "alize", "iciti", "ical", "ful", "ness",
                                   nullptr};
  static const char* const t3[] = {"ic", "", "al", "ic", "ic", "", ""};
  k = longest(w, l3);
  if (k >= 0 && w.size() - std::strlen(l3[k]) >= p1) replace_tail(w, std::strlen(l3[k]), t3[k]);

  step4(w, p2, true);
  step5(w, p1, p2, false);
  unmark_y(w, y_found);
}

}  // namespace pfn
