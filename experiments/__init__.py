"""ctc-decoding-lab experiments: decoding stores, scoring WER/CER, sweeps and comparisons."""
