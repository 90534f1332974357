"""Runs every benchmark in fresh processes and collects the results `benchmarks.report` renders."""

from __future__ import annotations

import compileall
import contextlib
import json
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from benchmarks.baseline import Node, graph_digest, write_baseline_project
from benchmarks.critical_path import Analysis, analyze
from benchmarks.scaling import GPU_POOL_COUNTS, NAMESPACE_COUNTS, write_scaled_project
from stacks.load import platform_config_from_stack_file
from stacks.synth import PROJECT_ROOT, stack_names

GC_CHECK = ("prod", (10, 1), (100, 1))
"""Stacks (shipped by name, scaled by (namespaces, GPU pools)) also measured with the default garbage collection."""
TYPED_MAX_NAMESPACES = 100
"""The typed baseline is measured on every shipped stack and on the scaled ones up to this many namespaces: at 500
its runs would add about three minutes to `make bench` (12.5 min on 2 cores with it at 100), and the decomposition it serves is
read on the shipped stacks."""


@dataclass
class Measure:
    """One program's measurements for one stack: per-process costs and one entry per timed run."""

    import_seconds: float
    warm_up_stack: str
    """The shipped stack the process synthesized first, untimed, to load the SDK modules Pulumi imports lazily."""
    warm_up_seconds: float
    seconds: list[float] = field(default_factory=list)
    peak_rss_mib: list[float] = field(default_factory=list)


@dataclass
class Cold:
    """One program's fresh-process syntheses of one stack (`benchmarks.cold`): import and synthesis together."""

    seconds: list[float] = field(default_factory=list)
    peak_rss_mib: list[float] = field(default_factory=list)
    harness_import_seconds: list[float] = field(default_factory=list)
    """The part spent importing the offline harness (`stacks.synth`), the same for both programs."""
    sdks: list[str] = field(default_factory=list)
    """The Pulumi SDK packages the process had loaded at the end."""


@dataclass
class Case:
    """Our program and its baseline on one stack in one GC mode, runs interleaved."""

    stack: str
    gc: str
    namespaces: int | None
    gpu_pools: int | None
    registrations: int
    nodes: int
    floor_rss_mib: float
    """Our process's resident set size after imports and warm-up, before the first run."""
    ours: Measure
    baseline: Measure
    environment: str = ""
    """The stack's `environment` (prod stacks carry the targets)."""
    cold_ours: Cold | None = None
    """Fresh-process syntheses of our program (shipped stacks only)."""
    cold_baseline: Cold | None = None
    """Fresh-process syntheses of the baseline, which imports only the SDK modules of the graph's types."""
    typed: Measure | None = None
    """The typed baseline (`benchmarks.baseline.typed_baseline_source`): the same graph through the SDK's typed
    classes, flat; its runs alternate with the other two (see `TYPED_MAX_NAMESPACES` for where it is measured)."""
    cold_typed: Cold | None = None
    """Fresh-process syntheses of the typed baseline, which imports the same SDK modules as the baseline."""


@dataclass
class Results:
    """Everything the report shows."""

    runs: int
    cases: list[Case] = field(default_factory=list)
    critical_paths: list[Analysis] = field(default_factory=list)
    scaled_paths: list[Analysis] = field(default_factory=list)
    policy: dict[str, Any] = field(default_factory=dict)
    policy_stack: str = ""


