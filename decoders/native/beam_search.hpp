// CTC prefix beam search with word-level KenLM shallow fusion and hotwords: pyctcdecode 0.5.0's algorithm for
// character and BPE (subword) alphabets, rebuilt around integer ids so that it runs an order of magnitude faster
// while giving the same texts, scores and word frames.
//
// pyctcdecode keeps each beam as strings (text, unfinished word, last character) and caches LM scores in dicts keyed
// by those strings. Here the same strings are interned as nodes of two per-utterance prefix trees, so that comparing
// or hashing a beam is comparing three integers:
//   - words:  a tree over code points; node = the unfinished word's string, with its partial-word score cached;
//   - texts:  a tree over words; node = the committed text, with its LM state and cumulative LM score cached.
// Word frames are a persistent linked list (a beam adds one entry per finished word, sharing its parent's list).
#pragma once

#include <string>
#include <vector>

#include "char_trie.hpp"
#include "flat_map.hpp"
#include "language_model.hpp"
#include "pyset_order.hpp"

namespace fastbeam {

// The decoder's labels, after pyctcdecode's normalisation (done in Python): "" is the blank; in a character alphabet
// " " is the word delimiter, in a BPE alphabet a label starting with "▁" begins a word.
class Alphabet {
 public:
  enum Kind : uint8_t { kBlank, kSpace, kChar };
  struct Token {
    Kind kind;
    int32_t id;                  // equal labels share an id: pyctcdecode compares characters as strings
    std::vector<uint32_t> text;  // code points
    // BPE only. What the piece spells when it begins a word: the label without its leading and trailing "▁".
    std::vector<uint32_t> word_text;
    bool starts_word = false;   // the label begins with "▁"
    bool breaks_after = false;  // the label ends with "▁" ("▁⁇▁", a lone "▁"): the next piece begins a word too
  };
  Alphabet(const std::vector<std::string>& labels, bool bpe);
  const Token& operator[](size_t column) const { return tokens_[column]; }
  size_t size() const { return tokens_.size(); }
  bool bpe() const { return bpe_; }

 private:
  std::vector<Token> tokens_;
  bool bpe_;
};

// Hotword unigrams (phrases already split into words by the caller), as pyctcdecode's HotwordScorer uses them.
class Hotwords {
 public:
  explicit Hotwords(const std::vector<std::string>& words);
  const CharTrie& trie() const { return trie_; }

 private:
  CharTrie trie_;
};

struct SearchParams {
  int beam_width = 100;
  double beam_prune_logp = -10.0;
  double token_min_logp = -5.0;
  double alpha = 0.5;
  double beta = 1.0;
  double unk_score_offset = -10.0;
  bool lm_score_boundary = true;
  double hotword_weight = 10.0;
  // pyctcdecode's prune_history (its decode() turns it on): after each frame, of the beams that agree on their last
  // (LM order - 1) words, their unfinished word and last label, only the best is kept.
  bool prune_history = false;
};

// The search's own guard on its parameters (Python checks them first, decoders/params.py, with friendlier
// messages): NaN and infinities break the comparisons that rank and prune beams, and a beam width outside this
// range cannot be reserved. Throws std::invalid_argument, which reaches Python as ValueError.
constexpr int kMaxBeamWidth = 100000;
void check_params(const SearchParams& params);

struct WordFrames {
  std::string word;
  int start, end;
};

struct SearchResult {
  std::string text;
  double acoustic_score = 0.0;  // pyctcdecode's logit_score
  double score = 0.0;           // pyctcdecode's combined_score
  // The LM part of `score` before the weights (0 without an LM): score = acoustic_score + alpha * lm_logprob +
  // beta * lm_words + hotword boosts. lm_logprob is natural-log (KenLM's log10 scores, unknown-word offsets and the
  // end of sentence, times ln 10); lm_words counts the words the LM scored, the final (possibly empty) one included.
  double lm_logprob = 0.0;
  int lm_words = 0;
  std::vector<WordFrames> words;
};

// One decoding workspace. Not thread-safe; each thread makes its own, sharing the read-only Alphabet, Hotwords and
// LanguageModel. Reusing one for many utterances keeps its buffers' capacity.
class BeamSearch {
 public:
  BeamSearch(const Alphabet& alphabet, const LanguageModel* lm, const Hotwords& hotwords, const SearchParams& params);
  // logprobs: [frames, columns] row-major, already log-softmaxed and clipped the way pyctcdecode does it.
  SearchResult decode(const float* logprobs, int frames, int columns);
  // The k best final beams, best first, as pyctcdecode's decode_beams lists them: beams below the best by more than
  // beam_prune_logp dropped, the rest in a stable descending sort by score, at most min(k, beam_width).
  std::vector<SearchResult> decode_nbest(const float* logprobs, int frames, int columns, int k);

