// Python bindings of the fast beam search and the greedy kernel (imported as decoders._kernels; decoders/fastbeam.py
// and decoders/greedy.py are the user API). Decoding releases the GIL; Search.decode_batch spreads utterances over
// native threads sharing one LanguageModel.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "beam_search.hpp"
#include "best_path.hpp"
#include "language_model.hpp"
#include "pyset_order.hpp"
#include "searcher.hpp"

namespace py = pybind11;
using namespace fastbeam;

namespace {

using Array = py::array_t<float, py::array::c_style | py::array::forcecast>;
using Offsets = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;

Input view(const Array& array) {
  if (array.ndim() != 2) throw std::invalid_argument("log-probs must be a [frames, labels] array");
  if (array.shape(0) > std::numeric_limits<int>::max() || array.shape(1) > std::numeric_limits<int>::max())
    throw std::invalid_argument("log-probs have more frames or labels than the search counts");
  return Input{array.data(), static_cast<int>(array.shape(0)), static_cast<int>(array.shape(1))};
}

py::tuple to_python(const SearchResult& result) {
  py::list words;
  for (const WordFrames& w : result.words) words.append(py::make_tuple(w.word, w.start, w.end));
  return py::make_tuple(result.text, result.acoustic_score, result.score, words);
}

void raise_first(const std::vector<std::string>& errors) {
  for (size_t i = 0; i < errors.size(); ++i)
    if (!errors[i].empty()) throw std::runtime_error("batch item " + std::to_string(i) + ": " + errors[i]);
}

}  // namespace

