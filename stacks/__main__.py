"""`python -m stacks`: validate, preview and policy-check stacks offline, without the Pulumi CLI or a cloud."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import pulumi

from stacks.check import (
    PACK_START_TIMEOUT,
    CheckError,
    check_stack,
    pack_processes,
    pulumi_policy_arguments,
    render_text,
)
from stacks.check_formats import json_document, junit_document, sarif_document
from stacks.load import PlatformConfigError, check_against_foundation, platform_config_from_stack_file
from stacks.preflight import PreflightError, SubprocessRunner, run_preflight
from stacks.preflight import render_text as render_preflight
from stacks.report import write_report
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


def main(argv: list[str] | None = None) -> int:
    """Entry point. Returns the process exit code (0 ok, 1 mandatory policy violations or undeployable workloads,
    2 could not run)."""
    parser = argparse.ArgumentParser(prog="python -m stacks", description=__doc__)
    parser.add_argument("--project-dir", type=Path, default=PROJECT_ROOT, help="directory holding Pulumi.yaml")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="validate the stack file's mlplatform:platform key")
    validate.add_argument("stack", nargs="?", help="stack name; all stacks when omitted")

    preview = commands.add_parser("preview", help="print the resource tree the stack would create")
    preview.add_argument("stack", help="stack name (Pulumi.<stack>.yaml)")
    preview.add_argument("--json", type=Path, metavar="FILE", help="also write the recorded graph as JSON")
    preview.add_argument("--mermaid", type=Path, metavar="FILE", help="also write the component graph as Mermaid")
    preview.add_argument(
        "--as-preview", action="store_true", help="leave cloud-computed values unknown, as `pulumi preview` does"
    )

    check = commands.add_parser(
        "check",
        help="replay stacks through their policy packs over the Analyzer protocol (exit 1 on mandatory violations)",
        description=CHECK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("stacks", nargs="*", metavar="stack", help="stack names; all stacks when omitted")
    check.add_argument("--project-dir", type=Path, default=argparse.SUPPRESS, help="directory holding Pulumi.yaml")
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
        type=Path,
        default=[],
        metavar="FILE",
        help="write the compliance report, Markdown or HTML by suffix (repeatable)",
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
        type=float,
        default=PACK_START_TIMEOUT,
        metavar="SECONDS",
        help=f"how long a pack may take to start (default {PACK_START_TIMEOUT:.0f})",
    )

    policy_args = commands.add_parser(
        "policy-args",
        help="print the --policy-pack/--policy-pack-config flags `pulumi preview` needs for a stack, one per line",
    )
    policy_args.add_argument("stack", help="stack name (Pulumi.<stack>.yaml)")

    preflight = commands.add_parser(
        "preflight",
        help="what must exist in the account/subscription before the first `pulumi up`, checked read-only",
        description=PREFLIGHT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    preflight.add_argument("stack", help="stack name (Pulumi.<stack>.yaml)")
    preflight.add_argument("--json", type=Path, metavar="FILE", help="also write the checklist as JSON")
    preflight.add_argument(
        "--offline", action="store_true", help="run nothing: print the checklist with the commands that check it"
    )
    topology = commands.add_parser(
        "topology",
        help="each stack's role, the foundation it reads, where CI runs it and the deploy order",
        description=TOPOLOGY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    topology.add_argument("stacks", nargs="*", metavar="stack", help="stack names; all stacks when omitted")
    topology.add_argument("--json", action="store_true", help="print JSON (the CI workflow builds its jobs from it)")

    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            return _validate(args.project_dir, [args.stack] if args.stack else stack_names(args.project_dir))
        if args.command == "check":
            return _check(args)
        if args.command == "policy-args":
            print("\n".join(pulumi_policy_arguments(args.stack, args.project_dir)))
            return 0
        if args.command == "preflight":
            return _preflight(args)
        if args.command == "topology":
            return _topology(args)
        return _preview(args)
    except (CheckError, PreflightError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except PlatformConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except pulumi.InputPropertiesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TopologyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        close_event_loops()


def _validate(project_dir: Path, stacks: list[str]) -> int:
    failures = 0
    for stack in stacks:
        try:
            config = platform_config_from_stack_file(project_dir / f"Pulumi.{stack}.yaml")
            check_against_foundation(config, project_dir, stack)
        except PlatformConfigError as error:
            failures += 1
            print(f"{stack}: {error}", file=sys.stderr)
        else:
            layer = f", Kubernetes layer from {config.foundation.stack}" if config.foundation else ""
            print(f"{stack}: valid ({config.environment}, {config.cloud}{layer})")
            for key, hint in config.placeholders():
                print(f"  note: {key} is an example value; `pulumi up` refuses it until you put {hint} there")
    return 2 if failures else 0


PREFLIGHT_HELP = """List what must exist in the AWS account or Azure subscription before the stack's first `pulumi up`:
vCPU quotas for the GPU pools, instance types or VM sizes in the configured zones, service-linked roles and
principals (AWS), feature and provider registrations and the deployer's right to create role assignments (Azure),
the tools the Kubernetes layer's kubeconfig runs, and example values left in the stack file.

