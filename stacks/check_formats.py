"""Machine-readable outputs of `python -m stacks check`: JSON, SARIF 2.1.0 (GitHub code scanning) and JUnit XML.

The deployability verdict rides along in each: a `deployability` member, a SARIF rule per check kind, a JUnit suite.

JSON (`schemaVersion` 1), one document per stack:

- `project`, `stack`, `stackFile`, `mode` (`update` | `preview`), `checkedAt` (ISO 8601, UTC)
- `packs[]`: `name`, `version`, `directory`, `configFile` (or null), `framework` {`name`, `version`},
  `policies`, `mandatoryPolicies`
- `resourcesAnalyzed`: resources sent to every pack (registrations plus default providers)
- `violations[]`: `pack`, `policy`, `title`, `framework`, `control`, `controlTitle`, `clauses[]`,
  `enforcement` (`mandatory` | `advisory` | `remediate`), `severity`, `resource` {`name`, `type`, `urn`}
  (empty name and URN for the stack as a whole), `message`, `fix`. A rule in two packs reports in both.
- `notVerifiable[]`: the same shape, for checks that met values unknown offline
- `notApplicable[]`: `pack`, `policy`, `reason`, `count`, `resources[]` (names; [] for the stack as a whole)
- `policies[]`: `pack`, `policy`, `framework`, `control`, `enforcement`, `declaredEnforcement`, `severity`,
  `scope` (`resource` | `stack`), `covered` (resources evaluated), `violations`, `verdict` (`pass` | `fail` |
  `fail (advisory)` | `not applicable` | `not verifiable offline` | `disabled`), `reason`
- `exemptions[]`: `pack`, `policy`, `kind` (`exemption` | `excludeFor`), `target`, `reason`, `expires`,
  `status` (`in force` | `expired` | `invalid` | `permanent`), `resources[]`
- `summary`: `packs`, `resources`, `mandatory`, `advisory`, `notVerifiable`, `exemptionsInForce` (distinct
  findings across packs), `passed`, `exitCode`, `line`
- `offlineLimits`: what the check cannot see
- `deployability` (null with `--no-deployability`): `status` (`pass` | `fail` |
  `pass (partly not verifiable offline)`), `poolsFrom`, `workloadsFrom`, `pools[]` (`name`, `type`, `urn`,
  `sizes[]`, `zones[]` or null when unknown, `minSize`, `maxSize`, `taints[]`, `labels{}`), `workloads[]` (`kind`,
  `name`, `namespace`, `replicas`, `source`, `resource` {`name`, `type`, `urn`}), `checks[]` (`check`, `rule`,
  `title`, `verdict`, `checked`, `reason`), `problems[]` and `notVerifiable[]` (`check`, `rule`, `workload`,
  `pool`, `message`, `fix`, `resource` {`name`, `type`, `urn`}), `summary`, `limits`. The top-level `summary`
  adds `deployabilityProblems`, and its `exitCode` is 1 when a workload cannot run.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Sequence
from typing import Any

from stacks.check import (
    DISABLED,
    NOT_APPLICABLE,
    NOT_VERIFIABLE,
    OFFLINE_LIMITS,
    Finding,
    Policy,
    StackCheck,
    display_path,
)
from stacks.deployability import CHECK_KINDS, LIMITS, DeployabilityReport, Problem

SCHEMA_VERSION = 1
TOOL_NAME = "mlplatform-policy-check"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
FINGERPRINT = "mlplatformPolicyFinding/v1"


def _finding_document(finding: Finding) -> dict[str, Any]:
    policy = finding.policy
    return {
        "pack": policy.pack,
        "policy": policy.name,
        "title": policy.title,
        "framework": policy.framework,
        "control": policy.control,
        "controlTitle": policy.control_title,
        "clauses": list(policy.clauses),
        "enforcement": finding.enforcement,
        "severity": policy.severity,
        "resource": {"name": finding.resource.name, "type": finding.resource.type, "urn": finding.resource.urn},
        "message": finding.message,
        "fix": policy.remediation,
    }


def json_document(check: StackCheck) -> dict[str, Any]:
    """The stack's verdict as the documented JSON document (see the module docstring)."""
    names = {resource.urn: resource.name for resource in check.resources}
    not_applicable: list[dict[str, Any]] = []
    policies: list[dict[str, Any]] = []
    for pack in check.packs:
        grouped: dict[tuple[str, str], list[str]] = {}
        for item in pack.verdict.not_applicable:
            grouped.setdefault((item.policy, item.reason), []).append(names.get(item.urn, item.urn))
        not_applicable += [
            {
                "pack": pack.name,
                "policy": policy,
                "reason": reason,
                "count": len(resources),
                "resources": sorted(name for name in resources if name),
            }
            for (policy, reason), resources in sorted(grouped.items())
        ]
        for policy in pack.policies:
            coverage = check.coverage(pack, policy)
            verdict, reason = check.verdict(pack, policy)
            policies.append(
                {
                    "pack": pack.name,
                    "policy": policy.name,
                    "framework": policy.framework,
                    "control": policy.control,
                    "enforcement": policy.enforcement,
                    "declaredEnforcement": policy.declared_enforcement,
                    "severity": policy.severity,
                    "scope": "stack" if policy.stack_wide else "resource",
                    "covered": len(coverage.resources),
                    "violations": sum(1 for f in check.violations if f.policy == policy),
                    "verdict": verdict,
                    "reason": reason,
                }
            )
    return {
        "schemaVersion": SCHEMA_VERSION,
        "project": check.project,
        "stack": check.stack,
        "stackFile": display_path(check.stack_file),
        "mode": "preview" if check.preview else "update",
        "checkedAt": check.checked_at.isoformat(timespec="seconds"),
        "packs": [
            {
                "name": pack.name,
                "version": pack.version,
                "directory": display_path(pack.directory),
                "configFile": display_path(pack.config_file) if pack.config_file else None,
                "framework": {"name": pack.framework, "version": pack.framework_version},
                "policies": len(pack.policies),
                "mandatoryPolicies": sum(1 for p in pack.policies if p.enforcement in ("mandatory", "remediate")),
            }
            for pack in check.packs
        ],
        "resourcesAnalyzed": len(check.resources),
        "violations": [_finding_document(finding) for finding in check.violations],
        "notVerifiable": [_finding_document(finding) for finding in check.findings if finding.unverified],
        "notApplicable": not_applicable,
        "policies": policies,
        "exemptions": [
            {
                "pack": exemption.pack,
                "policy": exemption.policy,
                "kind": exemption.kind,
                "target": exemption.target,
                "reason": exemption.reason,
                "expires": exemption.expires,
                "status": exemption.status,
                "resources": list(exemption.resources),
            }
            for exemption in check.exemptions
        ],
        "summary": {
            "packs": len(check.packs),
            "resources": len(check.resources),
            "mandatory": len(check.mandatory),
            "advisory": len(check.advisory),
            "notVerifiable": len(check.unverified),
            "exemptionsInForce": len(check.exemptions_in_force),
            "passed": check.exit_code == 0,
            "exitCode": check.exit_code,
            "line": check.summary(),
            "deployabilityProblems": len(check.deployability.problems) if check.deployability else None,
        },
        "offlineLimits": OFFLINE_LIMITS,
        "deployability": deployability_document(check.deployability) if check.deployability else None,
    }


