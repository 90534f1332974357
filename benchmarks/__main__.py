"""`python -m benchmarks` (`make bench`): run every benchmark and rewrite docs/benchmarks.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks.machine import LoadMeter, describe
from benchmarks.report import render
from benchmarks.scaling import NAMESPACE_COUNTS
from benchmarks.suite import Suite
from stacks.synth import PROJECT_ROOT

POLICY_STACK = "prod"
"""The largest shipped stack: every pack applies to it."""


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per program and stack (default 5)")
    parser.add_argument(
        "--namespaces",
        type=int,
        nargs="+",
        default=list(NAMESPACE_COUNTS),
        help=f"serving namespace counts of the scaled stacks (default {' '.join(map(str, NAMESPACE_COUNTS))})",
    )
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)

    machine = describe(PROJECT_ROOT)
    meter = LoadMeter.start()
    suite = Suite(args.runs)
    try:
        suite.synthesis(args.namespaces)
        suite.critical_paths()
        suite.policy_throughput(POLICY_STACK)
    finally:
        suite.close()
    load = meter.stop()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(suite.results, machine, load))
    suite.say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
