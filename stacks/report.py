"""The compliance report of `python -m stacks check --report`: per framework control, rules, coverage and verdict."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from stacks.check import (
    NOT_APPLICABLE,
    OFFLINE_LIMITS,
    VERDICTS,
    Exemption,
    Finding,
    PackResult,
    Policy,
    Resource,
    StackCheck,
    display_path,
)
from stacks.deployability import CHECK_KINDS, LIMITS, DeployabilityReport

STACK_WIDE = "the whole stack"


@dataclass(frozen=True)
class RuleRow:
    """One policy behind a control."""

    policy: Policy
    covered: int
    """Resources it evaluated (-1 for a stack policy, which picks its own resources from the whole stack)."""
    violations: int
    result: str
    reason: str
    """Why the result is not applicable, not verifiable or disabled ('' otherwise)."""


@dataclass(frozen=True)
class ControlSection:
    """A control of one framework: its rules, what they covered, and the verdict."""

    control: str
    title: str
    clauses: tuple[str, ...]
    rules: tuple[RuleRow, ...]
    resources: tuple[str, ...]
    """The resources the control's resource policies evaluated (providers labelled with their type)."""
    stack_wide: bool
    """At least one rule is a stack policy that looked at the whole stack."""
    violations: tuple[Finding, ...]
    unverified: tuple[Finding, ...]
    exemptions: tuple[Exemption, ...]
    verdict: str


@dataclass(frozen=True)
class FrameworkSection:
    """One pack's framework and its controls."""

    pack: PackResult
    controls: tuple[ControlSection, ...]

    def count(self, verdict: str) -> int:
        """How many controls have `verdict`."""
        return sum(1 for control in self.controls if control.verdict == verdict)


def framework_sections(check: StackCheck) -> list[FrameworkSection]:
    """Group every pack's policies by control and judge each control."""
    sections = []
    for pack in check.packs:
        by_control: dict[str, list[Policy]] = {}
        for policy in pack.policies:
            by_control.setdefault(policy.control, []).append(policy)
        controls = []
        for control_id in sorted(by_control):
            policies = sorted(by_control[control_id], key=lambda p: p.name)
            rows, resources, findings = [], set(), []
            stack_wide = False
            for policy in policies:
                coverage = check.coverage(pack, policy)
                own = [finding for finding in check.findings if finding.policy == policy]
                findings += own
                if policy.stack_wide and not coverage.not_applicable:
                    stack_wide = True
                else:
                    resources.update(_label(resource) for resource in coverage.resources if resource.urn)
                covered = -1 if policy.stack_wide and not coverage.not_applicable else len(coverage.resources)
                result, reason = check.verdict(pack, policy)
                rows.append(RuleRow(policy, covered, sum(1 for f in own if not f.unverified), result, reason))
            results = {row.result for row in rows}
            verdict = next((v for v in VERDICTS if v in results), NOT_APPLICABLE)
            names = {policy.name for policy in policies}
            controls.append(
                ControlSection(
                    control=control_id,
                    title=policies[0].control_title,
                    clauses=policies[0].clauses,
                    rules=tuple(rows),
                    resources=tuple(sorted(resources)),
                    stack_wide=stack_wide,
                    violations=tuple(f for f in findings if not f.unverified),
                    unverified=tuple(f for f in findings if f.unverified),
                    exemptions=tuple(e for e in check.exemptions if e.pack == pack.name and e.policy in names),
                    verdict=verdict,
                )
            )
        sections.append(FrameworkSection(pack, tuple(controls)))
    return sections


REPORT_SUFFIXES = (".md", ".markdown", ".html", ".htm")
"""The report formats by file extension: Markdown or HTML."""


def write_report(check: StackCheck, path: Path) -> None:
    """Write the report as HTML when `path` ends in .html/.htm, as Markdown when in .md/.markdown.

    Raises:
        ValueError: for any other extension (the format comes from it; nothing is guessed).
    """
    suffix = path.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise ValueError(f"{path}: a report is Markdown or HTML by extension ({', '.join(REPORT_SUFFIXES)})")
    render = html_report if suffix in (".html", ".htm") else markdown_report
    path.write_text(render(check))


