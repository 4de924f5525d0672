"""C++ kernels of the decoders (fastbeam's beam search, greedy's best path) and their build (`decode native build`)."""
