"""Render each pack's README from the framework metadata (`python -m policies.docs` rewrites them)."""

from __future__ import annotations

import sys
from pathlib import Path

from policies.frameworks import CONTROLS, FRAMEWORKS, MAPPINGS, mappings_for
from policies.pack import PACKS_DIR

LIMITATIONS: tuple[tuple[str, str, str], ...] = (
    (
        "All Kubernetes rows",
        "Objects rendered inside Helm charts",
        "`kubernetes.helm.v4.Chart` registers its rendered objects, so `pulumi preview --policy-pack` checks them "
        "like any other object; the offline replay (mock runtime) does not render charts and sees only the chart "
        "resource. `helm.v3.Release` hides its manifests from every analyzer (kubernetes-helm-release-rendered).",
    ),
    (
        "HIPAA-INT-ACR-POLICIES",
        "ACR quarantine policy",
        "Not enforced: quarantine blocks every pull until a scanner marks the image as passed, and the platform has no "
        "such release workflow (Defender for Containers scans ACR images without quarantine).",
    ),
    (
        "GDPR-RET-OBSERVABILITY",
        "Elasticsearch retention",
        "ILM policies live outside the ECK chart values; the rule reports an advisory 'cannot be verified' for "
        "Elasticsearch charts, to be checked on the ILM policy's delete phase.",
    ),
    (
        "HIPAA-LOG-CLOUDTRAIL",
        "Trail presence",
        "Trails are an account-level baseline that platform stacks do not create; the presence check "
        "(aws-cloudtrail-trail-required) applies only with requireTrail=true in the baseline stack. Trails that a "
        "stack does create are always checked (aws-cloudtrail-trail-secure).",
    ),
    (
        "HIPAA-ENC-EKS-NODES",
        "EBS encryption by default in another stack",
        "Node groups without an encrypted launch template pass only when this stack enables "
        "aws.ebs.EncryptionByDefault or the policy's ebsEncryptionByDefault setting declares the account baseline.",
    ),
    (
        "HIPAA-ENC-EKS-NODES",
        "Karpenter nodes",
        "Karpenter launches nodes outside any node group; their disks are checked on the EC2NodeClass by "
        "aws-ec2-launch-template-ebs-encrypted (which, like the node-group rule, wants a customer-managed key).",
    ),
    (
        "HIPAA-NET-EC2-NOPUBLICIP",
        "Subnets Karpenter selects",
        "EC2NodeClass subnetSelectorTerms pick subnets by tag when a node launches, so whether they are private "
        "cannot be known to a policy; an unset associatePublicIPAddress leaves it to the subnets' "
        "map_public_ip_on_launch, as an unset associate_public_ip_address does for launch templates.",
    ),
    (
        "HIPAA-ENC-SQS-SSE",
        "Customer-managed keys for SQS",
        "Not required: SSE-SQS passes. The platform's only queue (Karpenter's interruption queue) carries EC2 and "
        "AWS Health event notices, no personal data, and EventBridge can deliver to an SSE-KMS queue only with a "
        "customer-managed key whose policy admits events.amazonaws.com.",
    ),
    (
        "HIPAA-LOG-AZ-DIAG",
        "AKS Container Insights (addonProfiles.omsagent)",
        "Not required: diagnostic settings deliver the control-plane audit log; Container Insights is workload "
        "monitoring, not an audit control.",
    ),
    (
        "GDPR-RES-REPLICA",
        "ACR geo-replications",
        "azure-native:containerregistry:Replication carries a location, so azure-location-allowed checks every replica.",
    ),
    (
        "HIPAA-AC-S3-PUBLIC",
        "Buckets without BucketOwnershipControls",
        "AWS has created buckets with BucketOwnerEnforced (ACLs disabled) since April 2023; the advisory rule checks "
        "explicit ownership controls only.",
    ),
    (
        "HIPAA-BAK-AWS-BACKUP",
        "EFS, RDS and DynamoDB stores",
        "The platform creates none of them; the backup rules cover them whenever a stack does.",
    ),
)
"""Parts of controls that are not enforced, or only partly, and why."""


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def rules_table(framework: str) -> str:
    """The markdown table of a pack's policies."""
    lines = [
        "| Policy | Control | Clauses | Severity | Default | Checks | Fix |",
        "|---|---|---|---|---|---|---|",
    ]
    spec = FRAMEWORKS[framework]
    for mapping, control, rule in mappings_for(framework):
        kind = " (stack)" if rule.stack else ""
        lines.append(
            f"| `{rule.name}`{kind} | {control.id} | {', '.join(spec.clauses(control))} | {mapping.severity.value} | "
            f"{mapping.enforcement.value} | {_escape(rule.description)} | {_escape(rule.remediation)} |"
        )
    return "\n".join(lines)


