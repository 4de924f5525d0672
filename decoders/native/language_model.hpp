// A KenLM model plus the unigram trie pyctcdecode builds beside it; loaded once, shared read-only by all threads
// and by decoders that differ only in alpha/beta (KenLM's queries are const and thread-safe).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "char_trie.hpp"
#include "lm/state.hh"
#include "lm/virtual_interface.hh"

namespace fastbeam {

using LMState = lm::ngram::State;

class LanguageModel {
 public:
  // path: ARPA or KenLM binary. unigrams: the LM's words; like pyctcdecode we keep only those KenLM knows.
  LanguageModel(const std::string& path, const std::vector<std::string>& unigrams);

  // log10 p(word | in), KenLM's BaseScore.
  float score(const LMState& in, lm::WordIndex word, LMState& out) const {
    return model_->BaseScore(&in, word, &out);
  }
  lm::WordIndex index(const std::string& word) const { return model_->BaseVocabulary().Index(word); }
  void begin_sentence(LMState& state) const { model_->BeginSentenceWrite(&state); }
  void null_context(LMState& state) const { model_->NullContextWrite(&state); }
  lm::WordIndex end_sentence() const { return end_sentence_; }

  const CharTrie& unigrams() const { return unigrams_; }
  int order() const { return model_->Order(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<lm::base::Model> model_;
  CharTrie unigrams_;
  lm::WordIndex end_sentence_ = 0;
};

}  // namespace fastbeam
