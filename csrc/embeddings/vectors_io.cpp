#include "embeddings/vectors_io.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/file_error.h"
#include "common/mapped_file.h"
#include "common/parallel.h"
#include "common/unicode.h"

namespace pfn {
namespace {

bool valid_utf8(const char* p, size_t n) {
  const auto* s = reinterpret_cast<const unsigned char*>(p);
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp;
    int k = utf8_decode(s + i, n - i, &cp);
    if (k < 0) return false;
    i += static_cast<size_t>(k);
  }
  return true;
}

inline bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// A whole field as a non-negative integer ("12x" is not 12).
bool parse_count(std::pair<const char*, const char*> f, long long& out) {
  auto r = std::from_chars(f.first, f.second, out);
  return r.ec == std::errc() && r.ptr == f.second && out >= 0;
}

// Splits [b, e) at blanks into fields.
void fields_of(const char* b, const char* e, std::vector<std::pair<const char*, const char*>>& out) {
  out.clear();
  while (b < e) {
    while (b < e && is_blank(*b)) ++b;
    if (b == e) break;
    const char* s = b;
    while (b < e && !is_blank(*b)) ++b;
    out.emplace_back(s, b);
  }
}

struct LineError {
  int64_t line = -1;
  std::string msg;
};

}  // namespace

WordVectorsData read_vectors_text(const std::string& path, bool header, int num_threads) {
  const MappedFile file(path);
  const std::string_view s = file.view();
  // Line starts (0-based line numbers; reported 1-based).
  std::vector<std::pair<size_t, size_t>> lines;  // [begin, end) without the newline
  {
    size_t b = 0;
    while (b < s.size()) {
      const void* nl = std::memchr(s.data() + b, '\n', s.size() - b);
      size_t e = nl ? static_cast<size_t>(static_cast<const char*>(nl) - s.data()) : s.size();
      lines.emplace_back(b, e);
      b = e + 1;
    }
  }
  // Blank lines (trailing ones, typically) are ignored; remember the file line numbers.
  std::vector<int64_t> number;
  {
    std::vector<std::pair<size_t, size_t>> kept;
    for (size_t i = 0; i < lines.size(); ++i) {
      const char* b = s.data() + lines[i].first;
      const char* e = s.data() + lines[i].second;
      while (b < e && is_blank(*b)) ++b;
      if (b == e) continue;
      kept.push_back(lines[i]);
      number.push_back(static_cast<int64_t>(i) + 1);
    }
    lines.swap(kept);
  }
  WordVectorsData out;
  std::vector<std::pair<const char*, const char*>> f;
  size_t first = 0;
  int64_t declared = -1;
  if (header) {
    if (lines.empty()) throw VectorsFormatError(path + ": empty file (expected a 'count dim' header line)");
    fields_of(s.data() + lines[0].first, s.data() + lines[0].second, f);
    long long cnt = -1, dim = -1;
    if (f.size() != 2 || !parse_count(f[0], cnt) || !parse_count(f[1], dim) || dim < 1 || dim > (1 << 24))
      throw VectorsFormatError(path + ", line 1: expected a word2vec header 'count dim'");
    // Each value takes at least 2 bytes ("0 "): a header asking for more is refused before
    // anything is allocated.
    if (static_cast<unsigned long long>(dim) * 2 > s.size())
      throw VectorsFormatError(path + ": the header says " + std::to_string(dim) +
                               " values per word, more than the file can hold (truncated file?)");
    declared = cnt;
    out.dim = static_cast<int>(dim);
    first = 1;
  }
  if (lines.size() <= first) throw VectorsFormatError(path + ": no vectors in the file");
  if (!header) {
    fields_of(s.data() + lines[0].first, s.data() + lines[0].second, f);
    if (f.size() < 2) throw VectorsFormatError(path + ", line " + std::to_string(number[0]) +
                                               ": expected a word followed by its values");
    out.dim = static_cast<int>(f.size() - 1);
  }
  const int64_t rows = static_cast<int64_t>(lines.size() - first);
  if (declared >= 0 && declared != rows)
    throw VectorsFormatError(path + ": the header says " + std::to_string(declared) +
                             " words but the file has " + std::to_string(rows));
  const int dim = out.dim;
  out.rows = rows;
  out.words.resize(static_cast<size_t>(rows));
  out.data = Buffer<float>(static_cast<size_t>(rows) * static_cast<size_t>(dim));
  const int T = resolve_threads(num_threads, s.size(), 1 << 20);
  std::vector<LineError> errs(static_cast<size_t>(T));
#pragma omp parallel num_threads(T)
  {
    LineError& err = errs[thread_id()];
    std::vector<std::pair<const char*, const char*>> fl;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      if (err.line >= 0) continue;  // this thread already failed; later lines do not matter
      const size_t li = first + static_cast<size_t>(r);
      const int64_t no = number[li];
      fields_of(s.data() + lines[li].first, s.data() + lines[li].second, fl);
      auto fail = [&](const std::string& m) {
        err.line = no;
        err.msg = path + ", line " + std::to_string(no) + ": " + m;
      };
      if (fl.size() < static_cast<size_t>(dim) + 1) {
        fail("expected a word and " + std::to_string(dim) + " values, found " +
             std::to_string(fl.size() ? fl.size() - 1 : 0) + " values" +
             (r == rows - 1 ? " (truncated file?)" : ""));
        continue;
      }
      const size_t nw = fl.size() - static_cast<size_t>(dim);  // fields of the word
      const char* wb = fl[0].first;
      const char* we = fl[nw - 1].second;
      if (!valid_utf8(wb, static_cast<size_t>(we - wb))) {
        fail("the word is not valid UTF-8");
        continue;
      }
      out.words[static_cast<size_t>(r)].assign(wb, we);
      float* row = out.data.data() + static_cast<size_t>(r) * static_cast<size_t>(dim);
      for (int k = 0; k < dim; ++k) {
        const auto& fv = fl[nw + static_cast<size_t>(k)];
        float v;
        auto res = std::from_chars(fv.first, fv.second, v);
        if (res.ec != std::errc() || res.ptr != fv.second) {
          fail("value " + std::to_string(k + 1) + " ('" + std::string(fv.first, fv.second).substr(0, 40) +
               "') is not a number");
          break;
        }
        if (!std::isfinite(v)) {
          fail("value " + std::to_string(k + 1) + " is not finite");
          break;
        }
        row[k] = v;
      }
    }
  }
  const LineError* worst = nullptr;
  for (auto& e : errs)
    if (e.line >= 0 && (!worst || e.line < worst->line)) worst = &e;
  if (worst) throw VectorsFormatError(worst->msg);
  return out;
}