def _problem_document(problem: Problem) -> dict[str, Any]:
    return {
        "check": problem.check,
        "rule": problem.kind.rule,
        "workload": problem.workload,
        "pool": problem.pool,
        "message": problem.message,
        "fix": problem.kind.fix,
        "resource": {"name": problem.resource_name, "type": problem.resource_type, "urn": problem.urn},
    }


def deployability_document(report: DeployabilityReport) -> dict[str, Any]:
    """The `deployability` member of the JSON verdict (see the module docstring)."""
    return {
        "status": report.status,
        "poolsFrom": report.pools_from,
        "workloadsFrom": report.workloads_from,
        "pools": [
            {
                "name": pool.name,
                "type": pool.type,
                "urn": pool.urn,
                "sizes": list(pool.sizes),
                "zones": None if pool.zones is None else list(pool.zones),
                "minSize": pool.min_size,
                "maxSize": pool.max_size,
                "taints": [str(taint) for taint in pool.taints],
                "labels": {key: sorted(values) for key, values in sorted(pool.labels.items())},
            }
            for pool in report.pools
        ],
        "workloads": [
            {
                "kind": workload.kind,
                "name": workload.name,
                "namespace": workload.namespace,
                "replicas": workload.replicas,
                "source": workload.source,
                "resource": {"name": workload.resource_name, "type": workload.resource_type, "urn": workload.urn},
            }
            for workload in report.workloads
        ],
        "checks": [
            {
                "check": key,
                "rule": kind.rule,
                "title": kind.title,
                "verdict": report.verdict(key),
                "checked": report.checked.get(key, 0),
                "reason": report.not_verifiable.get(key, ""),
            }
            for key, kind in CHECK_KINDS.items()
        ],
        "problems": [_problem_document(problem) for problem in report.problems],
        "notVerifiable": [_problem_document(note) for note in report.notes],
        "summary": report.summary(),
        "limits": LIMITS,
    }