def settings_table(framework: str) -> str:
    """The markdown table of the configuration settings a pack's policies accept, with their defaults."""
    usage: dict[str, tuple[dict[str, object], list[str]]] = {}
    for _, _, rule in mappings_for(framework):
        for setting in rule.settings:
            entry = usage.setdefault(setting.name, (setting.schema, []))
            entry[1].append(rule.name)
    lines = ["| Setting | Used by | Default | Meaning |", "|---|---|---|---|"]
    for name, (schema, rules) in sorted(usage.items()):
        default = schema.get("default")
        lines.append(
            f"| `{name}` | {', '.join(f'`{rule}`' for rule in rules)} | `{_escape(repr(default))}` | "
            f"{_escape(str(schema.get('description', '')))} |"
        )
    return "\n".join(lines)


def excluded_controls(framework: str) -> str:
    """The markdown table of matrix controls this framework does not map, with the reason."""
    spec = FRAMEWORKS[framework]
    mapped = {mapping.control for mapping in MAPPINGS}
    lines = ["| Control | Title | Why not in this pack |", "|---|---|---|"]
    for control in CONTROLS.values():
        if control.id in mapped and spec.clauses(control):
            continue
        reason = (
            "not a Kubernetes or GPU control; enforced by the gdpr and hipaa packs"
            if framework == "kubernetes-baseline"
            else f"maps no {spec.framework_name} clause"
        )
        lines.append(f"| {control.id} | {control.title} | {reason} |")
    return "\n".join(lines)


def limitations_table() -> str:
    """The markdown table of control parts that are not enforced, and why."""
    lines = ["| Control | Part | Why |", "|---|---|---|"]
    lines.extend(f"| {control} | {part} | {_escape(reason)} |" for control, part, reason in LIMITATIONS)
    return "\n".join(lines)


def render_readme(framework: str) -> str:
    """The full README of a pack."""
    spec = FRAMEWORKS[framework]
    policies = mappings_for(framework)
    mandatory = sum(1 for mapping, _, _ in policies if mapping.enforcement.value == "mandatory")
    return f"""# {spec.display_name}

Policy pack `{spec.pack_name}` (Pulumi CrossGuard, Python). {spec.description}

{len(policies)} policies, {mandatory} mandatory by default. Each policy carries its control ID, the
{spec.framework_name} clauses ({spec.framework_version}), a severity and remediation steps; the rules live in
`policies/rules/`, the mapping in `policies/frameworks.py`. This file is generated by `python -m policies.docs`.

## Run it

```sh
pulumi preview -s prod --policy-pack policies/packs/{framework} \
    --policy-pack-config policies/config/prod/{framework}.json
```

The CLI creates the pack's virtualenv from `requirements.txt` (only `pulumi-policy`) and runs `__main__.py`,
which imports the shared rules from the repository root. Offline, `stacks.synth` plus `policies.replay` send the
same Analyzer requests without the CLI. Stack policies see every resource; values computed during preview (an ARN
in a policy document, a key ID) turn a content check into an advisory "is unknown during preview", and the same
check runs with the real value on `pulumi up`. Presence checks treat a computed value as set.

## Configure it

`policies/config/<stack>/{framework}.json` (optional; the defaults apply without it) sets, per policy, the enforcement level (`advisory`, `mandatory`, `disabled`) and settings.
Every policy accepts `excludeFor` (resource-name regular expressions, full match) and `exemptions`, each with a
`urn` or a `name` pattern, a `reason` of at least 10 characters and an `expires` date; an expired exemption is
itself a violation, so exemptions are reviewed, never forgotten.

```json
{{
  "aws-region-allowed": {{"allowedRegions": ["eu-central-1", "eu-west-1"]}},
  "kubernetes-workload-image-pinned": {{
    "enforcementLevel": "mandatory",
    "exemptions": [{{"name": "legacy-batch-.*", "reason": "migrating to digests in PLAT-142", "expires": "2026-03-31"}}]
  }}
}}
```

{settings_table(framework)}

## Policies

{rules_table(framework)}

## Controls not in this pack

{excluded_controls(framework)}

## Limits

{limitations_table()}
"""


def main(argv: list[str] | None = None) -> int:
    """Rewrite every pack README; with `--check`, exit 1 when one is out of date."""
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for framework in FRAMEWORKS:
        path: Path = PACKS_DIR / framework / "README.md"
        text = render_readme(framework)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(str(path))
        if not check:
            path.write_text(text)
    for path in stale:
        print(f"{'out of date' if check else 'wrote'}: {path}")
    return 1 if check and stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
