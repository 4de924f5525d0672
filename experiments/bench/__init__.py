"""Benchmarking: `decode bench` (decoders against their peers), `decode bench-sweep` (rescoring against the grid)
and the default data they run on."""