Where the cloud CLI is installed and signed in (`aws sts get-caller-identity` / `az account show` succeed), each
item is checked with read-only commands (get/describe/list/show, `--output json`); nothing is created or changed.
Otherwise, and with --offline, the checklist prints with the command that checks each item.

Marks: ✓ ok, ✗ failed, ? not checked (offline or no credentials), ! manual (preflight cannot see it).
Exit codes: 0 nothing failed (items not checked do not fail), 1 an item failed, 2 preflight could not run."""


def _preflight(args: argparse.Namespace) -> int:
    stack_file = args.project_dir / f"Pulumi.{args.stack}.yaml"
    if not stack_file.exists():
        known = ", ".join(stack_names(args.project_dir)) or "none"
        raise PreflightError(
            f"unknown stack {args.stack!r}: {args.project_dir} has no {stack_file.name} (stacks: {known})"
        )
    config = platform_config_from_stack_file(stack_file)
    check_against_foundation(config, args.project_dir, args.stack)
    report = run_preflight(config, args.stack, SubprocessRunner(), offline=args.offline)
    render_preflight(report, sys.stdout)
    if args.json:
        _write(args.json, json.dumps(report.document(), indent=2, ensure_ascii=False) + "\n")
        print(f"\nWrote the checklist to {args.json}")
    return report.exit_code


def _preview(args: argparse.Namespace) -> int:
    synthesis = synthesize(args.stack, args.project_dir, preview=args.as_preview)
    render_tree(synthesis, sys.stdout)
    if args.json:
        _write(args.json, json.dumps(graph_document(synthesis), indent=2, sort_keys=True, default=str) + "\n")
        print(f"\nWrote the recorded graph to {args.json}")
    if args.mermaid:
        _write(args.mermaid, mermaid(synthesis))
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
its foundation. Exit codes: 0 ok, 2 a stack file or a reference between them is wrong (every problem is listed)."""


def _topology(args: argparse.Namespace) -> int:
    topology = load_topology(args.stacks or None, args.project_dir)
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
except --junit, which holds every stack).

Exit codes: 0 no mandatory violations and every workload can run, 1 mandatory violations or a workload that
cannot run, 2 the check could not run."""


def _check(args: argparse.Namespace) -> int:
    stacks = args.stacks or stack_names(args.project_dir)
    if args.policy_pack_configs and len(args.policy_pack_configs) != len(args.policy_packs):
        raise CheckError("the number of --policy-pack-config flags must match the number of --policy-pack flags")
    per_stack = [("json", args.json), ("sarif", args.sarif), *(("report", path) for path in args.report)]
    for option, path in per_stack:
        if path and len(stacks) > 1 and "{stack}" not in str(path):
            raise CheckError(f"--{option} {path}: put {{stack}} in the file name when checking several stacks")
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
        _write(args.junit, junit_document(checks))
    return exit_code


def _output_path(template: Path, stack: str) -> Path:
    return Path(str(template).replace("{stack}", stack))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_stack_outputs(args: argparse.Namespace, result: Any) -> None:
    if args.json:
        _write(_output_path(args.json, result.stack), json.dumps(json_document(result), indent=2) + "\n")
    if args.sarif:
        _write(_output_path(args.sarif, result.stack), json.dumps(sarif_document(result), indent=2) + "\n")
    for template in args.report:
        path = _output_path(template, result.stack)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_report(result, path)


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