class _Child:
    """A `benchmarks.synthesis` process: a ready line after its warm-up, then one answer per command."""

    def __init__(self, arguments: list[str], log: IO[str]) -> None:
        self._log = log
        self._process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.synthesis", *arguments],
            cwd=PROJECT_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self._ready: dict[str, Any] | None = None

    @property
    def ready(self) -> dict[str, Any]:
        """Import and warm-up seconds (waits until the warm-up is over)."""
        if self._ready is None:
            self._ready = self._answer()
        return self._ready

    def _answer(self) -> dict[str, Any]:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            self._log.seek(0)
            raise RuntimeError(f"benchmark process exited with {self._process.returncode}:\n{self._log.read()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    def ask(self, command: str) -> dict[str, Any]:
        """Send one command and return its answer."""
        assert self._process.stdin is not None
        _ = self.ready
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        """End the process: it exits when its stdin closes."""
        assert self._process.stdin is not None
        self._process.stdin.close()

    def wait(self) -> None:
        """Wait for the process to exit after `close`."""
        self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()


def _measure(ready: dict[str, Any], runs: list[dict[str, Any]]) -> Measure:
    return Measure(
        import_seconds=ready["import_seconds"],
        warm_up_stack=ready["warm_up_stack"],
        warm_up_seconds=ready["warm_up_seconds"],
        seconds=[run["seconds"] for run in runs],
        peak_rss_mib=[run["peak_rss_mib"] for run in runs],
    )


class Suite:
    """The whole benchmark run, in a scratch directory that `close` removes."""

    def __init__(self, runs: int, progress: IO[str] = sys.stderr) -> None:
        self.results = Results(runs=runs)
        self._progress = progress
        self._started = time.monotonic()
        self._scratch = tempfile.TemporaryDirectory(prefix="mlplatform-bench-")
        self.scratch = Path(self._scratch.name)
        self.records: dict[str, dict[str, Any]] = {}
        self.baselines: dict[str, Path] = {}
        """The generated baseline project of each measured stack."""
        self.typed_baselines: dict[str, Path] = {}
        """The generated typed baseline project of each stack it is measured on."""
        self._scaled: list[str] = []

    def say(self, message: str) -> None:
        """Progress on stderr, with the elapsed time."""
        print(f"[{time.monotonic() - self._started:6.1f} s] {message}", file=self._progress, flush=True)

    def close(self) -> None:
        """Remove the scratch directory (generated projects, baselines, records)."""
        self._scratch.cleanup()

    # --- synthesis ---

    def synthesis(self, namespace_counts: Sequence[int] = NAMESPACE_COUNTS) -> None:
        """Shipped stacks, then the scaled ones: namespaces at one GPU pool, pools at the fewest namespaces."""
        for stack in stack_names(PROJECT_ROOT):
            config = platform_config_from_stack_file(PROJECT_ROOT / f"Pulumi.{stack}.yaml")
            if config.foundation is not None:
                # A cluster layer reads its foundation through a StackReference (a read, not a registration),
                # which the flat baseline cannot reproduce; its layer is the whole platform's, measured below.
                self.say(f"{stack}: a cluster-layer stack, measured as part of the whole platform (scaled runs)")
                continue
            self.measure(stack, PROJECT_ROOT, config.cloud, gc_modes=_gc_modes(stack))
            self.cold(stack)
        sizes = [(namespaces, GPU_POOL_COUNTS[0]) for namespaces in namespace_counts]
        sizes += [(namespace_counts[0], pools) for pools in GPU_POOL_COUNTS[1:]]
        for namespaces, pools in sizes:
            directory, stack = write_scaled_project(self.scratch / f"ns{namespaces}-gpu{pools}", namespaces, pools)
            self._scaled.append(stack)
            self.measure(
                stack,
                directory,
                "aws",
                gc_modes=_gc_modes((namespaces, pools)),
                namespaces=namespaces,
                gpu_pools=pools,
                typed=namespaces <= TYPED_MAX_NAMESPACES,
            )

    def measure(
        self,
        stack: str,
        project_dir: Path,
        cloud: str,
        *,
        gc_modes: Sequence[str],
        namespaces: int | None = None,
        gpu_pools: int | None = None,
        typed: bool = True,
    ) -> None:
        """Our program, its generated baseline and (when `typed`) its typed baseline, `runs` times each per GC
        mode, alternating.

        The processes warm up at the same time (nothing is timed then); afterwards only one works at a time.
        Our first run records the graph, from which the baseline programs are generated.
        """
        runs = self.results.runs
        record_path = self.scratch / f"{stack}.record"
        arguments = ["--stack", stack, "--cloud", cloud]
        programs = ("ours", "baseline", "typed") if typed else ("ours", "baseline")
        results: dict[str, dict[str, list[dict[str, Any]]]] = {}
        with contextlib.ExitStack() as stack_of_logs:
            logs = {program: stack_of_logs.enter_context(tempfile.TemporaryFile("w+")) for program in programs}
            children = {
                program: _Child([*arguments, "--record", str(record_path)] if program == "ours" else arguments, log)
                for program, log in logs.items()
            }
            floor = children["ours"].ask(f"load {project_dir} {PROJECT_ROOT / '__main__.py'}")["floor_rss_mib"]
            # One untimed run each first: it records the graph (and digests it), and loads every module the
            # program imports on first use (a cloud's components, the SDK modules Pulumi resolves lazily).
            first = {"ours": children["ours"].ask("run off")}
            self.records[stack] = pickle.loads(record_path.read_bytes())
            nodes = self.records[stack]["nodes"]
            self.baselines[stack] = write_baseline_project(
                self.scratch / f"baseline-{stack}", nodes, project_dir, stack
            )
            if typed:
                self.typed_baselines[stack] = write_baseline_project(
                    self.scratch / f"typed-{stack}", nodes, project_dir, stack, typed=True
                )
            for program in programs[1:]:
                directory = (self.baselines if program == "baseline" else self.typed_baselines)[stack]
                children[program].ask(f"load {directory} {directory / '__main__.py'}")
                first[program] = children[program].ask("run off")
            for gc in gc_modes:
                measured = results.setdefault(gc, {program: [] for program in programs})
                for _index in range(runs):
                    for program in programs:
                        measured[program].append(children[program].ask(f"run {gc}"))
            for child in children.values():
                child.close()
            for child in children.values():
                child.wait()
        expected = graph_digest(nodes)
        for program in programs[1:]:
            if first[program]["digest"] != expected or first["ours"]["digest"] != expected:
                raise RuntimeError(f"the {program} baseline of {stack} does not register the same graph as our program")
        first_ours = first["ours"]
        for gc, measured in results.items():
            ours_runs, baseline_runs = measured["ours"], measured["baseline"]
            case = Case(
                stack=stack,
                gc=gc,
                namespaces=namespaces,
                gpu_pools=gpu_pools,
                registrations=first_ours["registrations"],
                nodes=first_ours["nodes"],
                floor_rss_mib=floor,
                ours=_measure(children["ours"].ready, ours_runs),
                baseline=_measure(children["baseline"].ready, baseline_runs),
                environment=str(self.records[stack]["outputs"].get("environment") or ""),
                typed=_measure(children["typed"].ready, measured["typed"]) if typed else None,
            )
            self.results.cases.append(case)
            self.say(
                f"{stack} (GC {gc}): {case.nodes} resources, ours {statistics.median(case.ours.seconds):.2f} s, "
                f"baseline {statistics.median(case.baseline.seconds):.2f} s"
                + (f", typed {statistics.median(case.typed.seconds):.2f} s" if case.typed else "")
                + f" (medians of {runs})"
            )

    def cold(self, stack: str) -> None:
        """Our program and its baselines on a shipped stack, each run in a fresh process (`benchmarks.cold`),
        `runs` times, alternating: the whole synthesis a first `python -m stacks preview` pays, imports included.
        The baselines' processes import only the SDK modules of the graph's types."""
        commands = {"ours": ["--stack", stack]}
        compiled = project_packages(PROJECT_ROOT)
        for program, directory in (("baseline", self.baselines.get(stack)), ("typed", self.typed_baselines.get(stack))):
            if directory is not None:
                compiled.append(directory)
                commands[program] = [
                    "--stack",
                    stack,
                    "--project",
                    str(directory),
                    "--program",
                    str(directory / "__main__.py"),
                ]
        compile_bytecode(*compiled)
        measured = {program: Cold() for program in commands}
        for _index in range(self.results.runs):
            for program, arguments in commands.items():
                result = subprocess.run(
                    [sys.executable, "-m", "benchmarks.cold", *arguments],
                    cwd=PROJECT_ROOT,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode:
                    raise RuntimeError(f"cold synthesis of {stack} ({program}) failed:\n{result.stderr}")
                answer = json.loads(result.stdout)
                cold = measured[program]
                cold.seconds.append(answer["seconds"])
                cold.peak_rss_mib.append(answer["peak_rss_mib"])
                cold.harness_import_seconds.append(answer["harness_import_seconds"])
                cold.sdks = answer["sdks"]
        for case in self.results.cases:
            if case.stack == stack:
                case.cold_ours, case.cold_baseline = measured["ours"], measured["baseline"]
                case.cold_typed = measured.get("typed")
        medians = ", ".join(f"{program} {statistics.median(cold.seconds):.2f} s" for program, cold in measured.items())
        self.say(f"{stack} cold: {medians} (medians of {self.results.runs})")

    # --- critical path and policies ---

    def critical_paths(self) -> None:
        """Critical paths of every shipped stack (in full) and of the scaled ones (their lengths)."""
        for stack in stack_names(PROJECT_ROOT):
            if stack in self.records:  # cluster-layer stacks are part of their whole platform (see synthesis)
                self.results.critical_paths.append(analyze(stack, self._nodes(stack)))
        for stack in self._scaled:
            self.results.scaled_paths.append(analyze(stack, self._nodes(stack)))
        self.say("critical paths analysed")

    def _nodes(self, stack: str) -> list[Node]:
        return list(self.records[stack]["nodes"])

    def policy_throughput(self, stack: str) -> None:
        """Resources per second through each pack, for the recorded Analyze requests of `stack`."""
        command = [
            sys.executable,
            "-m",
            "benchmarks.policy_throughput",
            "--record",
            str(self.scratch / f"{stack}.record"),
        ]
        command += ["--policy-stack", stack, "--runs", str(self.results.runs)]
        result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
        if result.returncode:
            raise RuntimeError(f"policy throughput failed:\n{result.stderr}")
        self.results.policy = json.loads(result.stdout)
        self.results.policy_stack = stack
        self.say(f"policy throughput on {stack} measured")


def project_packages(project_dir: Path) -> list[Path]:
    """The project's top-level Python packages a synthesis may import (the tests are not among them)."""
    return sorted(path for path in project_dir.iterdir() if (path / "__init__.py").is_file() and path.name != "tests")


def compile_bytecode(*directories: Path) -> None:
    """Compile every module under `directories` to bytecode (`__pycache__`), as pip does when it installs a package.

    Every program of a fresh-process run then imports from bytecode, ours as the SDKs already do from
    site-packages. Without it, an environment that sets `PYTHONDONTWRITEBYTECODE` (this one does) compiles our
    modules from source in every fresh process, about 70 ms of prod's synthesis that no installed copy pays, and
    a stale `__pycache__` left by some other run decides which modules pay it. Up-to-date files are skipped.

    Raises:
        RuntimeError: a module does not compile.
    """
    for directory in directories:
        if not compileall.compile_dir(directory, quiet=1):
            raise RuntimeError(f"compiling {directory} to bytecode failed")


def _gc_modes(case: str | tuple[int, int]) -> tuple[str, ...]:
    """Default collection first (a fresh process's memory is not yet inflated by runs without collection)."""
    return ("default", "off") if case in GC_CHECK else ("off",)