# --- SARIF ----------------------------------------------------------------------------------------------


def _sarif_level(enforcement: str) -> str:
    return "error" if enforcement in ("mandatory", "remediate") else "warning"


def _rule(name: str, variants: list[Policy]) -> dict[str, Any]:
    """One SARIF rule per policy name; a policy in several packs carries every framework's controls."""
    first = variants[0]
    controls = sorted({policy.control for policy in variants if policy.control})
    frameworks = sorted({policy.framework for policy in variants if policy.framework})
    clauses = sorted({clause for policy in variants for clause in policy.clauses})
    enforcement = "mandatory" if any(p.enforcement in ("mandatory", "remediate") for p in variants) else "advisory"
    mapping = "; ".join(f"{p.framework}: {p.control} ({', '.join(p.clauses)})" for p in variants if p.framework)
    rule: dict[str, Any] = {
        "id": name,
        "name": "".join(part.capitalize() for part in name.split("-")),
        "shortDescription": {"text": first.title},
        "fullDescription": {"text": first.description},
        "help": {
            "text": f"Fix: {first.remediation}\nControls: {mapping}",
            "markdown": f"**Fix:** {first.remediation}\n\n**Controls:** {mapping}",
        },
        "defaultConfiguration": {"level": _sarif_level(enforcement)},
        "properties": {
            "tags": sorted({*controls, *frameworks, *(tag for p in variants for tag in p.tags)}),
            "controls": controls,
            "frameworks": frameworks,
            "clauses": clauses,
            "packs": sorted({policy.pack for policy in variants}),
            "enforcement": enforcement,
            "severity": first.severity,
        },
    }
    if first.url:
        rule["helpUri"] = first.url
    return rule


def _deployability_rule(rule_id: str) -> dict[str, Any]:
    kind = next(kind for kind in CHECK_KINDS.values() if kind.rule == rule_id)
    return {
        "id": kind.rule,
        "name": "".join(part.capitalize() for part in kind.rule.split("-")),
        "shortDescription": {"text": kind.title},
        "fullDescription": {"text": kind.description},
        "help": {"text": f"Fix: {kind.fix}\n{LIMITS}", "markdown": f"**Fix:** {kind.fix}\n\n{LIMITS}"},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["deployability", kind.key], "check": kind.key},
    }


def fingerprint(policy: str, urn: str) -> str:
    """Stable identity of a finding across runs: the policy and the resource URN (messages may reword)."""
    return hashlib.sha256(f"{policy}\0{urn}".encode()).hexdigest()[:32]


