"""Benchmarks (`make bench`): each figure printed next to the raw database limit it is
measured against in the same run, as a ratio. Never timed tests: nothing here fails a
build; bench/README.md records what was measured and where."""
