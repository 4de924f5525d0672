// Greedy (best-path) CTC decoding of many utterances laid end to end in one [frames, labels] array: a shard of a
// store. One pass over the frames does what the numpy version in decoders/greedy.py does in several: argmax per frame,
// the check for NaN/+inf, repeats collapsed, blanks dropped, words split where a label begins one, text and scores
// built.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fastbeam {

struct BestPaths {
  std::vector<std::string> texts;      // per utterance: its words joined by single spaces
  std::vector<double> scores;          // per utterance: the sum over its frames of the best log-probability
  std::vector<int32_t> word_frames;    // per word, flattened pairs: first frame, end frame (exclusive), utterance-relative
  std::vector<int64_t> word_offsets;   // utterance u's words are word_frames pairs [word_offsets[u], word_offsets[u+1])
  int64_t bad_utterance = -1;          // the first utterance with a NaN/+inf value or an all -inf frame; -1 when none
};

// `pieces[i]` is the text label i adds to its word and `word_starts[i]` whether it ends the word before it: a
// character delimiter (which spells nothing), or a subword piece that begins a word ("▁THE", a WordPiece without
// "##"). `blank` emits nothing. Utterance u covers frames [starts[u], ends[u]) of `data`. Decoding stops at the first
// bad utterance.
BestPaths best_paths(const float* data, int64_t frames, int columns, const int64_t* starts, const int64_t* ends,
                     int64_t utterances, int blank, const std::vector<bool>& word_starts,
                     const std::vector<std::string>& pieces);

}  // namespace fastbeam
