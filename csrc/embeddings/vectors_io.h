// Word-vector files: GloVe text (no header), word2vec text and binary (with a
// "count dim" header line). Readers name the line (or word) of any problem.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/buffer.h"

namespace pfn {

class VectorsFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WordVectorsData {
  std::vector<std::string> words;  // valid UTF-8
  Buffer<float> data;              // rows x dim, row-major
  int64_t rows = 0;
  int dim = 0;
};

// Text formats; header: 0 = none (GloVe), 1 = "count dim" first line (word2vec).
// A word may contain spaces: the last `dim` fields of a line are its values.
WordVectorsData read_vectors_text(const std::string& path, bool header, int num_threads);
WordVectorsData read_word2vec_binary(const std::string& path, int num_threads);

// Writes values in the shortest form that reads back to the same float32.
void write_vectors_text(const std::string& path, const std::vector<std::string>& words,
                        const float* data, int64_t rows, int dim, bool header);
void write_word2vec_binary(const std::string& path, const std::vector<std::string>& words,
                           const float* data, int64_t rows, int dim);

}  // namespace pfn