def _label(resource: Resource) -> str:
    """A resource's name; providers (all named `default` unless explicit) with their type."""
    return f"{resource.name} ({resource.type})" if resource.type.startswith("pulumi:providers:") else resource.name


def _covered_text(check: StackCheck, control: ControlSection) -> str:
    listed = ", ".join(control.resources)
    if not control.stack_wide:
        return listed or "none"
    whole = f"the whole stack ({len(check.resources)} resources), from which its stack policies select their own"
    return f"{listed}; and {whole}" if listed else whole


def _covered(row: RuleRow) -> str:
    return STACK_WIDE if row.covered < 0 else str(row.covered)


def _resource(resource: Resource) -> str:
    return f"{resource.type} {resource.name}" if resource.urn else "the stack"


def _exemption_text(exemption: Exemption) -> str:
    hides = f"hides violations on {', '.join(exemption.resources)}" if exemption.resources else "hides no violation"
    if exemption.kind == "excludeFor":
        return f"{exemption.policy}: excludeFor {exemption.target} (permanent, no reason or expiry); {hides}"
    return (
        f"{exemption.policy}: {exemption.target}, {exemption.status}, expires {exemption.expires or 'never set'}; "
        f"reason: {exemption.reason or 'none'}; {hides}"
    )


def _rendered_text(check: StackCheck) -> str:
    names = ", ".join(f"{resource.name} ({resource.type})" for resource in check.rendered)
    return (
        f"In this stack the provider renders the objects of {names}. Policies on Kubernetes objects that found "
        "nothing in scope offline are reported as not verifiable offline: run `pulumi preview --policy-pack` "
        "to check the rendered objects."
    )


def _header_facts(check: StackCheck) -> list[tuple[str, str]]:
    packs = "; ".join(
        f"{pack.name} {pack.version}" + (f" (config {display_path(pack.config_file)})" if pack.config_file else "")
        for pack in check.packs
    )
    return [
        ("Project / stack", f"{check.project} / {check.stack} ({display_path(check.stack_file)})"),
        ("Generated", check.checked_at.strftime("%Y-%m-%d %H:%M UTC")),
        ("Method", f"offline replay over the Analyzer protocol ({'preview' if check.preview else 'update'} mode)"),
        ("Policy packs", packs),
        ("Resources analyzed", str(len(check.resources))),
        ("Result", check.summary()),
    ]


