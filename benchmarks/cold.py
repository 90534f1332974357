"""One cold synthesis: a fresh process imports what the program needs, synthesizes once, reports time and memory."""

# `benchmarks.suite` runs this once per measurement, alternating our program and its baselines (untyped, typed):
#
#     python -m benchmarks.cold --stack prod [--project DIR --program FILE]
#
# Nothing is imported before the clock starts but this module's standard-library imports; the harness
# (`stacks.synth`: mock runtime, recording monitor, stack-file reader) is imported and timed alike for both
# programs, and the program imports what it needs itself: ours its config layer, components and cloud SDK, the
# baselines only the SDK modules of their types. It prints one JSON line: seconds from the first line of this module
# to the resolved stack outputs, the part of them spent importing the harness, peak resident memory (VmHWM) and
# which cloud SDKs were loaded.

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402 - after the clock starts, like everything else the run pays for
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

SDKS = ("pulumi_aws", "pulumi_azure_native", "pulumi_kubernetes", "pulumi_docker")
"""The SDK packages whose presence the report shows (each costs seconds to import)."""


def _peak_rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("/proc/self/status has no VmHWM")


def main(argv: list[str] | None = None) -> None:
    """Entry point: synthesize once, print the measurement, exit without the interpreter's teardown."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold", description=__doc__)
    parser.add_argument("--stack", required=True)
    parser.add_argument("--project", type=Path, help="project directory (default: this repository)")
    parser.add_argument("--program", type=Path, help="program file (default: the project's __main__.py)")
    args = parser.parse_args(argv)

    from stacks.synth import PROJECT_ROOT, synthesize

    harness = time.perf_counter() - STARTED
    synthesis = synthesize(args.stack, args.project or PROJECT_ROOT, program=args.program)
    seconds = time.perf_counter() - STARTED
    loaded = sorted({name.split(".")[0] for name in sys.modules} & set(SDKS))
    result = {
        "seconds": seconds,
        "harness_import_seconds": harness,
        "peak_rss_mib": _peak_rss_mib(),
        "registrations": len(synthesis.monitor.registrations),
        "sdks": loaded,
    }
    print(json.dumps(result), flush=True)
    # The interpreter's teardown (a second with the cloud SDKs loaded) is not part of a synthesis.
    os._exit(0)


if __name__ == "__main__":
    main()
