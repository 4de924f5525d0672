#include "beam_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>

#include "utf8.hpp"

namespace fastbeam {
namespace {

// KenLM scores are log10, beam scores natural log: pyctcdecode's LOG_BASE_CHANGE_FACTOR, computed the same way.
const double kLogBaseChange = 1.0 / std::log10(M_E);
// pyctcdecode's AVG_TOKEN_LEN: an unknown partial word longer than this gets a proportionally larger penalty.
constexpr int kAvgTokenLength = 6;

// log(exp(a) + exp(b)), written exactly as pyctcdecode's _sum_log_scores so merged scores are bit-identical.
inline double log_add(double a, double b) {
  return a >= b ? a + std::log(1 + std::exp(b - a)) : b + std::log(1 + std::exp(a - b));
}

}  // namespace

void check_params(const SearchParams& params) {
  if (params.beam_width < 1 || params.beam_width > kMaxBeamWidth)
    throw std::invalid_argument("beam_width must be from 1 to " + std::to_string(kMaxBeamWidth) + ", got " +
                                std::to_string(params.beam_width));
  const std::pair<const char*, double> weights[] = {
      {"beam_prune_logp", params.beam_prune_logp}, {"token_min_logp", params.token_min_logp},
      {"alpha", params.alpha}, {"beta", params.beta}, {"unk_score_offset", params.unk_score_offset},
      {"hotword_weight", params.hotword_weight}};
  for (const auto& [name, value] : weights)
    if (!std::isfinite(value)) throw std::invalid_argument(std::string(name) + " must be finite, got " +
                                                           std::to_string(value));
  // Log-probability offsets: a positive beam_prune_logp would prune even the best beam, leaving none.
  for (const auto& [name, value] : {weights[0], weights[1], weights[4]})
    if (value > 0) throw std::invalid_argument(std::string(name) + " must be <= 0, got " + std::to_string(value));
}

Alphabet::Alphabet(const std::vector<std::string>& labels, bool bpe) : bpe_(bpe) {
  if (labels.empty()) throw std::invalid_argument("the alphabet needs at least one label");
  constexpr uint32_t kWordMark = 0x2581;  // "▁"
  std::unordered_map<std::string, int32_t> ids;
  tokens_.reserve(labels.size());
  for (const std::string& label : labels) {
    Token token;
    token.kind = label.empty() ? kBlank : label == " " && !bpe ? kSpace : kChar;
    token.id = ids.emplace(label, static_cast<int32_t>(ids.size())).first->second;
    token.text = utf8_decode(label);
    if (bpe && !token.text.empty()) {
      token.starts_word = token.text.front() == kWordMark;
      token.breaks_after = token.text.back() == kWordMark;
      // pyctcdecode strips one leading mark, then one trailing mark from what is left (a lone "▁" leaves "").
      auto first = token.text.begin() + (token.starts_word ? 1 : 0);
      auto last = token.text.end();
      if (token.breaks_after && last != first) --last;
      token.word_text.assign(first, last);
    }
    tokens_.push_back(std::move(token));
  }
}

Hotwords::Hotwords(const std::vector<std::string>& words) {
  std::vector<std::vector<uint32_t>> decoded;
  for (const std::string& word : words)
    if (!word.empty()) decoded.push_back(utf8_decode(word));
  trie_ = CharTrie(decoded);
}

BeamSearch::BeamSearch(const Alphabet& alphabet, const LanguageModel* lm, const Hotwords& hotwords,
                       const SearchParams& params)
    : alphabet_(alphabet), lm_(lm), hot_(hotwords.trie()), params_(params) {
  check_params(params);
  beams_.reserve(params.beam_width);
}

double BeamSearch::partial_score(const WordNode& node) const {
  // A prefix of some hotword: pyctcdecode's HotwordScorer.score_partial_token, which replaces the LM's partial score.
  if (node.hotword >= 0) return params_.hotword_weight * node.length / hot_.shortest(node.hotword);
  if (lm_ == nullptr) return 0.0;
  // LanguageModel.score_partial_token: a penalty when no unigram starts this way, larger for long fragments.
  double unknown = params_.unk_score_offset * (node.unigram < 0 ? 1 : 0);
  if (node.length > kAvgTokenLength) unknown = unknown * node.length / kAvgTokenLength;
  return unknown;
}

void BeamSearch::reset() {
  words_.clear();
  texts_.clear();
  links_.clear();
  text_children_.clear();
  step_cache_.assign(kStepCacheSize, Step{-1, -1, -1, 0.0});  // node ids restart with every utterance
  word_starts_.assign(alphabet_.size(), -1);
  force_next_break_ = false;

  WordNode root{};
  root.parent = -1;
  root.unigram = lm_ != nullptr ? CharTrie::kRoot : -1;
  root.hotword = hot_.empty() ? -1 : CharTrie::kRoot;  // "" is in a hotword trie only if the trie has words
  root.vocab = -1;
  root.partial = partial_score(root);
  root.first_child = root.next_sibling = -1;
  root.child_bits = 0;
  words_.push_back(root);

  TextNode text{};
  text.parent = -1;
  text.scored = true;
  if (lm_ != nullptr) {
    if (params_.lm_score_boundary)
      lm_->begin_sentence(text.state);
    else
      lm_->null_context(text.state);
  }
  texts_.push_back(text);

  beams_.clear();
  beams_.push_back(Beam{0, 0, -1, -1, -1, -1, 0.0, 0.0, text_score(0), words_[0].partial});
}

int BeamSearch::word_child(int node, uint32_t cp) {
  const uint64_t bit = uint64_t(1) << (cp & 63);
  if (words_[node].child_bits & bit) {
    for (int32_t kid = words_[node].first_child; kid >= 0; kid = words_[kid].next_sibling)
      if (words_[kid].last == cp) return kid;
  }
  const int32_t id = static_cast<int32_t>(words_.size());
  WordNode& parent = words_[node];
  WordNode child;
  child.parent = node;
  child.length = parent.length + 1;
  child.last = cp;
  child.unigram = lm_ != nullptr ? lm_->unigrams().child(parent.unigram, cp) : -1;
  child.hotword = hot_.child(parent.hotword, cp);
  child.vocab = -1;
  child.partial = partial_score(child);
  child.first_child = -1;
  child.next_sibling = parent.first_child;
  child.child_bits = 0;
  parent.first_child = id;
  parent.child_bits |= bit;
  words_.push_back(child);  // invalidates `parent`
  return id;
}

const BeamSearch::Step& BeamSearch::extend_word(int node, int column) {
  const uint32_t slot = (static_cast<uint32_t>(node) * 2654435761u ^ static_cast<uint32_t>(column)) % kStepCacheSize;
  Step& cached = step_cache_[slot];
  if (cached.node == node && cached.column == column) return cached;
  int child = node;
  for (uint32_t cp : alphabet_[column].text) child = word_child(child, cp);
  cached = Step{node, column, child, words_[child].partial};
  return cached;
}

int BeamSearch::begin_word(int column) {
  int32_t& node = word_starts_[column];
  if (node < 0) {
    node = 0;
    for (uint32_t cp : alphabet_[column].word_text) node = word_child(node, cp);
  }
  return node;
}

int BeamSearch::text_child(int text, int word) {
  bool inserted;
  const int32_t id = text_children_.insert(pack(text, uint32_t(word)), static_cast<int32_t>(texts_.size()), inserted);
  if (!inserted) return id;
  TextNode child{};
  child.parent = text;
  child.word = word;
  child.hot_count = texts_[text].hot_count + (hot_.terminal(words_[word].hotword) ? 1 : 0);
  child.scored = false;
  texts_.push_back(child);
  return id;
}

int BeamSearch::push_frames(int list, int start, int end) {
  links_.push_back(FrameLink{list, start, end});
  return static_cast<int>(links_.size()) - 1;
}

std::string BeamSearch::word_string(int word) const {
  std::vector<uint32_t> cps;
  for (int node = word; node > 0; node = words_[node].parent) cps.push_back(words_[node].last);
  std::string out;
  for (auto it = cps.rbegin(); it != cps.rend(); ++it) utf8_append(out, *it);
  return out;
}

lm::WordIndex BeamSearch::vocab_index(int word) {
  if (words_[word].vocab < 0) words_[word].vocab = lm_->index(word_string(word));
  return static_cast<lm::WordIndex>(words_[word].vocab);
}

double BeamSearch::word_score(const LMState& in, int word, bool end_of_sentence, LMState& out) {
  return params_.alpha * word_log10(in, word, end_of_sentence, out) * kLogBaseChange + params_.beta;
}

double BeamSearch::word_log10(const LMState& in, int word, bool end_of_sentence, LMState& out) {
  // pyctcdecode's LanguageModel.score, term by term, before the weights.
  const lm::WordIndex index = vocab_index(word);
  double score = lm_->score(in, index, out);
  const CharTrie& unigrams = lm_->unigrams();
  if ((!unigrams.empty() && !unigrams.terminal(words_[word].unigram)) || index == 0)
    score += params_.unk_score_offset;
  if (end_of_sentence) {
    double end = 0.0;
    if (params_.lm_score_boundary) {
      LMState after;
      end = lm_->score(out, lm_->end_sentence(), after);
    }
    score = score + end;
  }
  return score;
}

void BeamSearch::score_text(int text) {
  TextNode& node = texts_[text];
  const TextNode& parent = texts_[node.parent];  // always scored: it was the text of a beam one frame earlier
  const double log10 = word_log10(parent.state, node.word, false, node.state);
  node.raw_lm = parent.raw_lm + (params_.alpha * log10 * kLogBaseChange + params_.beta);
  node.log10_lm = parent.log10_lm + log10;
  node.words = parent.words + 1;
  node.lm_hw = node.raw_lm + hotword_score(text);
  node.scored = true;
}

double BeamSearch::text_score(int text) {
  if (lm_ == nullptr) return hotword_score(text);
  if (!texts_[text].scored) score_text(text);
  return texts_[text].lm_hw;
}

void BeamSearch::merge(const Beam& beam) {
  // pyctcdecode's _merge_beams: one entry per (text, unfinished word, last label) at the position of its first
  // occurrence, probabilities summed in arrival order, frames taken from the latest arrival.
  bool inserted;
  const int32_t at =
      merge_index_.insert(Key3{beam.text, beam.word, beam.last}, static_cast<int32_t>(fresh_.size()), inserted);
  if (inserted) {
    fresh_.push_back(beam);
    return;
  }
  Beam& kept = fresh_[at];
  kept.logit = log_add(kept.logit, beam.logit);
  kept.frames = beam.frames;
  kept.part_start = beam.part_start;
  kept.part_end = beam.part_end;
}

void BeamSearch::step(int frame, const float* column) {
  // Candidate labels: those at or above token_min_logp (compared in float32, as numpy does) plus the argmax.
  const float threshold = static_cast<float>(params_.token_min_logp);
  const int columns = static_cast<int>(alphabet_.size());
  above_.clear();
  int best = 0;
  for (int c = 0; c < columns; ++c) {
    if (column[c] >= threshold) above_.push_back(c);
    if (column[c] > column[best]) best = c;
  }
  set_order_.order(above_, best, candidates_);

  fresh_.clear();
  merge_index_.clear();
  merge_index_.fit(candidates_.size() * beams_.size());
  const bool bpe = alphabet_.bpe();
  for (int c : candidates_) {
    const Alphabet::Token& token = alphabet_[c];
    const double p = column[c];
    for (size_t i = 0; i < beams_.size(); ++i) {
      const Beam b = beams_[i];
      Beam next = b;
      next.last = token.id;
      if (token.kind == Alphabet::kBlank || b.last == token.id) {
        // Blank or a repeat of the last label: same text; a repeat extends the word's frames.
        if (token.kind != Alphabet::kBlank) next.part_end = frame + 1;
      } else if (token.kind == Alphabet::kSpace || (bpe && (token.starts_word || force_next_break_))) {
        // Word boundary: the unfinished word (if any) joins the text. A character delimiter leaves no unfinished
        // word; a BPE piece that begins a word begins the next one.
        if (b.word != 0) {
          next.text = text_child(b.text, b.word);
          next.frames = push_frames(b.frames, b.part_start, b.part_end);
          next.text_score = std::numeric_limits<double>::quiet_NaN();  // scored below, once per merged beam
        }
        if (token.kind == Alphabet::kSpace) {
          next.word = 0;
          next.part_start = next.part_end = -1;
        } else {
          force_next_break_ = token.breaks_after;
          next.word = begin_word(c);
          next.part_start = frame;
          next.part_end = frame + 1;
        }
        next.partial = words_[next.word].partial;
      } else {
        const Step& edge = extend_word(b.word, c);
        next.word = edge.child;
        next.partial = edge.partial;
        if (b.part_start < 0) next.part_start = frame;
        next.part_end = frame + 1;
      }
      next.logit = b.logit + p;
      merge(next);
    }
  }

  // pyctcdecode's _get_lm_beams, with the same order of additions.
  for (Beam& b : fresh_) {
    if (std::isnan(b.text_score)) b.text_score = text_score(b.text);
    if (lm_ != nullptr) {
      double lm_score = b.text_score;
      if (b.word != 0) lm_score += b.partial;
      b.score = b.logit + lm_score;
    } else {
      b.score = b.logit + b.text_score + b.partial;
    }
  }
  prune();
}

void BeamSearch::prune() {
  // Drop beams more than beam_prune_logp below the best, then keep the beam_width best. heapq.nlargest is a stable
  // sort, so equal scores keep their merge order: ranking by (score, position) breaks ties the same way.
  double best = -std::numeric_limits<double>::infinity();
  for (const Beam& b : fresh_) best = std::max(best, b.score);
  const double threshold = best + params_.beam_prune_logp;
  ranked_.clear();
  for (size_t i = 0; i < fresh_.size(); ++i)
    if (fresh_[i].score >= threshold) ranked_.push_back(Ranked{fresh_[i].score, static_cast<int32_t>(i)});
  auto better = [](const Ranked& a, const Ranked& b) {
    return a.score > b.score || (a.score == b.score && a.position < b.position);
  };
  const size_t keep = std::min(ranked_.size(), static_cast<size_t>(params_.beam_width));
  if (keep < ranked_.size()) std::nth_element(ranked_.begin(), ranked_.begin() + keep, ranked_.end(), better);
  std::sort(ranked_.begin(), ranked_.begin() + keep, better);
  beams_.clear();
  for (size_t k = 0; k < keep; ++k) beams_.push_back(fresh_[ranked_[k].position]);
  if (params_.prune_history) prune_history();
}

void BeamSearch::prune_history() {
  // pyctcdecode's _prune_history: beams are best first, so the first of each key is the one kept. A key is the
  // beam's unfinished word, last label and its text's last (LM order - 1) words, padded to a fixed width.
  const int history = lm_ != nullptr ? std::max(1, lm_->order() - 1) : 1;
  const size_t width = static_cast<size_t>(history) + 2;
  size_t slots = 16;
  while (slots < 2 * beams_.size()) slots *= 2;
  history_slots_.assign(slots, -1);
  history_rows_.resize(beams_.size() * width);
  size_t kept = 0;
  for (size_t i = 0; i < beams_.size(); ++i) {
    const Beam& b = beams_[i];
    int32_t* row = history_rows_.data() + kept * width;
    row[0] = b.word;
    row[1] = b.last;
    int text = b.text;
    for (size_t n = 2; n < width; ++n) {
      row[n] = text > 0 ? texts_[text].word : -2;  // -2: the text has fewer words
      if (text > 0) text = texts_[text].parent;
    }
    uint64_t hash = 1469598103934665603ull;
    for (size_t n = 0; n < width; ++n) hash = (hash ^ static_cast<uint32_t>(row[n])) * 1099511628211ull;
    size_t slot = hash & (slots - 1);
    bool seen = false;
    for (; history_slots_[slot] >= 0; slot = (slot + 1) & (slots - 1)) {
      const int32_t* other = history_rows_.data() + static_cast<size_t>(history_slots_[slot]) * width;
      if (std::equal(row, row + width, other)) {
        seen = true;
        break;
      }
    }
    if (seen) continue;
    history_slots_[slot] = static_cast<int32_t>(kept);
    beams_[kept++] = b;
  }
  beams_.resize(kept);
}

SearchResult BeamSearch::finish() { return finish_nbest(1).front(); }

std::vector<SearchResult> BeamSearch::finish_nbest(int k) {
  // The unfinished word becomes the last word; beams that now spell the same text merge, and each gets the LM score
  // of that last word followed by the end of sentence.
  std::vector<FinalBeam> finals;
  finals.reserve(beams_.size());
  final_index_.clear();
  for (const Beam& b : beams_) {
    FinalBeam f;
    f.base = b.text;
    f.next = b.word;
    f.text = b.word == 0 ? b.text : text_child(b.text, b.word);
    f.frames = b.word == 0 ? b.frames : push_frames(b.frames, b.part_start, b.part_end);
    f.logit = b.logit;
    f.score = 0.0;
    bool inserted;
    const int32_t at = final_index_.insert(uint64_t(f.text), static_cast<int32_t>(finals.size()), inserted);
    if (inserted) {
      finals.push_back(f);
    } else {
      FinalBeam& kept = finals[at];
      kept.logit = log_add(kept.logit, f.logit);
      kept.base = f.base;
      kept.next = f.next;
      kept.frames = f.frames;
    }
  }
  // Only scores that do not compare (NaN, from infinities that the weights' checks let through as huge finite
  // values) can lose every beam; refuse rather than index an empty list.
  if (finals.empty()) throw std::runtime_error("the search kept no beam: its scores overflowed (weights too large)");
  size_t best = 0;
  for (size_t i = 0; i < finals.size(); ++i) {
    FinalBeam& f = finals[i];
    if (lm_ != nullptr) {
      LMState out;
      const double log10 = word_log10(texts_[f.base].state, f.next, true, out);
      const double raw = texts_[f.base].raw_lm + (params_.alpha * log10 * kLogBaseChange + params_.beta);
      f.score = f.logit + (raw + hotword_score(f.text));
      f.lm_logprob = (texts_[f.base].log10_lm + log10) * kLogBaseChange;
      f.lm_words = texts_[f.base].words + 1;
    } else {
      f.score = f.logit + hotword_score(f.text) + words_[0].partial;
    }
    if (f.score > finals[best].score) best = i;  // the first of equal maxima, as a stable sort would put first
  }
  // pyctcdecode drops final beams more than beam_prune_logp below the best, then takes the beam_width best with
  // heapq.nlargest, which keeps the order of equal scores.
  const double floor = finals[best].score + params_.beam_prune_logp;
  std::vector<size_t> order;
  for (size_t i = 0; i < finals.size(); ++i)
    if (finals[i].score >= floor) order.push_back(i);
  if (order.empty()) throw std::runtime_error("the search kept no beam: its scores overflowed (weights too large)");
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return finals[a].score > finals[b].score; });
  order.resize(std::min(order.size(), static_cast<size_t>(std::max(1, std::min(k, params_.beam_width)))));

  std::vector<SearchResult> results;
  for (size_t index : order) {
    const FinalBeam& win = finals[index];
    std::vector<int> path;
    for (int t = win.text; t > 0; t = texts_[t].parent) path.push_back(texts_[t].word);
    std::reverse(path.begin(), path.end());
    std::vector<FrameLink> spans;
    for (int l = win.frames; l >= 0; l = links_[l].parent) spans.push_back(links_[l]);
    std::reverse(spans.begin(), spans.end());

    SearchResult result;
    result.acoustic_score = win.logit;
    result.score = win.score;
    result.lm_logprob = win.lm_logprob;
    result.lm_words = win.lm_words;
    for (size_t i = 0; i < path.size(); ++i) {
      std::string word = word_string(path[i]);
      if (i > 0) result.text += ' ';
      result.text += word;
      if (i < spans.size()) result.words.push_back(WordFrames{std::move(word), spans[i].start, spans[i].end});
    }
    results.push_back(std::move(result));
  }
  return results;
}