 private:
  struct WordNode {
    int32_t parent;
    int32_t length;    // code points
    uint32_t last;     // last code point
    int32_t unigram;   // node in the unigram trie, -1 if no unigram starts with this string
    int32_t hotword;   // node in the hotword trie, -1 likewise
    int64_t vocab;     // KenLM word index, -1 until needed
    double partial;    // score added to a beam whose unfinished word is this string
    // Children as a linked list, plus a 64-bit filter of their code points (bit cp % 64): most lookups that get
    // here (past step_cache_) are for a child that does not exist yet, and the filter answers those without a walk.
    int32_t first_child;
    int32_t next_sibling;
    uint64_t child_bits;
  };
  struct TextNode {
    int32_t parent;
    int32_t word;        // the last word
    int32_t hot_count;   // how many of the text's words are hotwords
    bool scored;
    double raw_lm;       // sum of the weighted word scores (pyctcdecode's raw_lm_score)
    double log10_lm;     // the same before the weights: sum of the words' log10 scores and unknown-word offsets
    int32_t words;       // words scored
    double lm_hw;        // raw_lm + hotword score of the text
    LMState state;
  };
  struct FrameLink {
    int32_t parent;
    int32_t start, end;
  };
  struct Beam {
    int32_t text;   // committed text (pyctcdecode's text merged with next_word)
    int32_t word;   // unfinished word; 0 = ""
    int32_t last;   // token id of the last label, -1 = None
    int32_t frames;  // word frames list, -1 = empty
    int32_t part_start, part_end;
    double logit;
    double score;
    // Copies of the text's and the unfinished word's score terms (see text_score() and WordNode::partial), carried
    // along so that scoring a beam does not touch the node arrays; text_score is NaN until known.
    double text_score;
    double partial;
  };
  // A beam at the end of the utterance: its text is `base` + `next` (pyctcdecode's text and next_word) until the
  // final LM score, which depends on that split.
  struct FinalBeam {
    int32_t text, base, next, frames;
    double logit, score;
    double lm_logprob = 0.0;
    int lm_words = 0;
  };

  // A step of the word trie by one label (see step_cache_).
  struct Step {
    int32_t node, column, child;
    double partial;  // the child's
  };

  void reset();
  void step(int frame, const float* column);
  SearchResult finish();
  std::vector<SearchResult> finish_nbest(int k);
  void merge(const Beam& beam);
  void prune();
  void prune_history();

  int word_child(int node, uint32_t cp);
  const Step& extend_word(int node, int column);
  int begin_word(int column);
  int text_child(int text, int word);
  int push_frames(int list, int start, int end);
  void score_text(int text);
  double word_score(const LMState& in, int word, bool end_of_sentence, LMState& out);
  double word_log10(const LMState& in, int word, bool end_of_sentence, LMState& out);
  lm::WordIndex vocab_index(int word);
  std::string word_string(int word) const;
  double partial_score(const WordNode& node) const;
  double hotword_score(int text) const { return params_.hotword_weight * texts_[text].hot_count; }
  // What a text adds to every beam with that text: with an LM, its cumulative LM score plus hotword score; without,
  // its hotword score.
  double text_score(int text);

  const Alphabet& alphabet_;
  const LanguageModel* lm_;
  const CharTrie& hot_;
  const SearchParams params_;

  std::vector<WordNode> words_;
  std::vector<TextNode> texts_;
  std::vector<FrameLink> links_;
  U64Map text_children_;
  Key3Map merge_index_;
  U64Map final_index_;
  // Direct-mapped cache of (word node, column) -> word node: beams share words and keep them for several frames, so
  // the same steps recur, and this small table stays in cache while the nodes themselves do not.
  static constexpr size_t kStepCacheSize = 4096;
  std::vector<Step> step_cache_;
  std::vector<int32_t> word_starts_;  // per column: the word node a BPE piece that begins a word begins, -1 unknown
  // pyctcdecode's force_next_break: one flag for the whole utterance, set by a piece ending in "▁" and cleared by
  // the next piece that begins a word, in the order beams are extended (shared by all beams, as there).
  bool force_next_break_ = false;
  std::vector<Beam> beams_, fresh_;
  struct Ranked {
    double score;
    int32_t position;  // in fresh_
  };
  std::vector<Ranked> ranked_;
  std::vector<int> candidates_, above_;
  // prune_history's keys, one fixed-width row per kept beam, and an open-addressing table of row numbers.
  std::vector<int32_t> history_rows_;
  std::vector<int32_t> history_slots_;
  PySetOrder set_order_;
};

}  // namespace fastbeam