# --- Markdown --------------------------------------------------------------------------------------------


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def _md(text: str) -> str:
    """`text` with Markdown's special characters escaped, on one line (messages quote code like `**tags`)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def markdown_report(check: StackCheck) -> str:
    """The report as Markdown (every value escaped, so a message quoting `**kwargs` or `<arn>` reads as written)."""
    lines = [f"# Compliance report: {_md(check.project)}/{_md(check.stack)}", "", "| | |", "|---|---|"]
    lines += [f"| {key} | {_md(value)} |" for key, value in _header_facts(check)]
    for section in framework_sections(check):
        pack = section.pack
        version = f", {pack.framework_version}" if pack.framework_version else ""
        tally = ", ".join(f"{section.count(v)} {v}" for v in VERDICTS if section.count(v))
        lines += [
            "",
            f"## {_md(pack.framework + version)}",
            "",
            f"Pack {_md(pack.name)} {_md(pack.version)}, {len(pack.policies)} policies, "
            f"{len(section.controls)} controls: {tally}",
            "",
            "| Control | Clauses | Description | Rules | Exemptions | Verdict |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| [{_md(c.control)}](#{_anchor(pack, c)}) | {_md(', '.join(c.clauses))} | {_md(c.title)} | "
            f"{len(c.rules)} | {len(c.exemptions)} | **{c.verdict}** |"
            for c in section.controls
        ]
        for control in section.controls:
            lines += _markdown_control(check, pack, control)
    if check.deployability is not None:
        lines += _markdown_deployability(check.deployability)
    lines += ["", "## Exemptions", ""]
    if check.exemptions:
        lines += [
            "| Pack | Policy | Kind | Target | Reason | Expires | Status | Hides violations on |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {_md(e.pack)} | {_md(e.policy)} | {e.kind} | {_md(e.target)} | {_md(e.reason or '-')} | "
            f"{_md(e.expires or '-')} | {e.status} | {_md(', '.join(e.resources) or 'none')} |"
            for e in check.exemptions
        ]
    else:
        lines.append("None: every policy checks every resource in its scope.")
    lines += ["", "## Enforcement set by the stack's policy pack config", ""]
    changed = [(p, q) for p in check.packs for q in p.policies if q.enforcement != q.declared_enforcement]
    if changed:
        lines += ["| Pack | Policy | Declared | Effective |", "|---|---|---|---|"]
        lines += [f"| {_md(p.name)} | {_md(q.name)} | {q.declared_enforcement} | {q.enforcement} |" for p, q in changed]
    else:
        lines.append("None: every policy runs at the level its pack declares.")
    lines += ["", "## What this offline check cannot see", "", _md(OFFLINE_LIMITS)]
    if check.rendered:
        lines += ["", _md(_rendered_text(check))]
    lines.append("")
    return "\n".join(lines)


def _markdown_deployability(report: DeployabilityReport) -> list[str]:
    lines = [
        "",
        "## Deployability",
        "",
        f"Verdict: **{_md(report.status)}**. {len(report.workloads)} workloads (from {_md(report.workloads_from)}) "
        f"on {len(report.pools)} node pools (from {_md(report.pools_from)}).",
        "",
        "| Check | Description | Judged | Problems | Verdict | Why |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {_md(kind.rule)} | {_md(kind.title)} | {report.checked.get(key, 0)} | {len(report.by_check(key))} | "
        f"**{report.verdict(key)}** | {_md(report.not_verifiable.get(key, ''))} |"
        for key, kind in CHECK_KINDS.items()
    ]
    if report.problems:
        lines += ["", "Problems:", ""]
        lines += [f"- **{_md(p.kind.rule)}** {_md(p.message)}" for p in report.problems]
        fixes = {p.kind.rule: p.kind.fix for p in report.problems}
        lines += [f"- Fix ({_md(rule)}): {_md(fix)}" for rule, fix in fixes.items()]
    if report.notes:
        lines += ["", "Not verifiable offline:", ""]
        lines += [f"- {_md(note.message)}" for note in report.notes]
    lines += ["", _md(LIMITS)]
    return lines


def _html_deployability(report: DeployabilityReport) -> list[str]:
    parts = [
        "<h2>Deployability</h2>",
        f"<p>Verdict: {_verdict(report.status)}. {len(report.workloads)} workloads (from {_e(report.workloads_from)}) "
        f"on {len(report.pools)} node pools (from {_e(report.pools_from)}).</p>",
        "<table><tr><th>Check</th><th>Description</th><th>Judged</th><th>Problems</th><th>Verdict</th><th>Why</th></tr>",
        *(
            f"<tr><td><code>{_e(kind.rule)}</code></td><td>{_e(kind.title)}</td><td>{report.checked.get(key, 0)}</td>"
            f"<td>{len(report.by_check(key))}</td><td>{_verdict(report.verdict(key))}</td>"
            f"<td>{_e(report.not_verifiable.get(key, ''))}</td></tr>"
            for key, kind in CHECK_KINDS.items()
        ),
        "</table>",
    ]
    if report.problems:
        parts.append("<p>Problems:</p><ul>")
        parts += [f"<li><code>{_e(p.kind.rule)}</code> {_e(p.message)}</li>" for p in report.problems]
        fixes = {p.kind.rule: p.kind.fix for p in report.problems}
        parts += [f"<li>Fix ({_e(rule)}): {_e(fix)}</li>" for rule, fix in fixes.items()]
        parts.append("</ul>")
    if report.notes:
        parts.append("<p>Not verifiable offline:</p><ul>")
        parts += [f"<li>{_e(note.message)}</li>" for note in report.notes]
        parts.append("</ul>")
    parts.append(f"<p>{_e(LIMITS)}</p>")
    return parts


def _anchor(pack: PackResult, control: ControlSection) -> str:
    return re.sub(r"[^a-z0-9-]", "-", f"{pack.name}-{control.control}".lower())


def _fixes(findings: tuple[Finding, ...]) -> list[tuple[str, str]]:
    """(policy, remediation) once per violated policy."""
    return list({f.policy.name: f.policy.remediation for f in findings if f.policy.remediation}.items())


def _markdown_control(check: StackCheck, pack: PackResult, control: ControlSection) -> list[str]:
    lines = [
        "",
        f'### <a id="{_anchor(pack, control)}"></a>{_md(control.control)}: {_md(control.title)}',
        "",
        f"- Clauses: {_md(', '.join(control.clauses) or '-')}",
        f"- Verdict: **{control.verdict}**",
        f"- Resources covered ({len(control.resources)}): {_md(_covered_text(check, control))}",
        "",
        "| Rule | Enforcement | Severity | Resources covered | Violations | Result | Why |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {_md(row.policy.name)} | {row.policy.enforcement} | {_md(row.policy.severity or '-')} | "
        f"{_covered(row)} | {row.violations} | {row.result} | {_md(row.reason)} |"
        for row in control.rules
    ]
    if control.violations:
        lines += ["", "Violations:", ""]
        lines += [
            f"- **{f.enforcement}** {_md(f.policy.name)} on {_md(_resource(f.resource))}: {_md(f.message)}"
            for f in control.violations
        ]
        lines += [f"- Fix ({_md(name)}): {_md(fix)}" for name, fix in _fixes(control.violations)]
    if control.unverified:
        lines += ["", "Not verifiable offline:", ""]
        lines += [
            f"- {_md(f.policy.name)} on {_md(_resource(f.resource))}: {_md(f.message)}" for f in control.unverified
        ]
    if control.exemptions:
        lines += ["", "Exemptions:", ""]
        lines += [f"- {_md(_exemption_text(e))}" for e in control.exemptions]
    return lines


# --- HTML ------------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 75rem; color: #1b1f24; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #d0d7de; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.verdict { font-weight: bold; }
.fail { color: #b42318; } .fail-advisory { color: #b54708; } .pass { color: #067647; }
.not-applicable, .not-verifiable-offline { color: #475467; }
code { font-size: 0.9em; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _verdict(verdict: str) -> str:
    css = verdict.replace(" (", "-").replace(")", "").replace(" ", "-")
    return f'<span class="verdict {css}">{_e(verdict)}</span>'


def html_report(check: StackCheck) -> str:
    """The report as a self-contained HTML page (every value escaped)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Compliance report: {_e(check.project)}/{_e(check.stack)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>Compliance report: {_e(check.project)}/{_e(check.stack)}</h1>",
        "<table>",
        *(f"<tr><th>{_e(key)}</th><td>{_e(value)}</td></tr>" for key, value in _header_facts(check)),
        "</table>",
    ]
    for section in framework_sections(check):
        pack = section.pack
        version = f", {pack.framework_version}" if pack.framework_version else ""
        tally = ", ".join(f"{section.count(v)} {v}" for v in VERDICTS if section.count(v))
        parts += [
            f"<h2>{_e(pack.framework + version)}</h2>",
            f"<p>Pack <code>{_e(pack.name)}</code> {_e(pack.version)}, {len(pack.policies)} policies, "
            f"{len(section.controls)} controls: {_e(tally)}</p>",
            "<table><tr><th>Control</th><th>Clauses</th><th>Description</th><th>Rules</th><th>Exemptions</th>"
            "<th>Verdict</th></tr>",
            *(
                f'<tr><td><a href="#{_e(_anchor(pack, c))}">{_e(c.control)}</a></td><td>{_e(", ".join(c.clauses))}'
                f"</td><td>{_e(c.title)}</td><td>{len(c.rules)}</td><td>{len(c.exemptions)}</td>"
                f"<td>{_verdict(c.verdict)}</td></tr>"
                for c in section.controls
            ),
            "</table>",
        ]
        for control in section.controls:
            parts += _html_control(check, pack, control)
    if check.deployability is not None:
        parts += _html_deployability(check.deployability)
    parts.append("<h2>Exemptions</h2>")
    if check.exemptions:
        parts.append(
            "<table><tr><th>Pack</th><th>Policy</th><th>Kind</th><th>Target</th><th>Reason</th><th>Expires</th>"
            "<th>Status</th><th>Hides violations on</th></tr>"
        )
        parts += [
            f"<tr><td>{_e(e.pack)}</td><td>{_e(e.policy)}</td><td>{_e(e.kind)}</td><td><code>{_e(e.target)}</code>"
            f"</td><td>{_e(e.reason or '-')}</td><td>{_e(e.expires or '-')}</td><td>{_e(e.status)}</td>"
            f"<td>{_e(', '.join(e.resources) or 'none')}</td></tr>"
            for e in check.exemptions
        ]
        parts.append("</table>")
    else:
        parts.append("<p>None: every policy checks every resource in its scope.</p>")
    parts.append("<h2>Enforcement set by the stack's policy pack config</h2>")
    changed = [(p, q) for p in check.packs for q in p.policies if q.enforcement != q.declared_enforcement]
    if changed:
        parts.append("<table><tr><th>Pack</th><th>Policy</th><th>Declared</th><th>Effective</th></tr>")
        parts += [
            f"<tr><td>{_e(p.name)}</td><td>{_e(q.name)}</td><td>{_e(q.declared_enforcement)}</td>"
            f"<td>{_e(q.enforcement)}</td></tr>"
            for p, q in changed
        ]
        parts.append("</table>")
    else:
        parts.append("<p>None: every policy runs at the level its pack declares.</p>")
    parts.append(f"<h2>What this offline check cannot see</h2><p>{_e(OFFLINE_LIMITS)}</p>")
    if check.rendered:
        parts.append(f"<p>{_e(_rendered_text(check))}</p>")
    parts += ["</body></html>", ""]
    return "\n".join(parts)


