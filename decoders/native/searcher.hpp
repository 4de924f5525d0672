// A configured decoder (labels, LM, hotwords, parameters) with a pool of reusable BeamSearch workspaces.
//
// A workspace's node arrays and hash tables grow to an utterance's needs; building a fresh one per call would pay
// those allocations and page faults again every time (about a fifth of the decoding time of a 10 s utterance). The
// pool also makes decode() safe to call from several Python threads at once, since each call takes its own workspace.
#pragma once

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "beam_search.hpp"

namespace fastbeam {

struct Input {
  const float* data;
  int frames, columns;
};

class Searcher {
 public:
  Searcher(std::shared_ptr<const Alphabet> alphabet, std::shared_ptr<const LanguageModel> lm,
           std::shared_ptr<const Hotwords> hotwords, const SearchParams& params)
      : alphabet_(std::move(alphabet)), lm_(std::move(lm)), hotwords_(std::move(hotwords)), params_(params) {
    // Python may pass None for any of them; only the LM is optional.
    if (!alphabet_) throw std::invalid_argument("a search needs an Alphabet, got None");
    if (!hotwords_) throw std::invalid_argument("a search needs a Hotwords table (it may be empty), got None");
    check_params(params_);
  }

  SearchResult decode(const Input& input) {
    Lease lease(*this);
    return lease->decode(input.data, input.frames, input.columns);
  }

  std::vector<SearchResult> decode_nbest(const Input& input, int k) {
    Lease lease(*this);
    return lease->decode_nbest(input.data, input.frames, input.columns, k);
  }

  // Decodes every input on up to `threads` threads, results in input order. A failed item does not stop the others;
  // its message is in errors[i].
  std::vector<SearchResult> decode_batch(const std::vector<Input>& inputs, int threads,
                                         std::vector<std::string>& errors) {
    return map(inputs, threads, errors, [](BeamSearch& search, const Input& input) {
      return search.decode(input.data, input.frames, input.columns);
    });
  }

  // decode_nbest() of every input, likewise.
  std::vector<std::vector<SearchResult>> decode_nbest_batch(const std::vector<Input>& inputs, int k, int threads,
                                                            std::vector<std::string>& errors) {
    return map(inputs, threads, errors, [k](BeamSearch& search, const Input& input) {
      return search.decode_nbest(input.data, input.frames, input.columns, k);
    });
  }

 private:
  template <typename Decode>
  auto map(const std::vector<Input>& inputs, int threads, std::vector<std::string>& errors, Decode decode)
      -> std::vector<decltype(decode(std::declval<BeamSearch&>(), inputs[0]))> {
    std::vector<decltype(decode(std::declval<BeamSearch&>(), inputs[0]))> results(inputs.size());
    errors.assign(inputs.size(), std::string());
    // Work stealing by an atomic counter: utterances differ in length, so a fixed split would leave a core idle.
    std::atomic<size_t> next{0};
    auto work = [&]() {
      Lease lease(*this);
      for (size_t i; (i = next.fetch_add(1)) < inputs.size();) {
        try {
          results[i] = decode(*lease, inputs[i]);
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      }
    };
    const size_t workers = std::max<size_t>(1, std::min<size_t>(std::max(threads, 1), inputs.size()));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
    return results;
  }

  // A workspace taken from the pool (or made) for the lifetime of the lease, then given back.
  class Lease {
   public:
    explicit Lease(Searcher& owner) : owner_(owner) {
      {
        std::lock_guard<std::mutex> lock(owner_.mutex_);
        if (!owner_.idle_.empty()) {
          search_ = std::move(owner_.idle_.back());
          owner_.idle_.pop_back();
        }
      }
      if (!search_)
        search_ = std::make_unique<BeamSearch>(*owner_.alphabet_, owner_.lm_.get(), *owner_.hotwords_, owner_.params_);
    }
    ~Lease() {
      std::lock_guard<std::mutex> lock(owner_.mutex_);
      owner_.idle_.push_back(std::move(search_));
    }
    BeamSearch* operator->() { return search_.get(); }
    BeamSearch& operator*() { return *search_; }

   private:
    Searcher& owner_;
    std::unique_ptr<BeamSearch> search_;
  };

  std::shared_ptr<const Alphabet> alphabet_;
  std::shared_ptr<const LanguageModel> lm_;
  std::shared_ptr<const Hotwords> hotwords_;
  const SearchParams params_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<BeamSearch>> idle_;
};

}  // namespace fastbeam
