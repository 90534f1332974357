"""The promotion gate: a pure verdict on a registry scanner's findings for one image digest, and its CLI.

CI and the retraining pipeline call it after pushing a new image and before the digest is promoted (written into
the serving stack's config, tagged for release, or deployed). It reads what the registry's scanner reports:

- ECR with Amazon Inspector enhanced scanning (`components.AwsRegistryScanning`): the JSON of
  `aws ecr describe-image-scan-findings --repository-name <repo> --image-id imageDigest=<digest>`, shaped as the
  DescribeImageScanFindings response (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImageScanFindings.html,
  https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ImageScanFindings.html).
- ACR with Microsoft Defender for Containers (`components.AzureDefenderForContainers`): the JSON of
  `az graph query -q "<defender_query(digest)>"`, the Resource Graph sub-assessments Defender publishes per
  vulnerability of each image (https://learn.microsoft.com/en-us/azure/defender-for-cloud/subassessment-rest-api).

The gate fails closed: an image not yet scanned, a failed or unsupported scan, a response about another digest, or
untriaged findings hold the promotion, each with the reason. Exit status 0 promotes, 1 holds, 2 is a usage error.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SEVERITIES = ("INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL")
"""Severities in increasing order; both scanners' names map onto them (Defender's 'High' is HIGH)."""
UNTRIAGED = ("UNDEFINED", "UNTRIAGED")
"""Severities a scanner reports before a vulnerability is scored: ECR's UNDEFINED, Inspector's UNTRIAGED."""
DEFAULT_FAIL_ON = "HIGH"

ECR_SCANNED = ("COMPLETE", "ACTIVE")
"""`imageScanStatus.status` values with current findings: COMPLETE (basic or on-push) and ACTIVE (Inspector
continuous scanning). IN_PROGRESS and PENDING mean retry later; FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE,
SCAN_ELIGIBILITY_EXPIRED and LIMIT_EXCEEDED mean there are no findings to trust."""
ECR_RETRY = ("IN_PROGRESS", "PENDING")

DEFENDER_ASSESSMENT = "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5"
"""The assessment whose sub-assessments are Defender's (MDVM) ACR image vulnerabilities."""

_LOCKED = ("--write-enabled", "false", "--delete-enabled", "false")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Verdict:
    """Whether a digest may be promoted, and why not."""

    promote: bool
    digest: str | None
    counts: Mapping[str, int] = field(default_factory=dict)
    """Open findings by severity (after `ignore`), untriaged ones under UNTRIAGED."""
    reasons: tuple[str, ...] = ()
    """Why the promotion is held; empty when it may go ahead."""
    retry: bool = False
    """The scan has not finished: the same call may pass later."""

    def summary(self) -> str:
        """One line for CI logs."""
        counts = ", ".join(f"{severity} {count}" for severity, count in sorted(self.counts.items()) if count)
        head = f"{'PROMOTE' if self.promote else 'HOLD'} {self.digest or '<unknown digest>'}"
        return f"{head} ({counts or 'no open findings'})" + "".join(f"\n  - {reason}" for reason in self.reasons)


def _severity(value: Any) -> str:
    text = str(value or "").upper()
    return text if text in SEVERITIES else "UNTRIAGED"


def _check_threshold(fail_on: str) -> str:
    level = fail_on.upper()
    if level not in SEVERITIES:
        raise ValueError(f"fail_on must be one of {', '.join(SEVERITIES)}, not {fail_on!r}")
    return level


def _judge(
    digest: str | None,
    counts: Counter[str],
    *,
    fail_on: str,
    block_untriaged: bool,
    reasons: list[str],
) -> Verdict:
    threshold = SEVERITIES.index(_check_threshold(fail_on))
    for severity in SEVERITIES[threshold:]:
        if counts.get(severity):
            reasons.append(f"{counts[severity]} open {severity} finding(s); fix or suppress them before promotion")
    if block_untriaged and counts.get("UNTRIAGED"):
        reasons.append(f"{counts['UNTRIAGED']} finding(s) not yet scored; promote once the scanner has triaged them")
    return Verdict(not reasons, digest, dict(counts), tuple(reasons))