PYBIND11_MODULE(_kernels, m) {
  m.doc() = "CTC prefix beam search with KenLM fusion and hotwords, pyctcdecode 0.5.0's semantics "
            "(see decoders/fastbeam.py).";

  py::class_<Alphabet, std::shared_ptr<Alphabet>>(m, "Alphabet")
      .def(py::init<const std::vector<std::string>&, bool>(), py::arg("labels"), py::arg("bpe") = false,
           "Labels after pyctcdecode's normalisation: '' is the blank; ' ' the word delimiter of a character "
           "alphabet, a leading '▁' the word start of a BPE one.")
      .def("__len__", &Alphabet::size);

  py::class_<Hotwords, std::shared_ptr<Hotwords>>(m, "Hotwords")
      .def(py::init<const std::vector<std::string>&>(), py::arg("words"),
           "Hotword unigrams (phrases split into words).");

  py::class_<LanguageModel, std::shared_ptr<LanguageModel>>(m, "LanguageModel")
      .def(py::init([](const std::string& path, const std::vector<std::string>& unigrams) {
             py::gil_scoped_release release;  // a large ARPA takes a while to parse
             return std::make_shared<LanguageModel>(path, unigrams);
           }),
           py::arg("path"), py::arg("unigrams"))
      .def_property_readonly("order", &LanguageModel::order)
      .def_property_readonly("path", &LanguageModel::path)
      .def_property_readonly("unigram_count", [](const LanguageModel& lm) { return lm.unigrams().words(); });

  py::class_<SearchParams>(m, "SearchParams")
      .def(py::init([](int beam_width, double beam_prune_logp, double token_min_logp, double alpha, double beta,
                       double unk_score_offset, bool lm_score_boundary, double hotword_weight, bool prune_history) {
             SearchParams params{beam_width, beam_prune_logp, token_min_logp, alpha, beta,
                                 unk_score_offset, lm_score_boundary, hotword_weight, prune_history};
             check_params(params);
             return params;
           }),
           py::kw_only(), py::arg("beam_width"), py::arg("beam_prune_logp"), py::arg("token_min_logp"),
           py::arg("alpha"), py::arg("beta"), py::arg("unk_score_offset"), py::arg("lm_score_boundary"),
           py::arg("hotword_weight"), py::arg("prune_history") = false)
      .def_readonly("beam_width", &SearchParams::beam_width)
      .def_readonly("alpha", &SearchParams::alpha)
      .def_readonly("beta", &SearchParams::beta);

  py::class_<Searcher, std::shared_ptr<Searcher>>(m, "Search")
      .def(py::init([](std::shared_ptr<Alphabet> alphabet, std::shared_ptr<LanguageModel> lm,
                       std::shared_ptr<Hotwords> hotwords, const SearchParams& params) {
             return std::make_shared<Searcher>(alphabet, lm, hotwords, params);
           }),
           py::arg("alphabet"), py::arg("lm").none(true), py::arg("hotwords"), py::arg("params"),
           "A decoder; keeps the LM, labels and hotwords alive, and reuses its workspaces across calls.")
      .def(
          "decode",
          [](Searcher& searcher, const Array& logprobs) {
            const Input input = view(logprobs);
            SearchResult result;
            {
              py::gil_scoped_release release;
              result = searcher.decode(input);
            }
            return to_python(result);
          },
          py::arg("logprobs"), "Decode one utterance -> (text, acoustic_score, score, [(word, start, end), ...]).")
      .def(
          "decode_nbest",
          [](Searcher& searcher, const Array& logprobs, int k) {
            const Input input = view(logprobs);
            std::vector<SearchResult> results;
            {
              py::gil_scoped_release release;
              results = searcher.decode_nbest(input, k);
            }
            py::list out;
            for (const SearchResult& r : results) out.append(to_python(r));
            return out;
          },
          py::arg("logprobs"), py::arg("k"), "The k best final beams of one utterance, best first (decode()'s tuples).")
      .def(
          "decode_batch",
          [](Searcher& searcher, const std::vector<Array>& batch, int threads) {
            std::vector<Input> inputs;
            for (const Array& array : batch) inputs.push_back(view(array));
            std::vector<std::string> errors;
            std::vector<SearchResult> results;
            {
              py::gil_scoped_release release;
              results = searcher.decode_batch(inputs, threads, errors);
            }
            raise_first(errors);
            py::list out;
            for (const SearchResult& r : results) out.append(to_python(r));
            return out;
          },
          py::arg("batch"), py::arg("threads") = 1,
          "decode() for many utterances on `threads` native threads; results in input order.")
      .def(
          "score_parts_batch",
          [](Searcher& searcher, const std::vector<Array>& batch, int k, int threads) {
            std::vector<Input> inputs;
            for (const Array& array : batch) inputs.push_back(view(array));
            std::vector<std::string> errors;
            std::vector<std::vector<SearchResult>> results;
            {
              py::gil_scoped_release release;
              results = searcher.decode_nbest_batch(inputs, k, threads, errors);
            }
            raise_first(errors);
            py::list out;
            for (const auto& beams : results) {
              py::list entries;
              for (const SearchResult& r : beams)
                entries.append(py::make_tuple(r.text, r.acoustic_score, r.score, r.lm_logprob, r.lm_words));
              out.append(entries);
            }
            return out;
          },
          py::arg("batch"), py::arg("k"), py::arg("threads") = 1,
          "The k best final beams of many utterances on `threads` native threads, without word frames: per "
          "utterance [(text, acoustic_score, score, lm_logprob, lm_words), ...], best first (see SearchResult).");

  m.def(
      "best_paths",
      [](const Array& frames, const Offsets& starts, const Offsets& ends, int blank,
         const std::vector<bool>& word_starts, const std::vector<std::string>& pieces) {
        if (frames.ndim() != 2) throw std::invalid_argument("log-probs must be a [frames, labels] array");
        if (starts.ndim() != 1 || ends.ndim() != 1 || starts.shape(0) != ends.shape(0))
          throw std::invalid_argument("starts and ends must be 1-D arrays of one length");
        BestPaths paths;
        {
          py::gil_scoped_release release;
          paths = best_paths(frames.data(), frames.shape(0), static_cast<int>(frames.shape(1)), starts.data(),
                             ends.data(), starts.shape(0), blank, word_starts, pieces);
        }
        const auto words = static_cast<py::ssize_t>(paths.word_frames.size() / 2);
        py::array_t<int32_t> word_frames({words, py::ssize_t{2}});
        std::copy(paths.word_frames.begin(), paths.word_frames.end(), word_frames.mutable_data());
        return py::make_tuple(paths.texts, py::array(py::cast(paths.scores)), word_frames,
                              py::array(py::cast(paths.word_offsets)), paths.bad_utterance);
      },
      py::arg("frames"), py::arg("starts"), py::arg("ends"), py::arg("blank"), py::arg("word_starts"),
      py::arg("pieces"),
      "Greedy decoding of the utterances at frames [starts[u], ends[u]) -> (texts, scores, word_frames [words, 2], "
      "word_offsets [utterances + 1], bad_utterance): see best_path.hpp.");

  m.def(
      "_candidate_order",
      [](const std::vector<int>& ascending, int extra) {
        PySetOrder order;
        std::vector<int> out;
        order.order(ascending, extra, out);
        return out;
      },
      "Test hook: the order CPython iterates set(ascending) | {extra} in.");
}