// Index of the first value of row[0, dim) that is not finite, or -1 (a vectorisable scan).
static int64_t first_not_finite(const float* row, int64_t dim) {
  uint32_t bad = 0;
  for (int64_t k = 0; k < dim; ++k) {
    uint32_t b;
    std::memcpy(&b, row + k, 4);
    bad |= (b & 0x7f800000u) == 0x7f800000u;
  }
  if (!bad) return -1;
  for (int64_t k = 0; k < dim; ++k)
    if (!std::isfinite(row[k])) return k;
  return -1;
}

WordVectorsData read_word2vec_binary(const std::string& path, int num_threads) {
  const MappedFile file(path);
  const std::string_view s = file.view();
  size_t nl = s.find('\n');
  if (nl == std::string_view::npos) throw VectorsFormatError(path + ": no 'count dim' header line");
  std::vector<std::pair<const char*, const char*>> f;
  fields_of(s.data(), s.data() + nl, f);
  long long cnt = -1, dim = -1;
  if (f.size() != 2 || !parse_count(f[0], cnt) || !parse_count(f[1], dim) || dim < 1 || dim > (1 << 24))
    throw VectorsFormatError(path + ", line 1: expected a word2vec header 'count dim'");
  const size_t vec_bytes = static_cast<size_t>(dim) * sizeof(float);
  // Each entry needs at least a 1-byte word, a space and the vector.
  if (static_cast<unsigned long long>(cnt) > (s.size() - nl) / (vec_bytes + 2) + 1)
    throw VectorsFormatError(path + ": the header says " + std::to_string(cnt) +
                             " words, more than the file can hold (truncated file?)");
  WordVectorsData out;
  out.rows = cnt;
  out.dim = static_cast<int>(dim);
  out.words.resize(static_cast<size_t>(cnt));
  out.data = Buffer<float>(static_cast<size_t>(cnt) * static_cast<size_t>(dim));
  // Words are variable-length, so one pass finds them; the vectors are then copied in parallel.
  std::vector<size_t> at(static_cast<size_t>(cnt));
  size_t p = nl + 1;
  for (long long r = 0; r < cnt; ++r) {
    auto where = [&] { return path + ", word " + std::to_string(r + 1) + " (byte " + std::to_string(p) + ")"; };
    while (p < s.size() && (s[p] == '\n' || s[p] == '\r')) ++p;
    size_t sp = s.find(' ', p);
    if (sp == std::string_view::npos || sp == p)
      throw VectorsFormatError(where() + ": file ends before the word (truncated file? header says " +
                               std::to_string(cnt) + " words)");
    if (!valid_utf8(s.data() + p, sp - p)) throw VectorsFormatError(where() + ": the word is not valid UTF-8");
    out.words[static_cast<size_t>(r)].assign(s.data() + p, sp - p);
    p = sp + 1;
    if (s.size() - p < vec_bytes)
      throw VectorsFormatError(where() + ": file ends inside the vector (truncated file?)");
    at[static_cast<size_t>(r)] = p;
    p += vec_bytes;
  }
  while (p < s.size() && (s[p] == '\n' || s[p] == '\r' || s[p] == ' ')) ++p;
  if (p != s.size())
    throw VectorsFormatError(path + ": data after the " + std::to_string(cnt) +
                             " words the header announces");
  const int T = resolve_threads(num_threads, s.size(), 1 << 22);
  std::vector<int64_t> bad_row(static_cast<size_t>(T), -1), bad_col(static_cast<size_t>(T), -1);
  float* data = out.data.data();
#pragma omp parallel for num_threads(T) schedule(static)
  for (long long r = 0; r < cnt; ++r) {
    float* row = data + static_cast<size_t>(r) * static_cast<size_t>(dim);
    std::memcpy(row, s.data() + at[static_cast<size_t>(r)], vec_bytes);  // little-endian float32, as word2vec writes
    const int64_t k = first_not_finite(row, dim);
    const int t = thread_id();
    if (k >= 0 && bad_row[t] < 0) {
      bad_row[t] = r;
      bad_col[t] = k;
    }
  }
  int64_t r0 = -1, k0 = -1;
  for (int t = 0; t < T; ++t)
    if (bad_row[t] >= 0 && (r0 < 0 || bad_row[t] < r0)) r0 = bad_row[t], k0 = bad_col[t];
  if (r0 >= 0)
    throw VectorsFormatError(path + ", word " + std::to_string(r0 + 1) + " (byte " +
                             std::to_string(at[static_cast<size_t>(r0)]) + "): value " + std::to_string(k0 + 1) +
                             " is not finite");
  return out;
}

