"""`python -m stacks`: validate, preview and policy-check stacks offline, without the Pulumi CLI or a cloud."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, TextIO

import pulumi
import yaml

from stacks.check import (
    PACK_START_TIMEOUT,
    CheckError,
    check_stack,
    pack_processes,
    pulumi_policy_arguments,
    render_text,
    stack_reference_problem,
)
from stacks.check_formats import json_document, junit_document, sarif_document
from stacks.load import PlatformConfigError, check_against_foundation, platform_config_from_stack_file
from stacks.preflight import PreflightError, SubprocessRunner, run_preflight
from stacks.preflight import render_text as render_preflight
from stacks.report import REPORT_SUFFIXES, write_report
from stacks.synth import (
    PLACEHOLDER_LEGEND,
    PROJECT_ROOT,
    UNKNOWN_MARK,
    Registration,
    Synthesis,
    close_event_loops,
    resource_count,
    shown,
    sorted_registrations,
    stack_names,
    synthesize,
)
from stacks.topology import TopologyError, load_topology, render_table

OFFLINE_LIMITS = (
    "Offline synthesis runs the real program under Pulumi's mock runtime: it cannot see provider-side defaults\n"
    "and checks, values only the cloud computes, or the manifests inside Helm charts. `pulumi preview` with\n"
    "credentials remains the authoritative plan."
)

EXIT_CODES = "Exit codes: 0 ok, 2 could not run (one `error:` line on stderr naming what to fix, no traceback)."
PACK_TIMEOUT_RANGE = (1.0, 3600.0)
"""Seconds `--pack-timeout` accepts: a pack needs at least a second to start, and an hour means it hangs."""


class CliError(Exception):
    """The command cannot run: printed as one `error:` line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one `error:` line (exit 2) pointing at --help, like every other failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def version() -> str:
    """The package version: from the installed distribution, else from pyproject.toml of the checkout."""
    try:
        return metadata.version("mlplatform")
    except metadata.PackageNotFoundError:
        pyproject = PROJECT_ROOT / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def _seconds(text: str) -> float:
    low, high = PACK_TIMEOUT_RANGE
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not low <= value <= high:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text} is out of range: give {low:.0f} to {high:.0f} seconds")
    return value


def _report_path(text: str) -> Path:
    path = Path(text)
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise argparse.ArgumentTypeError(
            f"{text}: the report format comes from the extension; use one of {', '.join(REPORT_SUFFIXES)}"
        )
    return path


def _stack_outputs_argument(text: str) -> tuple[str, Path]:
    name, equals, file = text.partition("=")
    if not equals or not name or not file:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=FILE.json, NAME as the StackReference names the stack")
    return name, Path(file)


