"""`python -m bench [name …] [--scale S]`: run the benchmarks (all by default).

Each module `bench/bench_<name>.py` exposes `run(scale: float) -> list[Figure]`; `scale`
shrinks the row counts for a quick look (1.0 = the sizes the issues ask for).
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time

import bench


def main() -> None:
    available = sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules(bench.__path__)
                       if m.name.startswith("bench_"))
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run: {', '.join(available)}")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(available)}")
    for name in args.names or available:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name} (scale {args.scale})", flush=True)
        started = time.perf_counter()
        for figure in module.run(args.scale):
            print("  " + figure.line(), flush=True)
        print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