namespace {

// The input's shape and values: NaN (and +inf, which the search's sums turn into NaN) would make the beam ranking's
// comparisons inconsistent, which std::nth_element does not survive. -inf (probability 0) is a valid log-prob.
void check_input(const float* logprobs, int frames, int columns, size_t labels) {
  if (frames < 0) throw std::invalid_argument("log-probs have a negative number of frames");
  if (columns != static_cast<int>(labels))
    throw std::invalid_argument("log-probs have " + std::to_string(columns) + " columns but the alphabet has " +
                                std::to_string(labels) + " labels");
  const size_t values = static_cast<size_t>(frames) * static_cast<size_t>(columns);
  for (size_t i = 0; i < values; ++i)
    if (std::isnan(logprobs[i]) || logprobs[i] == std::numeric_limits<float>::infinity())
      throw std::invalid_argument("log-probs hold NaN or +inf at frame " + std::to_string(i / columns) +
                                  ", column " + std::to_string(i % columns));
}

}  // namespace

SearchResult BeamSearch::decode(const float* logprobs, int frames, int columns) {
  check_input(logprobs, frames, columns, alphabet_.size());
  reset();
  for (int t = 0; t < frames; ++t) step(t, logprobs + static_cast<size_t>(t) * columns);
  return finish();
}

std::vector<SearchResult> BeamSearch::decode_nbest(const float* logprobs, int frames, int columns, int k) {
  check_input(logprobs, frames, columns, alphabet_.size());
  reset();
  for (int t = 0; t < frames; ++t) step(t, logprobs + static_cast<size_t>(t) * columns);
  return finish_nbest(k);
}

}  // namespace fastbeam
