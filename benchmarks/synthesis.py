"""One benchmark process: warm up, then time and measure offline syntheses of one stack on request."""

# `benchmarks.suite` starts one such process per stack and program, so Pulumi's global runtime state and the
# allocator's high-water mark belong to one measurement, and alternates runs between our program's process and
# the baselines' (untyped and typed), so a change in machine load hits all alike:
#
#     python -m benchmarks.synthesis --stack prod [--cloud aws|azure|kubernetes] [--record FILE]
#
# It prints one JSON line when warmed up, then answers each command read from stdin with one JSON line:
# `load <project dir> <program>` (before the first run) and `run off|default` (see `GC_MODES`). Time is the wall
# time of `stacks.synth.synthesize` (config read, mocks installed, program run until every registration is done,
# stack outputs resolved). Memory is the process's peak resident set size (VmHWM, reset through
# /proc/self/clear_refs before each run): Python and native allocations alike.

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

STARTED = time.perf_counter()

# The heavy imports are timed on their own: importing the cloud SDKs costs seconds once per process.
from benchmarks.baseline import BASELINE_MODULE, Node, graph_digest, node_from  # noqa: E402
from stacks import platform as _platform  # noqa: E402, F401 - imported for its import time
from stacks.synth import PROJECT_ROOT, pulumi_config_for, synthesize  # noqa: E402

IMPORTED = time.perf_counter()

WARM_UP_STACK = {"aws": "prod", "azure": "azure-prod", "kubernetes": "local"}
"""The shipped stack each process synthesizes first, so lazily imported SDK modules are loaded before timing."""

GC_MODES = ("off", "default")
"""`off`: automatic garbage collection is disabled during each timed synthesis (one full collection runs
before it); `default`: the interpreter's default thresholds, as `python -m stacks` runs today."""


def _memory_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _record(synthesis: Any, nodes: list[Node], path: Path, project_dir: Path) -> None:
    """Write the graph (for the baseline and the critical path) and the policy requests (for throughput)."""
    from policies.replay import analyzer_requests

    stack_config, _ = pulumi_config_for(synthesis.stack, project_dir)
    requests = analyzer_requests(synthesis, stack_config)
    record = {
        "stack": synthesis.stack,
        "outputs": {key: synthesis.outputs.get(key) for key in ("environment", "cloud", "complianceProfiles")},
        "nodes": nodes,
        "analyze": [request.SerializeToString() for request in requests.analyze],
        "analyze_stack": requests.analyze_stack.SerializeToString(),
    }
    path.write_bytes(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))


class Runner:
    """Runs the measured syntheses of one stack in this process."""

    def __init__(self, stack: str, record: Path | None) -> None:
        self.stack = stack
        self.record = record
        self.project_dir = PROJECT_ROOT
        self.program = PROJECT_ROOT / "__main__.py"
        self.runs = 0

    def load(self, project_dir: Path, program: Path) -> dict[str, Any]:
        """Use this project and program from now on; a baseline's graph module (untyped or typed) is compiled here,
        untimed."""
        self.project_dir, self.program = project_dir, program
        if (project_dir / f"{BASELINE_MODULE}.py").exists():
            sys.path.insert(0, str(project_dir))
            importlib.import_module(BASELINE_MODULE)
        gc.collect()
        return {"floor_rss_mib": _memory_kib("VmRSS") / 1024}

    def run(self, gc_mode: str) -> dict[str, Any]:
        """One timed synthesis; the first also digests the graph and records it (after timing)."""
        gc.collect()
        _reset_peak()
        started = time.perf_counter()
        synthesis = synthesize(self.stack, self.project_dir, program=self.program, collect_garbage=gc_mode == "default")
        seconds = time.perf_counter() - started
        peak_kib = _memory_kib("VmHWM")
        registrations = synthesis.registrations
        result: dict[str, Any] = {
            "seconds": seconds,
            "peak_rss_mib": peak_kib / 1024,
            "registrations": len(registrations),
            "nodes": sum(1 for registration in registrations if registration.custom or registration.request.remote),
        }
        if self.runs == 0:
            nodes = [node_from(registration) for registration in registrations]
            result["digest"] = graph_digest(nodes)
            if self.record:
                _record(synthesis, nodes, self.record, self.project_dir)
        self.runs += 1
        return result


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: one JSON line when warmed up, then one per command read from stdin."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synthesis", description=__doc__)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--cloud", default="aws", choices=sorted(WARM_UP_STACK), help="selects the warm-up stack")
    parser.add_argument("--record", type=Path, help="write the graph and policy requests of the first run here")
    args = parser.parse_args(argv)

    warm_up_started = time.perf_counter()
    synthesize(WARM_UP_STACK[args.cloud])
    warm_up_seconds = time.perf_counter() - warm_up_started
    runner = Runner(args.stack, args.record)
    ready = {
        "import_seconds": IMPORTED - STARTED,
        "warm_up_stack": WARM_UP_STACK[args.cloud],
        "warm_up_seconds": warm_up_seconds,
    }
    print(json.dumps(ready), flush=True)
    for line in sys.stdin:
        command, *arguments = line.split()
        if command == "load":
            answer = runner.load(Path(arguments[0]), Path(arguments[1]))
        elif command == "run" and arguments and arguments[0] in GC_MODES:
            answer = runner.run(arguments[0])
        else:
            answer = {"error": f"unknown command {line.strip()!r}"}
        print(json.dumps(answer), flush=True)
    # Skip the interpreter's teardown (seconds with the cloud SDKs loaded): nothing is left to measure or write.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