def sarif_document(check: StackCheck) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run for the stack: rules are the packs' policies, results their findings.

    Each result points at the stack file (the line of the config entry that names the resource, else the
    `mlplatform:platform` key) so GitHub shows it on the diff, and names the resource URN as a logical location.
    One result per policy and resource: the packs that share the policy, and the several problems one rule may
    find on one resource, are merged into it, at the strictest level.
    """
    variants: dict[str, list[Policy]] = {}
    for pack in check.packs:
        for policy in pack.policies:
            variants.setdefault(policy.name, []).append(policy)
    rule_ids = sorted(variants)
    index = {name: position for position, name in enumerate(rule_ids)}
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for finding in check.findings:
        grouped.setdefault((finding.policy.name, finding.resource.urn), []).append(finding)
    rules = [_rule(name, variants[name]) for name in rule_ids]
    if check.deployability is not None:
        for kind in CHECK_KINDS.values():
            index[kind.rule] = len(rules)
            rules.append(_deployability_rule(kind.rule))
    uri = display_path(check.stack_file)
    results = []
    for (policy_name, urn), findings in grouped.items():
        resource = findings[0].resource
        unverified = all(finding.unverified for finding in findings)
        level = "note" if unverified else _sarif_level("mandatory" if any(f.mandatory for f in findings) else "")
        controls = sorted({f.policy.control for f in findings if f.policy.control})
        where = f"{resource.type} '{resource.name}'" if urn else "the stack"
        prefix = "Not verifiable offline: " if unverified else ""
        messages = " ".join(dict.fromkeys(finding.message for finding in findings))
        result: dict[str, Any] = {
            "ruleId": policy_name,
            "ruleIndex": index[policy_name],
            "level": level,
            "message": {"text": f"{prefix}{where}: {messages} [{', '.join(controls)}]"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": check.config_lines.get(urn, 1)},
                    },
                    "logicalLocations": [
                        {
                            "name": resource.name or check.stack,
                            "fullyQualifiedName": urn or check.stack,
                            "kind": "resource",
                        }
                    ],
                }
            ],
            "partialFingerprints": {FINGERPRINT: fingerprint(policy_name, urn)},
            "properties": {
                "packs": sorted({f.policy.pack for f in findings}),
                "controls": controls,
                "enforcement": sorted({f.enforcement for f in findings}),
                "resourceType": resource.type,
            },
        }
        results.append(result)
    if check.deployability is not None:
        report = check.deployability
        for problem, level in [*((p, "error") for p in report.problems), *((n, "note") for n in report.notes)]:
            prefix = "Not verifiable offline: " if level == "note" else ""
            results.append(
                {
                    "ruleId": problem.kind.rule,
                    "ruleIndex": index[problem.kind.rule],
                    "level": level,
                    "message": {"text": f"{prefix}{problem.message}"},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": uri},
                                "region": {
                                    "startLine": check.config_lines.get(problem.urn, check.config_lines.get("", 1))
                                },
                            },
                            "logicalLocations": [
                                {
                                    "name": problem.workload,
                                    "fullyQualifiedName": f"{problem.urn}#{problem.workload}"
                                    if problem.urn
                                    else problem.workload,
                                    "kind": "resource",
                                }
                            ],
                        }
                    ],
                    "partialFingerprints": {
                        FINGERPRINT: fingerprint(
                            problem.kind.rule, f"{problem.urn}\0{problem.workload}\0{problem.pool}"
                        )
                    },
                    "properties": {
                        "check": problem.check,
                        "workload": problem.workload,
                        "pool": problem.pool,
                        "resourceType": problem.resource_type,
                    },
                }
            )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": TOOL_NAME,
                        "fullName": "mlplatform offline policy check (Pulumi CrossGuard packs over the Analyzer protocol)",
                        "semanticVersion": check.packs[0].version if check.packs else "0.0.0",
                        "rules": rules,
                    },
                    "extensions": [{"name": pack.name, "version": pack.version} for pack in check.packs],
                },
                "automationDetails": {"id": f"{TOOL_NAME}/{check.stack}/"},
                "results": results,
                "properties": {
                    "project": check.project,
                    "stack": check.stack,
                    "mode": "preview" if check.preview else "update",
                    "summary": check.summary(),
                },
            }
        ],
    }


# --- JUnit XML -------------------------------------------------------------------------------------------


def junit_document(checks: Sequence[StackCheck]) -> str:
    """JUnit XML: a testsuite per stack and pack, a testcase per policy, and a testsuite `<stack>/deployability`
    with a testcase per deployability check kind.

    A mandatory violation is a `<failure>` listing every violating resource; advisory violations and checks not
    verifiable offline are listed in the testcase's `<system-out>` and the test passes (they do not block an
    update); a policy that applied to nothing, could not be verified offline, or that the config disables, is
    `<skipped>` with its verdict and the reason.
    """
    root = ElementTree.Element("testsuites", name=TOOL_NAME)
    totals: Counter[str] = Counter()
    for check in checks:
        for pack in check.packs:
            suite = ElementTree.SubElement(
                root,
                "testsuite",
                name=f"{check.stack}/{pack.name}",
                timestamp=check.checked_at.replace(tzinfo=None).isoformat(timespec="seconds"),
            )
            properties = ElementTree.SubElement(suite, "properties")
            for key, value in (
                ("stack", check.stack),
                ("pack", pack.name),
                ("version", pack.version),
                ("framework", pack.framework),
            ):
                ElementTree.SubElement(properties, "property", name=key, value=value)
            counts: Counter[str] = Counter()
            for policy in sorted(pack.policies, key=lambda p: p.name):
                counts["tests"] += 1
                case = ElementTree.SubElement(
                    suite,
                    "testcase",
                    classname=f"{check.stack}.{pack.name}",
                    name=f"{policy.name} [{policy.control}]" if policy.control else policy.name,
                )
                findings = [f for f in check.findings if f.policy == policy]
                blocking = [f for f in findings if f.mandatory]
                if blocking:
                    counts["failures"] += 1
                    failure = ElementTree.SubElement(
                        case,
                        "failure",
                        type=policy.enforcement,
                        message=f"{len(blocking)} mandatory violation{'s' if len(blocking) != 1 else ''} of {policy.name}",
                    )
                    failure.text = "\n".join(_finding_line(f) for f in blocking) + f"\nFix: {policy.remediation}"
                other = [f for f in findings if not f.mandatory]
                if other:
                    output = ElementTree.SubElement(case, "system-out")
                    output.text = "\n".join(
                        ("not verifiable offline: " if f.unverified else "advisory: ") + _finding_line(f) for f in other
                    )
                verdict, reason = check.verdict(pack, policy)
                if verdict in (NOT_APPLICABLE, NOT_VERIFIABLE, DISABLED):
                    counts["skipped"] += 1
                    ElementTree.SubElement(case, "skipped", message=f"{verdict}: {reason}")
            for key in ("tests", "failures", "skipped"):
                suite.set(key, str(counts[key]))
            suite.set("errors", "0")
            totals.update(counts)
        if check.deployability is not None:
            totals.update(_deployability_suite(root, check, check.deployability))
    for key in ("tests", "failures", "skipped"):
        root.set(key, str(totals[key]))
    root.set("errors", "0")
    ElementTree.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def _finding_line(finding: Finding) -> str:
    resource = finding.resource
    where = f"{resource.type} {resource.name} ({resource.urn})" if resource.urn else "the stack"
    return f"{where}: {finding.message}"


def _deployability_suite(root: ElementTree.Element, check: StackCheck, report: DeployabilityReport) -> Counter[str]:
    """A testsuite `<stack>/deployability` with a testcase per check kind: problems are failures, notes go to
    `<system-out>`, a kind that could not run or had nothing to judge is skipped."""
    suite = ElementTree.SubElement(
        root,
        "testsuite",
        name=f"{check.stack}/deployability",
        timestamp=check.checked_at.replace(tzinfo=None).isoformat(timespec="seconds"),
    )
    properties = ElementTree.SubElement(suite, "properties")
    for key, value in (
        ("stack", check.stack),
        ("poolsFrom", report.pools_from),
        ("workloadsFrom", report.workloads_from),
    ):
        ElementTree.SubElement(properties, "property", name=key, value=value)
    counts: Counter[str] = Counter()
    for key, kind in CHECK_KINDS.items():
        counts["tests"] += 1
        case = ElementTree.SubElement(suite, "testcase", classname=f"{check.stack}.deployability", name=kind.rule)
        problems = report.by_check(key)
        if problems:
            counts["failures"] += 1
            failure = ElementTree.SubElement(
                case,
                "failure",
                type="deployability",
                message=f"{len(problems)} problem{'s' if len(problems) != 1 else ''}: {kind.title.lower()}",
            )
            failure.text = "\n".join(problem.message for problem in problems) + f"\nFix: {kind.fix}"
        notes = [note for note in report.notes if note.check == key]
        if notes:
            ElementTree.SubElement(case, "system-out").text = "\n".join(
                f"not verifiable offline: {note.message}" for note in notes
            )
        verdict = report.verdict(key)
        if verdict in ("not verifiable offline", "not applicable"):
            counts["skipped"] += 1
            reason = report.not_verifiable.get(key) or "nothing of this kind in the stack"
            ElementTree.SubElement(case, "skipped", message=f"{verdict}: {reason}")
    for key in ("tests", "failures", "skipped"):
        suite.set(key, str(counts[key]))
    suite.set("errors", "0")
    return counts
