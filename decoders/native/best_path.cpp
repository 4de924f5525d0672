#include "best_path.hpp"

#include <limits>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fastbeam {

namespace {

constexpr float kInfinity = std::numeric_limits<float>::infinity();

// The first column holding the row's largest value, as numpy's argmax picks it. `finite` turns false on NaN or +inf
// (both fail `x < inf`) and on a row that is -inf throughout; the returned column is then meaningless.
#if defined(__SSE2__)
// Four columns at a time: the row's maximum first, then the first column equal to it, which for the peaky rows of
// CTC models is nearly always in the first four. Twice the speed of the one-column loop below.
inline int argmax(const float* row, int columns, float& best_value, bool& finite) {
  const int wide = columns & ~3;
  const __m128 infinity = _mm_set1_ps(kInfinity);
  __m128 peak = _mm_set1_ps(-kInfinity);
  __m128 below_infinity = _mm_cmpeq_ps(peak, peak);  // all ones
  for (int j = 0; j < wide; j += 4) {
    const __m128 x = _mm_loadu_ps(row + j);
    peak = _mm_max_ps(peak, x);
    below_infinity = _mm_and_ps(below_infinity, _mm_cmplt_ps(x, infinity));
  }
  peak = _mm_max_ps(peak, _mm_shuffle_ps(peak, peak, _MM_SHUFFLE(2, 3, 0, 1)));
  peak = _mm_max_ps(peak, _mm_shuffle_ps(peak, peak, _MM_SHUFFLE(1, 0, 3, 2)));
  float best = _mm_cvtss_f32(peak);
  bool ok = _mm_movemask_ps(below_infinity) == 0xF;
  for (int j = wide; j < columns; ++j) {
    ok &= row[j] < kInfinity;
    best = row[j] > best ? row[j] : best;
  }
  finite = ok && best > -kInfinity;
  best_value = best;
  if (!finite) return 0;
  const __m128 target = _mm_set1_ps(best);
  for (int j = 0; j < wide; j += 4) {
    const int equal = _mm_movemask_ps(_mm_cmpeq_ps(_mm_loadu_ps(row + j), target));
    if (equal) return j + __builtin_ctz(static_cast<unsigned>(equal));
  }
  for (int j = wide; j < columns; ++j)
    if (row[j] == best) return j;
  return 0;  // unreachable: some column holds the maximum
}
#else
inline int argmax(const float* row, int columns, float& best_value, bool& finite) {
  float best = row[0];
  int arg = 0;
  bool ok = row[0] < kInfinity;
  for (int j = 1; j < columns; ++j) {
    const float x = row[j];
    ok &= x < kInfinity;
    if (x > best) {
      best = x;
      arg = j;
    }
  }
  finite = ok && best > -kInfinity;
  best_value = best;
  return arg;
}
#endif

}  // namespace

BestPaths best_paths(const float* data, int64_t frames, int columns, const int64_t* starts, const int64_t* ends,
                     int64_t utterances, int blank, const std::vector<bool>& word_starts,
                     const std::vector<std::string>& pieces) {
  if (columns < 1 || static_cast<int64_t>(pieces.size()) != columns ||
      static_cast<int64_t>(word_starts.size()) != columns)
    throw std::invalid_argument("best_paths: one piece and one word-start flag per column are needed");
  BestPaths out;
  out.texts.resize(utterances);
  out.scores.assign(utterances, 0.0);
  out.word_offsets.assign(utterances + 1, 0);
  for (int64_t u = 0; u < utterances; ++u) {
    const int64_t start = starts[u], end = ends[u];
    if (start < 0 || end < start || end > frames) throw std::out_of_range("best_paths: utterance outside the array");
    std::string& text = out.texts[u];
    double score = 0.0;
    int previous = -1;     // the label of the frame before: a repeat extends its run instead of emitting again
    bool in_word = false;  // whether a word is open: the last emitted label spelled something
    for (int64_t t = start; t < end; ++t) {
      float value;
      bool finite;
      const int label = argmax(data + t * columns, columns, value, finite);
      if (!finite) {
        out.bad_utterance = u;
        out.texts.resize(u);
        return out;
      }
      score += value;
      const int32_t frame = static_cast<int32_t>(t - start);
      if (label == previous) {
        if (in_word && label != blank) out.word_frames.back() = frame + 1;  // the open word's last letter goes on
        continue;
      }
      previous = label;
      if (label == blank) continue;
      if (word_starts[label]) in_word = false;
      if (pieces[label].empty()) continue;  // a delimiter: it only ends the word
      if (!in_word) {
        if (!text.empty()) text += ' ';
        out.word_frames.push_back(frame);
        out.word_frames.push_back(frame + 1);
        in_word = true;
      }
      text += pieces[label];
      out.word_frames.back() = frame + 1;
    }
    out.scores[u] = score;
    out.word_offsets[u + 1] = static_cast<int64_t>(out.word_frames.size() / 2);
  }
  return out;
}

}  // namespace fastbeam