def ecr_gate(
    findings: Mapping[str, Any],
    *,
    fail_on: str = DEFAULT_FAIL_ON,
    expected_digest: str | None = None,
    block_untriaged: bool = True,
    ignore: Collection[str] = (),
) -> Verdict:
    """The verdict on an ECR DescribeImageScanFindings response.

    Findings come from `imageScanFindings.enhancedFindings` (Inspector) when present, counting only ACTIVE ones
    (SUPPRESSED findings were dismissed by an Inspector suppression rule, CLOSED ones are fixed), else from basic
    `findings`, else from `findingSeverityCounts`.

    Args:
        findings: the parsed response (every page merged, as the AWS CLI does).
        fail_on: the lowest severity that holds the promotion (HIGH: HIGH and CRITICAL hold).
        expected_digest: the digest being promoted; a response about another image holds.
        block_untriaged: hold on findings without a score (UNDEFINED/UNTRIAGED).
        ignore: vulnerability IDs (CVE-...) accepted after review; they never hold.
    """
    digest = (findings.get("imageId") or {}).get("imageDigest")
    reasons: list[str] = []
    if expected_digest is not None and digest != expected_digest:
        reasons.append(f"the findings are about {digest or 'an unnamed image'}, not {expected_digest}")
    status = (findings.get("imageScanStatus") or {}).get("status")
    if status not in ECR_SCANNED:
        description = (findings.get("imageScanStatus") or {}).get("description")
        reasons.append(f"scan status is {status or 'missing'}" + (f": {description}" if description else ""))
        return Verdict(False, digest, {}, tuple(reasons), retry=status in ECR_RETRY and len(reasons) == 1)
    results = findings.get("imageScanFindings") or {}
    counts: Counter[str] = Counter()
    ignored = set(ignore)
    if results.get("enhancedFindings") is not None:
        for item in results["enhancedFindings"]:
            vulnerability = (item.get("packageVulnerabilityDetails") or {}).get("vulnerabilityId") or item.get("title")
            if item.get("status", "ACTIVE") == "ACTIVE" and vulnerability not in ignored:
                counts[_severity(item.get("severity"))] += 1
    elif results.get("findings") is not None:
        for item in results["findings"]:
            if item.get("name") not in ignored:
                counts[_severity(item.get("severity"))] += 1
    else:
        for severity, count in (results.get("findingSeverityCounts") or {}).items():
            counts[_severity(severity)] += int(count)
    return _judge(digest, counts, fail_on=fail_on, block_untriaged=block_untriaged, reasons=reasons)


def defender_query(digest: str) -> str:
    """The Resource Graph (KQL) query CI runs for one digest: Defender's ACR vulnerability sub-assessments.

    Raises:
        ValueError: when `digest` is not `sha256:<64 hex>` (it is interpolated into the query).
    """
    if not _DIGEST.match(digest):
        raise ValueError(f"{digest!r} is not an image digest (sha256:<64 hex digits>)")
    return (
        "securityresources"
        ' | where type =~ "microsoft.security/assessments/subassessments"'
        ' | where properties.additionalData.assessedResourceType == "AzureContainerRegistryVulnerability"'
        f' | where id contains "/providers/Microsoft.Security/assessments/{DEFENDER_ASSESSMENT}/"'
        f' | where tostring(properties.additionalData.artifactDetails.digest) == "{digest}"'
        " | project id, properties"
    )


