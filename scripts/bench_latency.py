#!/usr/bin/env python3
"""Run the latency benchmark outside the `malade` CLI: same options, same library function.

    python scripts/bench_latency.py --quick --out-dir results/bench
"""
from malade_export.cli.bench import bench_cmd

if __name__ == "__main__":
    bench_cmd(prog_name="bench_latency.py")
