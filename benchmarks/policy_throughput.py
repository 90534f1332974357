"""Policy throughput: resources per second through each pack over the Analyzer gRPC protocol (prints JSON)."""

#     python -m benchmarks.policy_throughput --record FILE --policy-stack prod --runs 5 [--pack gdpr ...]
#
# The record (written by `benchmarks.synthesis --record`) holds the Analyze requests and the AnalyzeStack request
# `policies.replay.analyzer_requests` built for the stack. Each pack runs as its own process, started as the
# Pulumi CLI starts it (`policies.replay.pack_process`), and is configured with the stack's policy config; each
# run starts the pack afresh and sends every Analyze request, one call per resource as the engine does, then the
# AnalyzeStack request.

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2

from policies.replay import PACKS_DIR, configure_request, pack_process, stack_policy_config

PACKS = ("gdpr", "hipaa", "kubernetes-baseline")


def measure_pack(pack: str, record: dict[str, Any], policy_stack: str, runs: int) -> dict[str, Any]:
    """Start and configure `pack` `runs` times, timing each start and one pass over the recorded requests."""
    analyze = [analyzer_pb2.AnalyzeRequest.FromString(data) for data in record["analyze"]]
    analyze_stack = analyzer_pb2.AnalyzeStackRequest.FromString(record["analyze_stack"])
    passes = []
    policies = 0
    for _ in range(runs):
        started = time.perf_counter()
        with pack_process(PACKS_DIR / pack) as analyzer:
            info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
            analyzer.Configure(configure_request(info, stack_policy_config(policy_stack, pack)))
            policies = len(info.policies)
            begin = time.perf_counter()
            diagnostics = sum(len(analyzer.Analyze(request).diagnostics) for request in analyze)
            resources_done = time.perf_counter()
            diagnostics += len(analyzer.AnalyzeStack(analyze_stack).diagnostics)
            end = time.perf_counter()
        passes.append(
            {
                "startup_seconds": begin - started,
                "analyze_seconds": resources_done - begin,
                "analyze_stack_seconds": end - resources_done,
                "seconds": end - begin,
                "diagnostics": diagnostics,
            }
        )
    return {"pack": pack, "policies": policies, "resources": len(analyze), "runs": passes}


def main(argv: list[str] | None = None) -> int:
    """Entry point; prints one JSON document on stdout."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.policy_throughput", description=__doc__)
    parser.add_argument("--record", type=Path, required=True)
    parser.add_argument("--policy-stack", default="prod", help="whose policies/config/<stack>/ applies")
    parser.add_argument("--pack", action="append", choices=PACKS, help="a pack (repeatable); all three by default")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    record = pickle.loads(args.record.read_bytes())
    results = [measure_pack(pack, record, args.policy_stack, args.runs) for pack in args.pack or PACKS]
    json.dump({"stack": record["stack"], "packs": results}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