def _rows(result: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    return result.get("data") or [] if isinstance(result, Mapping) else result


def defender_gate(
    result: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    digest: str,
    *,
    fail_on: str = DEFAULT_FAIL_ON,
    require_assessment: bool = True,
    block_untriaged: bool = True,
    ignore: Collection[str] = (),
) -> Verdict:
    """The verdict on the rows `defender_query(digest)` returned (`az graph query` output or its `data` list).

    Each Unhealthy row is one open vulnerability of the image; Healthy rows are resolved ones. Defender scans an
    image within hours of its push, and an image it found nothing in may have no row at all, so with
    `require_assessment` a digest with no row is held (retry) until the pipeline has waited out the scan window
    and passes `require_assessment=False`.

    Args:
        result: the query output.
        digest: the digest being promoted; rows about other digests are ignored.
        fail_on: the lowest severity that holds the promotion.
        require_assessment: hold a digest Defender has not reported on.
        block_untriaged: hold on findings without a severity.
        ignore: vulnerability IDs (CVE-...) accepted after review.
    """
    reasons: list[str] = []
    counts: Counter[str] = Counter()
    seen = False
    for row in _rows(result):
        properties = row.get("properties") or {}
        data = properties.get("additionalData") or {}
        if (data.get("artifactDetails") or {}).get("digest") != digest:
            continue
        seen = True
        status = properties.get("status") or {}
        if status.get("code") != "Unhealthy":
            continue
        details = data.get("vulnerabilityDetails") or {}
        if (details.get("cveId") or properties.get("id")) in set(ignore):
            continue
        counts[_severity(details.get("severity") or status.get("severity"))] += 1
    if not seen and require_assessment:
        reasons.append("Defender has not reported on this digest yet; retry after its scan (within hours of a push)")
        return Verdict(False, digest, {}, tuple(reasons), retry=True)
    return _judge(digest, counts, fail_on=fail_on, block_untriaged=block_untriaged, reasons=reasons)


def acr_lock_commands(registry: str, repository: str, digest: str, tag: str | None = None) -> list[list[str]]:
    """The `az acr repository update` calls that make a promoted ACR image immutable.

    ACR has no registry-wide immutable-tags setting at the API version the platform uses (2023-01-01-preview);
    locks are data-plane attributes of a manifest or tag (write-enabled false: no overwrite, no delete)
    (https://learn.microsoft.com/en-us/azure/container-registry/container-registry-image-lock). The pipeline runs
    these once the gate promotes, locking the digest and the release tag that names it.
    """
    if not _DIGEST.match(digest):
        raise ValueError(f"{digest!r} is not an image digest (sha256:<64 hex digits>)")
    images = [f"{repository}@{digest}", *([f"{repository}:{tag}"] if tag else [])]
    return [
        [*("az", "acr", "repository", "update", "--name", registry, "--image", image), *_LOCKED] for image in images
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m policies.image_gate {ecr,defender} FILE [--digest D] [--fail-on HIGH] ...`; exit 0 promotes."""
    parser = argparse.ArgumentParser(prog="python -m policies.image_gate", description=__doc__.splitlines()[0])
    parser.add_argument("scanner", choices=("ecr", "defender"))
    parser.add_argument("findings", help="the scanner's JSON output ('-' for stdin)")
    parser.add_argument("--digest", help="the digest being promoted (required for defender)")
    parser.add_argument("--fail-on", default=DEFAULT_FAIL_ON, choices=SEVERITIES, type=str.upper)
    parser.add_argument("--ignore", action="append", default=[], help="a reviewed vulnerability ID to accept")
    parser.add_argument("--allow-untriaged", action="store_true", help="do not hold on unscored findings")
    parser.add_argument("--allow-unassessed", action="store_true", help="defender: promote a digest with no rows")
    options = parser.parse_args(argv)
    text = sys.stdin.read() if options.findings == "-" else Path(options.findings).read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        parser.error(f"{options.findings} is not JSON: {error}")
    common = {"fail_on": options.fail_on, "block_untriaged": not options.allow_untriaged, "ignore": options.ignore}
    if options.scanner == "ecr":
        verdict = ecr_gate(document, expected_digest=options.digest, **common)
    else:
        if not options.digest:
            parser.error("defender needs --digest")
        verdict = defender_gate(document, options.digest, require_assessment=not options.allow_unassessed, **common)
    print(verdict.summary())
    return 0 if verdict.promote else 1


if __name__ == "__main__":
    sys.exit(main())
