#include "language_model.hpp"

#include <stdexcept>

#include "lm/config.hh"
#include "lm/model.hh"
#include "utf8.hpp"

namespace fastbeam {

LanguageModel::LanguageModel(const std::string& path, const std::vector<std::string>& unigrams) : path_(path) {
  lm::ngram::Config config;  // KenLM's defaults, as the `kenlm` Python module uses, so scores are the same...
  config.messages = nullptr;  // ...but quiet: the Python side has already loaded this file and shown any warning.
  config.show_progress = false;
  model_.reset(lm::ngram::LoadVirtual(path.c_str(), config));
  if (model_->StateSize() != sizeof(LMState))
    throw std::runtime_error(path + ": unexpected KenLM state size (not an n-gram model?)");
  // pyctcdecode scores </s> by looking the string up, not through the vocabulary's EndSentence().
  end_sentence_ = index("</s>");
  std::vector<std::vector<uint32_t>> known;
  for (const std::string& word : unigrams)
    if (index(word) != 0) known.push_back(utf8_decode(word));  // `word in kenlm_model`
  unigrams_ = CharTrie(known);
}

}  // namespace fastbeam