namespace {
class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) throw FileError("cannot write", path);
    buf_.reserve(1 << 20);
  }
  ~Writer() {
    if (f_) std::fclose(f_);
  }
  void put(const char* p, size_t n) {
    buf_.append(p, n);
    if (buf_.size() >= (1 << 20)) drain();
  }
  void put(const std::string& s) { put(s.data(), s.size()); }
  void put(char c) { buf_.push_back(c); }
  void close() {
    drain();
    int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) throw FileError("error writing", path_);
  }

 private:
  void drain() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size())
      throw FileError("error writing", path_);
    buf_.clear();
  }
  std::string path_;
  std::FILE* f_;
  std::string buf_;
};
}  // namespace

void write_vectors_text(const std::string& path, const std::vector<std::string>& words,
                        const float* data, int64_t rows, int dim, bool header) {
  Writer w(path);
  if (header) w.put(std::to_string(rows) + " " + std::to_string(dim) + "\n");
  char num[64];
  for (int64_t r = 0; r < rows; ++r) {
    w.put(words[static_cast<size_t>(r)]);
    const float* row = data + static_cast<size_t>(r) * static_cast<size_t>(dim);
    for (int k = 0; k < dim; ++k) {
      w.put(' ');
      auto res = std::to_chars(num, num + sizeof num, row[k]);
      w.put(num, static_cast<size_t>(res.ptr - num));
    }
    w.put('\n');
  }
  w.close();
}

void write_word2vec_binary(const std::string& path, const std::vector<std::string>& words,
                           const float* data, int64_t rows, int dim) {
  Writer w(path);
  w.put(std::to_string(rows) + " " + std::to_string(dim) + "\n");
  for (int64_t r = 0; r < rows; ++r) {
    w.put(words[static_cast<size_t>(r)]);
    w.put(' ');
    w.put(reinterpret_cast<const char*>(data + static_cast<size_t>(r) * static_cast<size_t>(dim)),
          static_cast<size_t>(dim) * sizeof(float));
    w.put('\n');
  }
  w.close();
}

}  // namespace pfn
