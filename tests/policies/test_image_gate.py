"""The promotion gate: fixtures in the documented response shapes of ECR DescribeImageScanFindings (enhanced and
basic) and of Defender's Resource Graph sub-assessments; the gate holds what must not reach serving."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.image_gate import acr_lock_commands, defender_gate, defender_query, ecr_gate, main

FIXTURES = Path(__file__).parent / "fixtures" / "image_gate"
DIGEST = "sha256:4f1c2a0e8b7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6b5a4938271605f4e3d"


def _load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def test_an_open_high_inspector_finding_holds_the_promotion() -> None:
    verdict = ecr_gate(_load("ecr_enhanced_high.json"), expected_digest=DIGEST)
    assert not verdict.promote, "HIGH is at the default threshold"
    assert verdict.counts == {"HIGH": 1, "MEDIUM": 2}, (
        "only ACTIVE findings count: SUPPRESSED (reviewed) and CLOSED (fixed) ones do not"
    )
    assert verdict.reasons == ("1 open HIGH finding(s); fix or suppress them before promotion",)
    assert "HOLD" in verdict.summary() and DIGEST in verdict.summary()


@pytest.mark.parametrize(
    ("fail_on", "ignore", "promote"),
    [
        ("HIGH", (), False),
        ("CRITICAL", (), True),
        ("MEDIUM", ("CVE-2026-10001",), False),
        ("HIGH", ("CVE-2026-10001",), True),
        ("LOW", ("CVE-2026-10001", "CVE-2026-10002", "CVE-2026-10003"), True),
    ],
)
def test_the_threshold_and_reviewed_exceptions_decide(fail_on: str, ignore: tuple[str, ...], promote: bool) -> None:
    verdict = ecr_gate(_load("ecr_enhanced_high.json"), fail_on=fail_on, ignore=ignore)
    assert verdict.promote is promote, f"fail_on={fail_on} ignore={ignore}: {verdict.summary()}"


def test_an_image_not_yet_scanned_is_held_for_a_retry() -> None:
    verdict = ecr_gate(_load("ecr_in_progress.json"), expected_digest=DIGEST)
    assert not verdict.promote and verdict.retry, "fail closed until Inspector has scanned the push"
    assert "PENDING" in verdict.reasons[0]


@pytest.mark.parametrize("status", ["FAILED", "UNSUPPORTED_IMAGE", "FINDINGS_UNAVAILABLE", "SCAN_ELIGIBILITY_EXPIRED"])
def test_a_scan_without_trustworthy_findings_holds_without_retry(status: str) -> None:
    document = _load("ecr_in_progress.json")
    document["imageScanStatus"] = {"status": status}
    verdict = ecr_gate(document)
    assert not verdict.promote and not verdict.retry, f"{status}: waiting will not produce findings"


def test_findings_about_another_digest_never_promote() -> None:
    verdict = ecr_gate(_load("ecr_enhanced_high.json"), fail_on="CRITICAL", expected_digest="sha256:" + "1" * 64)
    assert not verdict.promote, "the gate judges the digest being promoted, not whatever was queried"
    assert "not sha256:111" in verdict.reasons[0]


def test_basic_severity_counts_and_untriaged_findings() -> None:
    document = _load("ecr_basic_counts.json")
    held = ecr_gate(document)
    assert held.counts == {"MEDIUM": 3, "LOW": 7, "INFORMATIONAL": 2, "UNTRIAGED": 1}
    assert not held.promote and "not yet scored" in held.reasons[0], "an unscored CVE may be critical"
    assert ecr_gate(document, block_untriaged=False).promote, "nothing HIGH once untriaged findings are accepted"


def test_defender_counts_only_unhealthy_rows_of_the_digest() -> None:
    verdict = defender_gate(_load("defender_high.json"), DIGEST)
    assert verdict.counts == {"HIGH": 1, "MEDIUM": 1}, (
        "Healthy rows are resolved and the Critical row belongs to another digest"
    )
    assert not verdict.promote
    assert defender_gate(_load("defender_high.json"), DIGEST, ignore=("CVE-2026-10001",)).promote
    assert defender_gate(_load("defender_high.json")["data"], DIGEST, fail_on="CRITICAL").promote, (
        "the bare `data` list is accepted too"
    )


def test_a_digest_defender_has_not_reported_on_is_held_unless_the_scan_window_passed() -> None:
    rows = _load("defender_other_digest_only.json")
    held = defender_gate(rows, DIGEST)
    assert not held.promote and held.retry, "no row: not scanned yet, or clean; fail closed by default"
    assert defender_gate(rows, DIGEST, require_assessment=False).promote


def test_the_defender_query_selects_the_acr_vulnerability_sub_assessments_of_one_digest() -> None:
    query = defender_query(DIGEST)
    assert query.startswith("securityresources")
    assert '"microsoft.security/assessments/subassessments"' in query
    assert "c0b7cfc6-3172-465a-b378-53c7ff2cc0d5" in query, "the MDVM registry vulnerability assessment"
    assert f'artifactDetails.digest) == "{DIGEST}"' in query
    with pytest.raises(ValueError, match="not an image digest"):
        defender_query('sha256:x" | project secrets')


def test_acr_locks_make_the_promoted_digest_and_tag_immutable() -> None:
    commands = acr_lock_commands("mlplatformprod", "models", DIGEST, tag="fraud-2026.12.1")
    assert [command[command.index("--image") + 1] for command in commands] == [
        f"models@{DIGEST}",
        "models:fraud-2026.12.1",
    ]
    for command in commands:
        assert command[:4] == ["az", "acr", "repository", "update"]
        assert command[-4:] == ["--write-enabled", "false", "--delete-enabled", "false"], "no overwrite, no delete"


def test_the_cli_exit_status_is_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ecr", str(FIXTURES / "ecr_enhanced_high.json"), "--digest", DIGEST]) == 1
    assert capsys.readouterr().out.startswith(f"HOLD {DIGEST}")
    assert main(["ecr", str(FIXTURES / "ecr_enhanced_high.json"), "--fail-on", "critical"]) == 0
    assert main(["defender", str(FIXTURES / "defender_high.json"), "--digest", DIGEST, "--fail-on", "CRITICAL"]) == 0
    with pytest.raises(SystemExit) as usage:
        main(["defender", str(FIXTURES / "defender_high.json")])
    assert usage.value.code == 2, "defender needs the digest"