def _html_control(check: StackCheck, pack: PackResult, control: ControlSection) -> list[str]:
    covered = _covered_text(check, control)
    parts = [
        f'<h3 id="{_e(_anchor(pack, control))}">{_e(control.control)}: {_e(control.title)}</h3>',
        f"<p>Clauses: {_e(', '.join(control.clauses) or '-')}. Verdict: {_verdict(control.verdict)}</p>",
        "<table><tr><th>Rule</th><th>Enforcement</th><th>Severity</th><th>Resources covered</th><th>Violations</th>"
        "<th>Result</th><th>Why</th></tr>",
        *(
            f"<tr><td><code>{_e(row.policy.name)}</code></td><td>{_e(row.policy.enforcement)}</td>"
            f"<td>{_e(row.policy.severity or '-')}</td><td>{_e(_covered(row))}</td><td>{row.violations}</td>"
            f"<td>{_verdict(row.result)}</td><td>{_e(row.reason)}</td></tr>"
            for row in control.rules
        ),
        "</table>",
        f"<details><summary>Resources covered ({len(control.resources)})</summary><p>{_e(covered)}</p></details>",
    ]
    if control.violations:
        parts.append("<p>Violations:</p><ul>")
        parts += [
            f"<li><strong>{_e(f.enforcement)}</strong> <code>{_e(f.policy.name)}</code> on {_e(_resource(f.resource))}: "
            f"{_e(f.message)}</li>"
            for f in control.violations
        ]
        parts += [f"<li>Fix ({_e(name)}): {_e(fix)}</li>" for name, fix in _fixes(control.violations)]
        parts.append("</ul>")
    if control.unverified:
        parts.append("<p>Not verifiable offline:</p><ul>")
        parts += [
            f"<li><code>{_e(f.policy.name)}</code> on {_e(_resource(f.resource))}: {_e(f.message)}</li>"
            for f in control.unverified
        ]
        parts.append("</ul>")
    if control.exemptions:
        parts.append("<p>Exemptions:</p><ul>")
        parts += [f"<li>{_e(_exemption_text(e))}</li>" for e in control.exemptions]
        parts.append("</ul>")
    return parts