def _common(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """The options every command accepts, before or after the command name (after wins)."""
    default: Any = PROJECT_ROOT if top else argparse.SUPPRESS
    parser.add_argument(
        "--project-dir", type=Path, default=default, metavar="DIR", help="directory holding Pulumi.yaml"
    )
    parser.add_argument(
        "--traceback",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="on an unexpected error, print the Python traceback instead of one error line",
    )


def _stack_outputs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-outputs",
        dest="stack_outputs",
        action="append",
        type=_stack_outputs_argument,
        default=[],
        metavar="NAME=FILE",
        help="outputs of the stack a StackReference names (e.g. acme/mlplatform/dev=dev.json), repeatable; FILE "
        "is `python -m stacks preview <stack> --json FILE` or `pulumi stack output --json` of that stack",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line: every subcommand, its options and its exit codes."""
    parser = _Parser(
        prog="python -m stacks",
        description=__doc__,
        epilog="Exit codes: 0 ok, 1 mandatory policy violations, undeployable workloads or failed preflight items, "
        "2 could not run (one `error:` line). Each command's --help says which apply.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")

    def command(name: str, help_text: str, description: str | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=description or f"{help_text[0].upper()}{help_text[1:]}.\n\n{EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _common(sub)
        return sub

    validate = command(
        "validate",
        "validate the stack file's mlplatform:platform key",
        "Validate each stack file's mlplatform:platform key (every stack when none is named).\n\n"
        "Exit codes: 0 every stack is valid, 2 a stack file is invalid (every problem listed) or the command could "
        "not run (one `error:` line).",
    )
    validate.add_argument("stacks", nargs="*", metavar="stack", help="stack names; all stacks when omitted")

    preview = command("preview", "print the resource tree the stack would create")
    preview.add_argument("stack", help="stack name (Pulumi.<stack>.yaml)")
    preview.add_argument("--json", type=Path, metavar="FILE", help="also write the recorded graph as JSON")
    preview.add_argument("--mermaid", type=Path, metavar="FILE", help="also write the component graph as Mermaid")
    preview.add_argument(
        "--as-preview", action="store_true", help="leave cloud-computed values unknown, as `pulumi preview` does"
    )
    _stack_outputs_option(preview)

    check = command(
        "check",
        "replay stacks through their policy packs over the Analyzer protocol (exit 1 on mandatory violations)",
        CHECK_HELP,
    )
    check.add_argument("stacks", nargs="*", metavar="stack", help="stack names; all stacks when omitted")
    check.add_argument(
        "--policy-pack",
        dest="policy_packs",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="run this pack (repeatable) instead of the stack's compliance profiles plus the Kubernetes baseline",
    )
    check.add_argument(
        "--policy-pack-config",
        dest="policy_pack_configs",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="config of the --policy-pack in the same position (as the Pulumi CLI); "
        "default policies/config/<stack>/<pack>.json",
    )
    check.add_argument("--preview", action="store_true", help="synthesize as a preview: cloud-computed values unknown")
    check.add_argument("--json", type=Path, metavar="FILE", help="write the verdict as JSON")
    check.add_argument("--sarif", type=Path, metavar="FILE", help="write SARIF 2.1.0 for GitHub code scanning")
    check.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML (a testsuite per stack and pack)")
    check.add_argument(
        "--report",
        action="append",
        type=_report_path,
        default=[],
        metavar="FILE",
        help=f"write the compliance report, its format from the extension ({', '.join(REPORT_SUFFIXES)}; repeatable)",
    )
    check.add_argument("--summary", action="store_true", help="print only the one-line verdict per stack")
    check.add_argument(
        "--no-deployability",
        dest="deployability",
        action="store_false",
        help="run the policy packs alone, without judging whether the workloads can run (which, for a split "
        "environment, also synthesizes the other layer's stack)",
    )
    check.add_argument(
        "--pack-timeout",
        type=_seconds,
        default=PACK_START_TIMEOUT,
        metavar="SECONDS",
        help=f"how long a pack may take to start, {PACK_TIMEOUT_RANGE[0]:.0f} to {PACK_TIMEOUT_RANGE[1]:.0f} "
        f"(default {PACK_START_TIMEOUT:.0f})",
    )
    _stack_outputs_option(check)

    policy_args = command(
        "policy-args",
        "print the --policy-pack/--policy-pack-config flags `pulumi preview` needs for a stack, one per line",
    )
    policy_args.add_argument("stack", help="stack name (Pulumi.<stack>.yaml)")
    _stack_outputs_option(policy_args)

    preflight = command(
        "preflight", "what must exist in the account/subscription before the first `pulumi up`, checked read-only",
        PREFLIGHT_HELP,
    )  # fmt: skip
    preflight.add_argument("stack", help="stack name (Pulumi.<stack>.yaml)")
    preflight.add_argument("--json", type=Path, metavar="FILE", help="also write the checklist as JSON")
    preflight.add_argument(
        "--offline", action="store_true", help="run nothing: print the checklist with the commands that check it"
    )
    topology = command(
        "topology", "each stack's role, the foundation it reads, where CI runs it and the deploy order", TOPOLOGY_HELP
    )
    topology.add_argument("stacks", nargs="*", metavar="stack", help="stack names; all stacks when omitted")
    topology.add_argument("--json", action="store_true", help="print JSON (the CI workflow builds its jobs from it)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the process exit code (0 ok, 1 mandatory policy violations, undeployable workloads or
    failed preflight items, 2 could not run: one `error:` line on stderr, never a traceback)."""
    args = build_parser().parse_args(argv)
    try:
        args.project_dir = _project_dir(args.project_dir)
        return COMMANDS[args.command](args)
    except (CliError, CheckError, PreflightError, PlatformConfigError, pulumi.InputPropertiesError, TopologyError) as e:
        if args.traceback and e.__cause__ is not None:
            raise e.__cause__ from None
        return _fail(str(e))
    except Exception as error:  # a bug or a program that cannot run offline: still one line unless asked
        if args.traceback:
            raise
        return _fail(f"{_one_line(error)} (rerun with --traceback to see where)")
    finally:
        close_event_loops()


def _fail(message: str) -> int:
    """Print the one `error:` line; exit code 2.

    A program that failed mid-synthesis leaves the mock runtime's pending RPC tasks behind, and asyncio would log
    each as "Task was destroyed but it is pending!" under the error line when they are collected: they belong to
    the abandoned program, so that log is silenced.
    """
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    print(f"error: {message}", file=sys.stderr)
    return 2


def _one_line(error: BaseException) -> str:
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


def _project_dir(path: Path) -> Path:
    """The project directory as given; an error unless it is a directory holding Pulumi.yaml."""
    if not path.exists():
        raise CliError(f"--project-dir {path} does not exist: give the directory holding Pulumi.yaml")
    if not path.is_dir():
        raise CliError(f"--project-dir {path} is not a directory: give the directory holding Pulumi.yaml")
    project_file = path / "Pulumi.yaml"
    if not project_file.is_file():
        raise CliError(f"{path} has no Pulumi.yaml: --project-dir must be a Pulumi project directory")
    try:
        project = yaml.safe_load(project_file.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CliError(f"{project_file}: cannot read it as YAML ({_one_line(error)})") from None
    if not isinstance(project, dict) or not isinstance(project.get("name"), str) or not project["name"]:
        raise CliError(f"{project_file}: must be a mapping with the project's `name:`")
    return path


def _stacks(project_dir: Path, requested: list[str]) -> list[str]:
    """The requested stacks (all stacks when none is), each with a stack file; an error when there is none."""
    known = stack_names(project_dir)
    if not requested:
        if not known:
            raise CliError(
                f"no stack found: {project_dir} has no Pulumi.<stack>.yaml (create one with `pulumi stack init`, "
                "or give --project-dir the project that has them)"
            )
        return known
    for stack in requested:
        if stack not in known:
            raise CliError(
                f"unknown stack {stack!r}: {project_dir} has no Pulumi.{stack}.yaml "
                f"(stacks: {', '.join(known) or 'none'})"
            )
    return list(dict.fromkeys(requested))


def _program(project_dir: Path) -> Path:
    program = project_dir / "__main__.py"
    if not program.is_file():
        raise CliError(f"{project_dir} has no __main__.py: offline synthesis runs the project's Python program")
    return program


def _stack_outputs(args: argparse.Namespace) -> dict[str, dict[str, Any]] | None:
    """`--stack-outputs NAME=FILE` as the outputs each StackReference reads; None when none was given."""
    if not args.stack_outputs:
        return None
    outputs: dict[str, dict[str, Any]] = {}
    for name, path in args.stack_outputs:
        try:
            document = json.loads(path.read_text())
        except OSError as error:
            raise CliError(f"--stack-outputs {name}={path}: cannot read it ({error.strerror})") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise CliError(f"--stack-outputs {name}={path}: not JSON ({_one_line(error)})") from None
        if isinstance(document, dict) and isinstance(document.get("outputs"), dict) and "resources" in document:
            document = document["outputs"]  # a `python -m stacks preview --json` graph
        if not isinstance(document, dict):
            raise CliError(f"--stack-outputs {name}={path}: must be a JSON object of output names to values")
        outputs[name] = document
    return outputs


def _synthesize(args: argparse.Namespace, stack: str) -> Synthesis:
    """Synthesize for preview; a program that cannot run offline is one `error:` line naming what to do."""
    _program(args.project_dir)
    given = _stack_outputs(args)
    try:
        synthesis = synthesize(stack, args.project_dir, preview=args.as_preview, stack_outputs=given)
    except (PlatformConfigError, pulumi.InputPropertiesError):
        raise
    except Exception as error:
        problem = stack_reference_problem(error, stack, given)
        raise CliError(
            problem or f"could not synthesize stack {stack!r}: {_one_line(error)} (rerun with --traceback to see where)"
        ) from error
    if not any(r.type != "pulumi:pulumi:Stack" for r in synthesis.registrations):
        raise CliError(
            f"stack {stack!r} synthesized no resources: {args.project_dir / '__main__.py'} registered nothing, so "
            "there is nothing to preview (is --project-dir the program's directory?)"
        )
    return synthesis


@contextmanager
def _writing(option: str, path: Path) -> Iterator[Path]:
    """Write an output file: its directory is created; a path that cannot be written is a CliError."""
    try:
        if path.is_dir():
            raise CliError(f"{option} {path}: is a directory; give a file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        yield path
    except OSError as error:
        raise CliError(f"{option} {path}: cannot write it ({error.strerror or error})") from None


def _write(option: str, path: Path, text: str) -> None:
    with _writing(option, path):
        path.write_text(text)


def _writable(option: str, path: Path) -> None:
    """Fail before the work when an output file cannot be written: its directory is created and the file opened
    for appending (and removed again when it did not exist), which root's permission bits cannot fake."""
    with _writing(option, path):
        existed = path.exists()
        with path.open("a"):
            pass
        if not existed:
            path.unlink()


def _validate(args: argparse.Namespace) -> int:
    failures = 0
    for stack in _stacks(args.project_dir, args.stacks):
        try:
            config = platform_config_from_stack_file(args.project_dir / f"Pulumi.{stack}.yaml")
            check_against_foundation(config, args.project_dir, stack)
        except PlatformConfigError as error:
            failures += 1
            print(f"{stack}: {error}", file=sys.stderr)
        else:
            layer = f", Kubernetes layer from {config.foundation.stack}" if config.foundation else ""
            print(f"{stack}: valid ({config.environment}, {config.cloud}{layer})")
            for key, hint in config.placeholders():
                print(f"  note: {key} is an example value; `pulumi up` refuses it until you put {hint} there")
    return 2 if failures else 0


def _policy_args(args: argparse.Namespace) -> int:
    (stack,) = _stacks(args.project_dir, [args.stack])
    _program(args.project_dir)
    print("\n".join(pulumi_policy_arguments(stack, args.project_dir, stack_outputs=_stack_outputs(args))))
    return 0


PREFLIGHT_HELP = """List what must exist in the AWS account or Azure subscription before the stack's first `pulumi up`:
vCPU quotas for the GPU pools, instance types or VM sizes in the configured zones, service-linked roles and
principals (AWS), feature and provider registrations and the deployer's right to create role assignments (Azure),
the tools the Kubernetes layer's kubeconfig runs, and example values left in the stack file.

Where the cloud CLI is installed and signed in (`aws sts get-caller-identity` / `az account show` succeed), each
item is checked with read-only commands (get/describe/list/show, `--output json`); nothing is created or changed.
Otherwise, and with --offline, the checklist prints with the command that checks each item.

Marks: ✓ ok, ✗ failed, ? not checked (offline or no credentials), ! manual (preflight cannot see it).
Exit codes: 0 nothing failed (items not checked do not fail), 1 an item failed, 2 preflight could not run (one
`error:` line)."""


def _preflight(args: argparse.Namespace) -> int:
    (stack,) = _stacks(args.project_dir, [args.stack])
    if args.json:
        _writable("--json", args.json)
    config = platform_config_from_stack_file(args.project_dir / f"Pulumi.{stack}.yaml")
    check_against_foundation(config, args.project_dir, stack)
    report = run_preflight(config, stack, SubprocessRunner(), offline=args.offline)
    render_preflight(report, sys.stdout)
    if args.json:
        _write("--json", args.json, json.dumps(report.document(), indent=2, ensure_ascii=False) + "\n")
        print(f"\nWrote the checklist to {args.json}")
    return report.exit_code


def _preview(args: argparse.Namespace) -> int:
    (stack,) = _stacks(args.project_dir, [args.stack])
    for option, path in (("--json", args.json), ("--mermaid", args.mermaid)):
        if path:
            _writable(option, path)
    synthesis = _synthesize(args, stack)
    render_tree(synthesis, sys.stdout)
    if args.json:
        _write("--json", args.json, json.dumps(graph_document(synthesis), indent=2, sort_keys=True, default=str) + "\n")
        print(f"\nWrote the recorded graph to {args.json}")
    if args.mermaid:
        _write("--mermaid", args.mermaid, mermaid(synthesis))
        print(f"Wrote the component graph to {args.mermaid}")
    return 0


TOPOLOGY_HELP = """Place each stack in the deployment, from its stack file alone (no Pulumi CLI, no cloud):

  single            cluster and Kubernetes layer in one stack
  foundation        cloud resources only; its Kubernetes layer is another stack (deployment.kubernetesLayer)
  cluster-layer     the Kubernetes layer of a foundation's cluster, read through a StackReference
                    (target.cloud: kubernetes with target.foundation)
  existing-cluster  the Kubernetes layer on a cluster reached through a kubeconfig context

and where CI runs it: foundation stacks and single stacks with a public (allow-listed) API on a GitHub-hosted
runner; cluster layers and private single stacks on [self-hosted, <deployment.deployer.runnerLabel>]; local
clusters and stacks without the runner label they need not from CI, with the reason. A cluster layer deploys after
its foundation. Exit codes: 0 ok, 2 a stack file or a reference between them is wrong (every problem is listed),
or the command could not run (one `error:` line)."""


def _topology(args: argparse.Namespace) -> int:
    requested = _stacks(args.project_dir, args.stacks)
    topology = load_topology(requested if args.stacks else None, args.project_dir)
    if args.json:
        print(json.dumps(topology.document(), indent=2))
    else:
        sys.stdout.write(render_table(topology))
    return 0


CHECK_HELP = """Synthesize each stack offline and replay it through policy packs as the Pulumi CLI does: each pack
runs as its own process, gets the stack's pack config (policies/config/<stack>/<pack>.json) and receives
Analyze for every resource and AnalyzeStack once. Violations print by framework and control.

Then the deployability check (its own section and status): whether every workload the stack creates, the pods
of its Helm charts included, has a node pool it can run on (taints, selectors, affinity, allocatable capacity,
zones of its volumes), whether each namespace's Pod Security level admits its pods, whether rolling updates fit
the namespaces' quotas, whether every Service selects pods and every probe hits a declared port and a served
path. A cluster-layer stack is judged on its foundation's node pools, a foundation with its cluster layer's
workloads; on an existing cluster the pools are unknown and placement is reported as not verifiable offline.

FILE arguments may contain {stack}; they must when several stacks are checked (one file per stack,
except --junit, which holds every stack). Their directories are created.

The check fails closed: no stack found, an unknown stack, a stack that synthesizes no resources, a pack that
declares no policies, a StackReference whose outputs are not given (--stack-outputs), or an output file that
cannot be written is exit code 2, before anything is reported as passing.

Exit codes: 0 no mandatory violations and every workload can run, 1 mandatory violations or a workload that
cannot run, 2 the check could not run (one `error:` line on stderr, no traceback)."""


def _check(args: argparse.Namespace) -> int:
    stacks = _stacks(args.project_dir, args.stacks)
    _program(args.project_dir)
    if args.policy_pack_configs and len(args.policy_pack_configs) != len(args.policy_packs):
        raise CheckError("the number of --policy-pack-config flags must match the number of --policy-pack flags")
    per_stack = [("--json", args.json), ("--sarif", args.sarif), *(("--report", path) for path in args.report)]
    for option, path in per_stack:
        if path and len(stacks) > 1 and "{stack}" not in str(path):
            raise CheckError(f"{option} {path}: put {{stack}} in the file name when checking several stacks")
    for option, path in per_stack:
        for stack in stacks if path else ():
            _writable(option, _output_path(path, stack))
    if args.junit:
        _writable("--junit", args.junit)
    stack_outputs = _stack_outputs(args)
    exit_code = 0
    checks = []
    with pack_processes(args.pack_timeout) as start:
        for stack in stacks:
            result = check_stack(
                stack,
                args.project_dir,
                start,
                pack_dirs=args.policy_packs,
                pack_configs=args.policy_pack_configs,
                preview=args.preview,
                deployability=args.deployability,
                stack_outputs=stack_outputs,
            )
            checks.append(result)
            exit_code = max(exit_code, result.exit_code)
            if args.summary:
                print(result.summary())
            else:
                render_text(result, sys.stdout)
                if stack != stacks[-1]:
                    print()
            _write_stack_outputs(args, result)
    if args.junit:
        _write("--junit", args.junit, junit_document(checks))
    return exit_code


def _output_path(template: Path, stack: str) -> Path:
    return Path(str(template).replace("{stack}", stack))


def _write_stack_outputs(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        _write("--json", _output_path(args.json, result.stack), json.dumps(json_document(result), indent=2) + "\n")
    if args.sarif:
        path = _output_path(args.sarif, result.stack)
        _write("--sarif", path, json.dumps(sarif_document(result), indent=2) + "\n")
    for template in args.report:
        path = _output_path(template, result.stack)
        with _writing("--report", path):
            write_report(result, path)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "validate": _validate,
    "preview": _preview,
    "check": _check,
    "policy-args": _policy_args,
    "preflight": _preflight,
    "topology": _topology,
}


def render_tree(synthesis: Synthesis, out: TextIO) -> None:
    """Print the registrations as a tree like `pulumi preview`, then counts per type and the outputs.

    Siblings print sorted by type and name (`sorted_registrations`), so two runs print the same bytes whatever
    order the program's asynchronous outputs resolved in.
    """
    registrations = sorted_registrations(synthesis.registrations)
    children: dict[str, list[Registration]] = {}
    for registration in registrations:
        children.setdefault(registration.parent, []).append(registration)
    roots = [r for r in registrations if not r.parent]
    type_width = min(70, max((len(r.type) for r in registrations), default=20) + 8)
    preview = synthesis.preview
    mode = (
        "preview mode: values only the cloud computes are " + UNKNOWN_MARK
        if preview
        else "update mode: values the cloud computes are offline placeholders"
    )

    out.write(
        f"Previewing {synthesis.project}/{synthesis.stack} offline (Pulumi mock runtime, no cloud calls; {mode})\n\n"
    )
    out.write(f"     {'Type':<{type_width}} Name\n")

    def walk(registration: Registration, prefix: str, last: bool, depth: int) -> None:
        branch = "" if depth == 0 else ("└─ " if last else "├─ ")
        flags = [
            flag for flag, on in (("protect", registration.protect), ("retain", registration.retain_on_delete)) if on
        ]
        suffix = f"  [{', '.join(flags)}]" if flags else ""
        label = f"{prefix}{branch}{registration.type}"
        out.write(f" +   {label:<{type_width}} {registration.name}{suffix}\n")
        kids = children.get(registration.urn, [])
        child_prefix = prefix + ("" if depth == 0 else ("   " if last else "│  "))
        for index, kid in enumerate(kids):
            walk(kid, child_prefix, index == len(kids) - 1, depth + 1)

    for root in roots:
        walk(root, "", True, 0)

    count = resource_count(synthesis.registrations)
    out.write(
        f"\nResources:\n    + {count.total} to create\n"
        f"      ({count.explained()}; `check` replays the same {count.total})\n\nBy type:\n"
    )
    counts = Counter(r.type for r in registrations if r.type != "pulumi:pulumi:Stack")
    for type_token, number in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        out.write(f"  {number:>4}  {type_token}\n")
    protected = sum(1 for r in registrations if r.protect)
    out.write(f"\nProtected from deletion: {protected}\n")
    if synthesis.outputs:
        out.write("\nOutputs:\n")
        for key in sorted(synthesis.outputs):
            value = synthesis.outputs[key]
            if key in synthesis.secret_outputs:
                text = "[secret]"
            elif key in synthesis.unknown_outputs:
                text = UNKNOWN_MARK
            else:
                text = json.dumps(shown(value), default=str, sort_keys=True, ensure_ascii=False)
            out.write(f"    {key}: {text if len(text) < 100 else text[:97] + '...'}\n")
    out.write(f"\n{PLACEHOLDER_LEGEND}\n")
    if preview:
        out.write(
            f"{UNKNOWN_MARK}: known only once the cloud creates the resource (`pulumi preview` prints output<T>).\n"
        )
    out.write(f"\n{OFFLINE_LIMITS}\n")


def graph_document(synthesis: Synthesis) -> dict[str, Any]:
    """The recorded graph as a JSON-ready document (secrets masked, unknowns as `[unknown]`), resources sorted
    by type, name and URN so two runs write the same bytes."""
    count = resource_count(synthesis.registrations)
    return {
        "project": synthesis.project,
        "stack": synthesis.stack,
        "mode": "preview" if synthesis.preview else "update",
        "placeholders": PLACEHOLDER_LEGEND,
        "resourceCount": {
            "total": count.total,
            "stack": count.stack,
            "components": count.components,
            "custom": count.custom,
            "explicitProviders": count.explicit_providers,
            "defaultProviders": count.default_providers,
        },
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent,
                "custom": r.custom,
                "inputs": {k: ("[secret]" if k in r.secret_inputs else shown(v)) for k, v in r.inputs.items()},
                "secretInputs": r.secret_inputs,
                "dependencies": sorted(set(r.dependencies)),
                "propertyDependencies": {k: sorted(set(v)) for k, v in r.property_dependencies.items()},
                "protect": r.protect,
                "retainOnDelete": r.retain_on_delete,
                "replaceOnChanges": r.replace_on_changes,
                "ignoreChanges": r.ignore_changes,
            }
            for r in sorted_registrations(synthesis.registrations)
        ],
        "outputs": {
            k: ("[secret]" if k in synthesis.secret_outputs else shown(v)) for k, v in synthesis.outputs.items()
        },
        "unknownOutputs": synthesis.unknown_outputs,
    }


def mermaid(synthesis: Synthesis) -> str:
    """A Mermaid flowchart of the components (non-custom resources) and the dependencies between them."""
    components = [
        r for r in sorted_registrations(synthesis.registrations) if not r.custom and r.type != "pulumi:pulumi:Stack"
    ]
    ids = {r.urn: f"c{index}" for index, r in enumerate(components)}
    owner: dict[str, str] = {}
    for registration in synthesis.registrations:
        parent = registration.parent
        while parent and parent not in ids:
            parent = next((r.parent for r in synthesis.registrations if r.urn == parent), "")
        if parent:
            owner[registration.urn] = parent
    lines = ["flowchart LR"]
    lines += [f'  {ids[r.urn]}["{r.name}<br/><small>{r.type.split(":")[-1]}</small>"]' for r in components]
    edges: set[tuple[str, str]] = set()
    for registration in synthesis.registrations:
        source = owner.get(registration.urn, registration.urn if registration.urn in ids else None)
        for dependency in registration.dependencies:
            target = dependency if dependency in ids else owner.get(dependency)
            if source and target and source != target:
                edges.add((ids[target], ids[source]))
    lines += [f"  {a} --> {b}" for a, b in sorted(edges)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
