"""`python -m stacks preflight`: what must exist before the first `pulumi up`, checked with read-only CLI calls.

The cloud CLIs are never run here: a fake runner answers with documents shaped like the real `--output json`.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks import __main__ as cli
from stacks.config import PlatformConfig
from stacks.load import FULL_KEY, validate_platform_config
from stacks.preflight import (
    NOT_INSTALLED,
    CommandResult,
    Identity,
    Item,
    PreflightError,
    SubprocessRunner,
    build_checklist,
    is_read_only,
    render_text,
    run_preflight,
)
from stacks.synth import PROJECT_ROOT, stack_names

ACCOUNT = "210987654321"
SUBSCRIPTION = "5f1c9d2e-7a3b-4c8d-9e0f-1a2b3c4d5e6f"


def shipped(stack: str) -> dict[str, Any]:
    """The `mlplatform:platform` value of a shipped stack file."""
    return yaml.safe_load((PROJECT_ROOT / f"Pulumi.{stack}.yaml").read_text())["config"][FULL_KEY]


def real(stack: str) -> dict[str, Any]:
    """A shipped stack with its documentation examples replaced by plausible real values."""
    text = json.dumps(shipped(stack))
    replacements = {
        "123456789012": ACCOUNT,
        "tgw-0123456789abcdef0": "tgw-0a1b2c3d4e5f60718",
        # A public endpoint sees public sources only: the VPN egress is a public address.
        "203.0.113.10/32": "81.2.69.160/28",
        "00000000-0000-0000-0000-000000000000": SUBSCRIPTION,
        "22222222-2222-2222-2222-222222222222": "8d2f0c1e-3b4a-4c5d-8e6f-7a8b9c0d1e2f",
        "33333333-3333-3333-3333-333333333333": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "44444444-4444-4444-4444-444444444444": "9e8d7c6b-5a4f-4e3d-2c1b-0a9f8e7d6c5b",
    }
    for example, value in replacements.items():
        text = text.replace(example, value)
    return json.loads(text)


def config_of(data: dict[str, Any]) -> PlatformConfig:
    return validate_platform_config(data)


def ok(document: Any) -> CommandResult:
    return CommandResult(0, json.dumps(document), "")


def error(message: str, code: int = 254) -> CommandResult:
    return CommandResult(code, "", message)


class FakeCloud:
    """Answers commands by the words they contain; records every call; refuses anything not read-only."""

    def __init__(self) -> None:
        self.answers: list[tuple[tuple[str, ...], CommandResult]] = []
        self.calls: list[tuple[str, ...]] = []

    def answer(self, *words: str, result: CommandResult) -> FakeCloud:
        self.answers.insert(0, (words, result))  # later answers win
        return self

    def __call__(self, command: Sequence[str]) -> CommandResult:
        assert is_read_only(command), f"preflight ran a command that is not read-only: {command}"
        self.calls.append(tuple(command))
        for words, result in self.answers:
            if all(word in command for word in words):
                return result
        return error(f"no fake answer for {' '.join(command)}")


def aws_cloud(**quotas: float) -> FakeCloud:
    """An AWS account signed in as a CI role, with the given quota values by code (default: plenty)."""
    cloud = FakeCloud()
    cloud.answer(
        "sts",
        "get-caller-identity",
        result=ok({"Account": ACCOUNT, "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/run"}),
    )
    cloud.answer("get-service-quota", result=ok({"Quota": {"Value": 1000.0}}))
    for code, value in quotas.items():
        cloud.answer("get-service-quota", code.replace("_", "-"), result=ok({"Quota": {"Value": value}}))
    cloud.answer("describe-instance-type-offerings", result=ok({"InstanceTypeOfferings": offerings(
        {"g5.xlarge", "g5.2xlarge", "p5.48xlarge"}, ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-central-1a", "eu-central-1b"]
    )}))  # fmt: skip
    cloud.answer("describe-instances", result=ok({"Reservations": []}))
    cloud.answer(
        "describe-instance-types",
        result=ok(
            {
                "InstanceTypes": [
                    {"InstanceType": "m6i.xlarge", "VCpuInfo": {"DefaultVCpus": 4}},
                    {"InstanceType": "m6i.2xlarge", "VCpuInfo": {"DefaultVCpus": 8}},
                ]
            }
        ),
    )
    cloud.answer("iam", "get-role", result=ok({"Role": {"RoleName": "any"}}))
    cloud.answer("describe-addresses", result=ok({"Addresses": []}))
    cloud.answer("aws", "--version", result=CommandResult(0, "aws-cli/2.17.0 Python/3.12.6 Linux/6.1 exe/x86_64\n"))
    return cloud


def offerings(types: set[str], zones: list[str]) -> list[dict[str, str]]:
    return [
        {"InstanceType": t, "LocationType": "availability-zone", "Location": z} for t in sorted(types) for z in zones
    ]


def by_key(items: list[Item]) -> dict[str, Item]:
    return {item.key: item for item in items}


# --- Never mutating --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stack_names(PROJECT_ROOT))
def test_every_command_preflight_would_run_for_a_shipped_stack_is_read_only(stack: str) -> None:
    config = config_of(shipped(stack))
    identity = Identity("aws", account=ACCOUNT, principal="arn:aws:sts::x") if config.cloud == "aws" else None
    for item in build_checklist(config, identity):
        for command in item.commands:
            assert is_read_only(command), f"{item.key} would run {command}; preflight only reads"


@pytest.mark.parametrize(
    "command",
    [
        ["aws", "iam", "create-service-linked-role", "--aws-service-name", "autoscaling.amazonaws.com"],
        ["aws", "service-quotas", "request-service-quota-increase", "--quota-code", "L-DB2E81BA"],
        ["az", "feature", "register", "--namespace", "Microsoft.Compute", "--name", "EncryptionAtHost"],
        ["az", "provider", "register", "--namespace", "Microsoft.KeyVault"],
        ["az", "role", "assignment", "create", "--role", "Owner"],
        ["pulumi", "up", "--yes"],
        ["aws", "--region", "eu-west-1", "iam", "get-role"],
        ["az", "--subscription", "x", "vm", "list"],
        ["sh", "-c", "aws --version"],
    ],
)
def test_the_subprocess_runner_refuses_every_command_that_could_write(command: list[str]) -> None:
    with pytest.raises(PreflightError, match="not read-only"):
        SubprocessRunner()(command)


@pytest.mark.parametrize(
    "command",
    [
        ["aws", "service-quotas", "get-service-quota", "--service-code", "ec2", "--quota-code", "L-DB2E81BA"],
        ["aws", "ec2", "describe-addresses", "--region", "eu-west-1"],
        ["az", "vm", "list-skus", "--location", "westeurope"],
        ["az", "role", "assignment", "list", "--assignee", "x"],
        ["kubelogin", "--version"],
    ],
)
def test_reads_are_recognised_as_read_only(command: list[str]) -> None:
    assert is_read_only(command)


def test_a_missing_cli_is_an_answer_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("stacks.preflight.shutil.which", lambda name: None)
    result = SubprocessRunner()(["kubelogin", "--version"])
    assert result.returncode == NOT_INSTALLED and "not found" in result.stderr


# --- AWS ----------------------------------------------------------------------------------------------


def aws_prod(**changes: Any) -> PlatformConfig:
    data = real("prod")
    for key, value in changes.items():
        data[key] = value
    return config_of(data)


def test_aws_an_on_demand_g_quota_of_zero_fails_because_the_serving_pool_starts_with_one_node() -> None:
    report = run_preflight(aws_prod(), "prod", aws_cloud(L_DB2E81BA=0))
    item = by_key(report.items)["aws.quota.L-DB2E81BA"]
    assert item.status == "failed", item.detail
    assert "0 vCPUs < 8 vCPUs" in item.detail and "`pulumi up` fails" in item.detail, (
        "a10g-serving starts 1 × g5.2xlarge (8 vCPUs): the node group would end CREATE_FAILED (review B5)"
    )
    assert report.exit_code == 1


def test_aws_a_quota_between_min_and_max_fails_naming_the_scale_up_limit() -> None:
    item = by_key(run_preflight(aws_prod(), "prod", aws_cloud(L_DB2E81BA=32)).items)["aws.quota.L-DB2E81BA"]
    assert item.status == "failed" and "64 vCPUs at maxSize" in item.detail, item.detail


def test_aws_a_quota_covering_max_size_passes() -> None:
    report = run_preflight(aws_prod(), "prod", aws_cloud(L_DB2E81BA=64, L_417A185B=384))
    items = by_key(report.items)
    assert items["aws.quota.L-DB2E81BA"].status == "ok", items["aws.quota.L-DB2E81BA"].detail
    assert items["aws.quota.L-417A185B"].status == "ok", "2 × p5.48xlarge = 384 vCPUs of the P quota"


def test_aws_vcpus_already_running_in_the_class_count_against_the_quota_spot_ones_only_against_spot() -> None:
    running = {
        "Reservations": [
            {"Instances": [{"InstanceType": "g5.4xlarge", "CpuOptions": {"CoreCount": 8, "ThreadsPerCore": 2}}]},
            {"Instances": [{"InstanceType": "g5.xlarge", "InstanceLifecycle": "spot",
                            "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2}}]},
        ]
    }  # fmt: skip
    cloud = aws_cloud(L_DB2E81BA=72).answer("describe-instances", result=ok(running))
    item = by_key(run_preflight(aws_prod(), "prod", cloud).items)["aws.quota.L-DB2E81BA"]
    assert item.status == "failed", "72 − 16 on-demand vCPUs in use = 56 < 64 at maxSize; the spot g5 does not count"
    assert "72 − 16 in use = 56 vCPUs" in item.detail, item.detail


def test_aws_a_fresh_account_s_standard_quota_of_5_vcpus_cannot_start_a_platform_node_per_zone() -> None:
    item = by_key(run_preflight(aws_prod(), "prod", aws_cloud(L_1216C47A=5)).items)["aws.quota.L-1216C47A"]
    assert item.status == "failed" and "< 24 vCPUs the pools start with" in item.detail, (
        f"3 zones × 1 m6i.2xlarge (8 vCPUs, read with describe-instance-types; the prod preset); got {item.detail}"
    )
    assert "platform: 3..9 × m6i.2xlarge" in item.detail, "minSizePerZone and maxSizePerZone times the zones"
    assert item.config_path == "mlplatform:platform.cluster.platformPool"


def test_aws_only_on_demand_standard_instances_count_against_the_standard_quota() -> None:
    running = {
        "Reservations": [
            {"Instances": [
                {"InstanceType": "m5.large", "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2}},
                {"InstanceType": "c6i.xlarge", "InstanceLifecycle": "spot", "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2}},
                {"InstanceType": "g5.xlarge", "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2}},
                {"InstanceType": "inf2.xlarge", "CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2}},
            ]}
        ]
    }  # fmt: skip
    cloud = aws_cloud(L_1216C47A=74).answer("describe-instances", result=ok(running))
    item = by_key(run_preflight(aws_prod(), "prod", cloud).items)["aws.quota.L-1216C47A"]
    assert item.status == "ok" and "74 − 2 in use = 72 vCPUs" in item.detail, item.detail


def test_aws_pools_that_share_a_quota_are_summed() -> None:
    data = real("prod")
    data["cluster"]["gpuPools"].append({"name": "l4", "instanceTypes": ["g6.xlarge", "g6.4xlarge"], "maxSize": 3})
    items = by_key(run_preflight(config_of(data), "prod", aws_cloud(L_DB2E81BA=112)).items)
    assert items["aws.quota.L-DB2E81BA"].status == "ok"
    assert "a10g-serving" in items["aws.quota.L-DB2E81BA"].title and "l4" in items["aws.quota.L-DB2E81BA"].title
    items = by_key(run_preflight(config_of(data), "prod", aws_cloud(L_DB2E81BA=111)).items)
    assert items["aws.quota.L-DB2E81BA"].status == "failed", "8 × 8 + 3 × 16 = 112 vCPUs at maxSize"


def test_aws_spot_pools_are_compared_with_the_spot_quota() -> None:
    config = config_of(real("dev"))
    items = by_key(run_preflight(config, "dev", aws_cloud(L_3819A6DF=0)).items)
    assert "aws.quota.L-DB2E81BA" not in items, "dev's pool is spot (preset)"
    assert items["aws.quota.L-3819A6DF"].status == "failed", "4 × g5.2xlarge = 32 spot vCPUs at maxSize"


def test_aws_a_zone_that_offers_none_of_the_pool_s_types_fails_naming_the_zone() -> None:
    cloud = aws_cloud()
    cloud.answer(
        "describe-instance-type-offerings",
        "Name=instance-type,Values=p5.48xlarge",
        result=ok({"InstanceTypeOfferings": offerings({"p5.48xlarge"}, ["eu-west-1b", "eu-west-1c"])}),
    )
    item = by_key(run_preflight(aws_prod(), "prod", cloud).items)["aws.offerings.h100-training"]
    # prod's H100 pool is in eu-west-1a only (EFA: one cluster placement group, one zone).
    assert item.status == "failed" and "eu-west-1a" in item.detail, item.detail
    assert item.config_path == "mlplatform:platform.cluster.gpuPools[1]"


def test_aws_the_autoscaling_service_linked_role_must_exist_unless_the_stack_creates_it() -> None:
    cloud = aws_cloud().answer(
        "get-role",
        "AWSServiceRoleForAutoScaling",
        result=error("An error occurred (NoSuchEntity) when calling the GetRole operation: cannot be found"),
    )
    item = by_key(run_preflight(aws_prod(), "prod", cloud).items)["aws.iam.autoscaling-service-linked-role"]
    assert item.status == "failed", "KMS rejects the cluster key policy naming a missing role (review B3)"
    assert "create-service-linked-role" in item.fix and "createServiceLinkedRoles" in item.fix

    data = real("prod")
    data["deployment"]["createServiceLinkedRoles"] = True
    item = by_key(run_preflight(config_of(data), "prod", cloud).items)["aws.iam.autoscaling-service-linked-role"]
    assert item.status == "ok" and not item.commands, "the stack creates the role; creating it twice would fail"


def test_aws_a_spot_pool_needs_the_ec2_spot_service_linked_role_karpenter_cannot_create() -> None:
    cloud = aws_cloud().answer(
        "get-role",
        "AWSServiceRoleForEC2Spot",
        result=error("An error occurred (NoSuchEntity) when calling the GetRole operation: cannot be found"),
    )
    item = by_key(run_preflight(config_of(real("dev")), "dev", cloud).items)["aws.iam.spot-service-linked-role"]
    assert item.status == "failed", "dev's spot pool: every Karpenter launch would fail without the role"
    assert "spot.amazonaws.com" in item.fix and item.config_path.endswith("cluster.gpuPools[0].capacityType")
    assert "aws.iam.spot-service-linked-role" not in by_key(run_preflight(aws_prod(), "prod", cloud).items), (
        "prod's pools are on demand: no spot, no role to check"
    )


def test_aws_access_denied_is_not_checked_rather_than_failed() -> None:
    cloud = aws_cloud().answer("get-role", result=error("An error occurred (AccessDenied) when calling GetRole"))
    item = by_key(run_preflight(aws_prod(), "prod", cloud).items)["aws.iam.autoscaling-service-linked-role"]
    assert item.status == "not-checked" and "AccessDenied" in item.detail


def test_aws_principals_of_the_caller_s_account_are_read_others_are_manual() -> None:
    data = real("prod")
    data["cluster"]["adminPrincipals"].append("arn:aws:iam::998877665544:role/org-admins")
    cloud = aws_cloud().answer(
        "get-role", "ml-recsys", result=error("An error occurred (NoSuchEntity) when calling the GetRole operation")
    )
    items = by_key(run_preflight(config_of(data), "prod", cloud).items)
    assert items["aws.principal.cluster.adminPrincipals[0]"].status == "ok"
    assert items["aws.principal.serving.namespaces[1].teamPrincipals[0]"].status == "failed", (
        "EKS rejects an access entry for a role that does not exist (review B2)"
    )
    other = items["aws.principal.cluster.adminPrincipals[1]"]
    assert other.status == "manual" and "998877665544" in other.detail
    assert ("aws", "iam", "get-role", "--role-name", "org-admins", "--output", "json") not in cloud.calls


def test_aws_example_principals_fail_naming_the_stack_key_and_are_not_looked_up() -> None:
    cloud = aws_cloud()
    report = run_preflight(config_of(shipped("prod")), "prod", cloud)
    items = by_key(report.items)
    placeholder = items["placeholder.cluster.adminPrincipals[0]"]
    assert placeholder.status == "failed"
    assert placeholder.config_path == "mlplatform:platform.cluster.adminPrincipals[0]"
    assert "123456789012" in placeholder.detail
    assert "placeholder.deployment.deployer.network.transitGatewayId" in items
    assert "aws.principal.cluster.adminPrincipals[0]" not in items
    assert not any("platform-admins" in command for command in cloud.calls)


def test_aws_free_elastic_ips_must_cover_one_nat_gateway_per_zone() -> None:
    cloud = aws_cloud(L_0263D0A3=5).answer("describe-addresses", result=ok({"Addresses": [{}, {}, {}]}))
    item = by_key(run_preflight(aws_prod(), "prod", cloud).items)["aws.quota.elastic-ips"]
    assert item.status == "failed" and "3 NAT gateway(s) need 3" in item.detail, item.detail
    data = real("prod")
    data["network"] = {"natGateways": "single"}
    data["environment"] = "staging"
    item = by_key(run_preflight(config_of(data), "prod", cloud).items)["aws.quota.elastic-ips"]
    assert item.status == "ok", item.detail


@pytest.mark.parametrize(
    ("version", "status"),
    [
        (CommandResult(0, "aws-cli/2.17.0 Python/3.12.6 Linux/6.1\n"), "ok"),
        (CommandResult(0, "aws-cli/1.45.11 Python/3.11.7 Linux/6.18 botocore/1.43.11\n"), "failed"),
        (CommandResult(NOT_INSTALLED, "", "aws: command not found"), "failed"),
    ],
)
def test_aws_the_kubernetes_layer_in_this_stack_needs_aws_cli_v2(version: CommandResult, status: str) -> None:
    cloud = aws_cloud().answer("aws", "--version", result=version)
    item = by_key(run_preflight(config_of(real("dev")), "dev", cloud).items)["tool.aws-cli-v2"]
    assert item.status == status, item.detail


def test_aws_a_foundation_without_the_kubernetes_layer_does_not_need_the_cli_itself() -> None:
    assert "tool.aws-cli-v2" not in by_key(build_checklist(aws_prod())), "prod-cluster's runner needs it instead"


def test_without_credentials_cloud_items_are_not_checked_and_do_not_fail() -> None:
    cloud = aws_cloud().answer("sts", result=error("Unable to locate credentials. You can configure credentials"))
    report = run_preflight(config_of(real("dev")), "dev", cloud)
    assert report.exit_code == 0, [(i.key, i.status, i.detail) for i in report.items if i.status == "failed"]
    assert "no credentials" in report.note
    items = by_key(report.items)
    assert items["aws.quota.L-3819A6DF"].status == "not-checked"
    assert items["tool.aws-cli-v2"].status == "ok", "a local tool is checked even without credentials"
    assert all(call[:2] in (("aws", "sts"), ("aws", "--version")) for call in cloud.calls), cloud.calls


def test_offline_runs_nothing_and_prints_every_command() -> None:
    cloud = aws_cloud()
    report = run_preflight(aws_prod(), "prod", cloud, offline=True)
    assert cloud.calls == [], "--offline never runs a CLI"
    assert report.exit_code == 0 and {item.status for item in report.items} == {"not-checked"}
    out = io.StringIO()
    render_text(report, out)
    text = out.getvalue()
    assert "? EC2 quota 'Running On-Demand P instances' (L-417A185B)" in text
    assert "not checked: offline" in text
    assert "run: aws service-quotas get-service-quota --service-code ec2 --quota-code L-417A185B" in text
    assert "run: aws ec2 describe-instance-type-offerings --location-type availability-zone" in text


# --- Azure --------------------------------------------------------------------------------------------


def sku(name: str, family: str, zones: list[str], **capabilities: str) -> dict[str, Any]:
    return {
        "name": name,
        "family": family,
        "resourceType": "virtualMachines",
        "locationInfo": [{"location": "westeurope", "zones": zones}],
        "restrictions": [],
        "capabilities": [
            {"name": k, "value": v} for k, v in {"EncryptionAtHostSupported": "True", **capabilities}.items()
        ],
    }


def usage(value: str, limit: int, current: int = 0, localized: str = "") -> dict[str, Any]:
    return {"currentValue": current, "limit": limit, "name": {"value": value, "localizedValue": localized or value}}


def azure_cloud(t4_limit: int = 100, spot_limit: int = 100, ddsv5_limit: int = 100) -> FakeCloud:
    cloud = FakeCloud()
    cloud.answer("account", "show", result=ok({"id": SUBSCRIPTION, "user": {"name": "ci@example.org", "type": "user"}}))
    for size in ("Standard_D4ds_v5", "Standard_D8ds_v5"):  # the system and the prod platform pool
        cloud.answer("list-skus", size, result=ok([sku(size, "standardDDSv5Family", ["1", "2", "3"])]))
    cloud.answer("list-skus", "Standard_NC4as_T4_v3", result=ok([
        sku("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", ["1", "2", "3"], LowPriorityCapable="True"),
        sku("Standard_NC4as_T4_v3_Promo", "standardNCASv3_T4Family", ["1"]),
    ]))  # fmt: skip
    cloud.answer("list-skus", "Standard_NC24ads_A100_v4", result=ok([
        sku("Standard_NC24ads_A100_v4", "StandardNCADSA100v4Family", ["1", "2", "3"])
    ]))  # fmt: skip
    cloud.answer("list-usage", result=ok([
        usage("cores", 350, 10, "Total Regional vCPUs"),
        usage("lowPriorityCores", spot_limit, 0, "Total Regional Spot vCPUs"),
        usage("standardDDSv5Family", ddsv5_limit, 0, "Standard DDSv5 Family vCPUs"),
        usage("standardNCASv3_T4Family", t4_limit, 0, "Standard NCASv3_T4 Family vCPUs"),
        usage("StandardNCADSA100v4Family", 48, 0, "Standard NCADS_A100_v4 Family vCPUs"),
    ]))  # fmt: skip
    cloud.answer("feature", "show", result=ok({"properties": {"state": "Registered"}}))
    cloud.answer("provider", "show", result=ok({"registrationState": "Registered"}))
    cloud.answer("role", "assignment", "list", result=ok([{"roleDefinitionName": "Owner", "condition": None}]))
    cloud.answer("ad", "group", "show", result=ok({"displayName": "platform-admins"}))
    cloud.answer("ad", "sp", "show", result=ok({"displayName": "runners-hub-identity"}))
    cloud.answer("kubelogin", "--version", result=CommandResult(0, "kubelogin version\ngit hash: v0.2.10/abc\n"))
    return cloud


def azure_prod() -> PlatformConfig:
    return config_of(real("azure-prod"))


def test_azure_a_t4_family_quota_of_zero_fails_because_t4serve_starts_with_one_node() -> None:
    report = run_preflight(azure_prod(), "azure-prod", azure_cloud(t4_limit=0))
    item = by_key(report.items)["azure.quota.Standard_NC4as_T4_v3"]
    assert item.status == "failed" and "< 4 vCPUs the pools start with" in item.detail, (
        f"review Azure B4: the AgentPool PUT fails on quota; got {item.detail}"
    )
    assert "Standard NCASv3_T4 Family vCPUs" in item.detail, "the family is matched from list-skus to list-usage"


def test_azure_the_platform_pool_shares_the_ddsv5_family_quota_with_the_system_pool() -> None:
    report = run_preflight(azure_prod(), "azure-prod", azure_cloud(ddsv5_limit=30))
    (item,) = [item for item in report.items if item.key.startswith("azure.quota.Standard_D")]
    assert item.status == "failed" and "< 32 vCPUs the pools start with" in item.detail, (
        f"2 system × 4 + 3 platform (one per zone) × 8 vCPUs; got {item.detail}"
    )
    assert "platform: 3..9 × Standard_D8ds_v5" in item.detail, item.detail


def test_azure_every_check_passes_on_a_prepared_subscription_and_list_usage_runs_once() -> None:
    cloud = azure_cloud()
    report = run_preflight(azure_prod(), "azure-prod", cloud)
    assert report.exit_code == 0, [(i.key, i.detail) for i in report.items if i.status == "failed"]
    assert all(item.status == "ok" for item in report.items), [(i.key, i.status, i.detail) for i in report.items]
    assert sum(1 for call in cloud.calls if "list-usage" in call) == 1, "items share the usage list"


def test_azure_spot_pools_draw_on_the_regional_spot_quota() -> None:
    data = real("azure-prod")
    data["cluster"]["gpuPools"][0]["capacityType"] = "spot"
    items = by_key(run_preflight(config_of(data), "azure-prod", azure_cloud(spot_limit=8)).items)
    assert "azure.quota.Standard_NC4as_T4_v3" not in items, "spot VMs do not count against the family quota"
    assert items["azure.quota.spot"].status == "failed", "6 × 4 spot vCPUs at maxSize > 8"


def test_azure_a_size_restricted_in_a_zone_or_without_host_encryption_fails() -> None:
    restricted = sku("Standard_NC24ads_A100_v4", "StandardNCADSA100v4Family", ["1", "2", "3"])
    restricted["restrictions"] = [
        {"type": "Zone", "reasonCode": "NotAvailableForSubscription",
         "restrictionInfo": {"locations": ["westeurope"], "zones": ["3"]}}
    ]  # fmt: skip
    restricted["capabilities"] = [{"name": "EncryptionAtHostSupported", "value": "False"}]
    cloud = azure_cloud().answer("list-skus", "Standard_NC24ads_A100_v4", result=ok([restricted]))
    item = by_key(run_preflight(azure_prod(), "azure-prod", cloud).items)["azure.sku.a100train"]
    assert item.status == "failed"
    assert "zone(s) 3" in item.detail and "encryption at host" in item.detail, item.detail


def test_azure_a_size_restricted_for_the_whole_location_fails() -> None:
    restricted = sku("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", ["1", "2", "3"])
    restricted["restrictions"] = [
        {
            "type": "Location",
            "reasonCode": "NotAvailableForSubscription",
            "restrictionInfo": {"locations": ["westeurope"]},
        }
    ]
    cloud = azure_cloud().answer("list-skus", "Standard_NC4as_T4_v3", result=ok([restricted]))
    item = by_key(run_preflight(azure_prod(), "azure-prod", cloud).items)["azure.sku.t4serve"]
    assert item.status == "failed" and "NotAvailableForSubscription" in item.detail


def test_azure_encryption_at_host_feature_and_providers_must_be_registered() -> None:
    cloud = azure_cloud()
    cloud.answer("feature", "show", result=ok({"properties": {"state": "Registering"}}))
    cloud.answer("provider", "show", "Microsoft.ContainerService", result=ok({"registrationState": "NotRegistered"}))
    items = by_key(run_preflight(azure_prod(), "azure-prod", cloud).items)
    assert items["azure.feature.encryption-at-host"].status == "failed", "review minor 19"
    assert (
        "az feature register --namespace Microsoft.Compute --name EncryptionAtHost"
        in items["azure.feature.encryption-at-host"].fix
    )
    assert items["azure.provider.Microsoft.ContainerService"].status == "failed"
    assert items["azure.provider.Microsoft.KeyVault"].status == "ok"


def test_azure_the_tracking_database_and_defender_providers_are_checked_where_the_stack_uses_them() -> None:
    items = by_key(run_preflight(azure_prod(), "azure-prod", azure_cloud()).items)
    assert "azure.provider.Microsoft.DBforPostgreSQL" in items, "azure-prod has a tracking database"
    assert "azure.provider.Microsoft.Security" in items, "and sets the Defender for Containers plan"


@pytest.mark.parametrize(
    ("assignments", "status"),
    [
        ([{"roleDefinitionName": "Contributor"}], "failed"),
        ([{"roleDefinitionName": "Contributor"}, {"roleDefinitionName": "User Access Administrator"}], "ok"),
        ([{"roleDefinitionName": "User Access Administrator", "condition": "@Request[...]"}], "manual"),
        # Role assignments only: the AKS policy assignment and prod's database delete lock would be refused.
        ([{"roleDefinitionName": "Role Based Access Control Administrator"}], "failed"),
    ],
)
def test_azure_the_deployer_must_be_able_to_create_role_assignments(assignments: list[Any], status: str) -> None:
    cloud = azure_cloud().answer("role", "assignment", "list", result=ok(assignments))
    item = by_key(run_preflight(azure_prod(), "azure-prod", cloud).items)["azure.rbac.deployer"]
    assert item.status == status, item.detail
    if assignments == [{"roleDefinitionName": "Role Based Access Control Administrator"}]:
        assert "policyAssignments/write" in item.detail and "locks/write" in item.detail, item.detail
    call = next(call for call in cloud.calls if "assignment" in call)
    assert "ci@example.org" in call, "the foundation's role assignments are made by whoever runs its pulumi up"
    assert f"/subscriptions/{SUBSCRIPTION}" in call


def test_azure_a_group_missing_from_the_tenant_fails_before_its_role_assignment_would() -> None:
    missing = "Resource '1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d' does not exist or one of its queried reference-property objects are not present."
    cloud = azure_cloud().answer("ad", "group", "show", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", result=error(missing))
    items = by_key(run_preflight(azure_prod(), "azure-prod", cloud).items)
    assert items["azure.principal.serving.namespaces[0].teamGroup"].status == "failed"
    assert items["azure.principal.cluster.adminPrincipals[0]"].status == "ok"
    assert items["azure.principal.deployment.deployer.principal"].commands[0][:4] == ("az", "ad", "sp", "show"), (
        "the deployer is a service principal (principalType default)"
    )


def test_azure_example_guids_fail_naming_their_stack_keys() -> None:
    report = run_preflight(config_of(shipped("azure-prod")), "azure-prod", azure_cloud(), offline=True)
    failed = {item.config_path for item in report.items if item.status == "failed"}
    assert {
        "mlplatform:platform.cluster.adminPrincipals[0]",
        "mlplatform:platform.deployment.deployer.principal",
        "mlplatform:platform.serving.namespaces[0].teamGroup",
        "mlplatform:platform.deployment.deployer.network.virtualNetworkIds[0]",
    } <= failed
    assert report.exit_code == 1


# --- Existing clusters and cluster-layer stacks -------------------------------------------------------


def test_an_existing_cluster_has_nothing_cloud_side_to_check() -> None:
    cloud = FakeCloud()
    report = run_preflight(config_of(shipped("local")), "local", cloud)
    assert report.items == [] and report.exit_code == 0 and cloud.calls == []
    out = io.StringIO()
    render_text(report, out)
    assert "Nothing cloud-side to check" in out.getvalue()


@pytest.mark.parametrize(
    ("stack", "tool"), [("prod-cluster", "tool.aws-cli-v2"), ("azure-prod-cluster", "tool.kubelogin")]
)
def test_a_cluster_layer_stack_needs_its_foundation_deployed_and_the_tool_its_kubeconfig_runs(
    stack: str, tool: str
) -> None:
    foundation = shipped(stack)["target"]["foundation"]["stack"]
    cloud = azure_cloud() if "azure" in stack else aws_cloud()
    cloud.answer("pulumi", "stack", "output", result=ok({"kubeconfig": "[secret]", "clusterName": "c"}))
    items = by_key(run_preflight(config_of(shipped(stack)), stack, cloud).items)
    assert items["foundation.outputs"].status == "ok"
    assert ("pulumi", "stack", "output", "--stack", foundation, "--json") in cloud.calls
    assert items[tool].status == "ok"
    assert items["foundation.network"].status == "manual", "preflight cannot see where it runs"
    assert not any(call[:2] in (("aws", "sts"), ("az", "account")) for call in cloud.calls), "no cloud calls"


def test_a_cluster_layer_stack_whose_foundation_exports_nothing_fails() -> None:
    cloud = aws_cloud().answer("pulumi", "stack", "output", result=ok({}))
    item = by_key(run_preflight(config_of(shipped("prod-cluster")), "prod-cluster", cloud).items)["foundation.outputs"]
    assert item.status == "failed" and "deploy it first" in item.detail


# --- The CLI ------------------------------------------------------------------------------------------


def test_the_cli_writes_the_json_checklist_and_exits_1_on_example_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "preflight.json"
    assert cli.main(["preflight", "prod", "--offline", "--json", str(path)]) == 1
    document = json.loads(path.read_text())
    assert set(document) >= {"stack", "cloud", "location", "offline", "identity", "summary", "exitCode", "items"}
    assert document["exitCode"] == 1 and document["summary"]["failed"] >= 1
    item = next(item for item in document["items"] if item["key"] == "aws.quota.L-417A185B")
    assert set(item) == {"key", "status", "title", "why", "docUrl", "commands", "fix", "detail", "configPath"}
    assert item["commands"] == [
        "aws service-quotas get-service-quota --service-code ec2 --quota-code L-417A185B --region eu-west-1 --output json",
        "aws ec2 describe-instances --filters Name=instance-state-name,Values=pending,running "
        "'Name=instance-type,Values=p*' --region eu-west-1 --output json",
    ], "commands print ready to paste into a shell"
    assert "✗" in capsys.readouterr().out


def test_the_cli_exits_0_offline_when_nothing_failed(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text((PROJECT_ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "Pulumi.real.yaml").write_text(yaml.safe_dump({"config": {FULL_KEY: real("dev")}}))
    assert cli.main(["--project-dir", str(tmp_path), "preflight", "real", "--offline"]) == 0


def test_the_cli_checks_with_the_subprocess_runner_unless_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    cloud = aws_cloud()
    monkeypatch.setattr(cli, "SubprocessRunner", lambda: cloud)
    cli.main(["preflight", "dev"])
    assert ("aws", "sts", "get-caller-identity", "--output", "json") in cloud.calls


def test_an_unknown_stack_exits_2_with_one_error_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stacks", "preflight", "nosuch", "--offline"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: unknown stack 'nosuch': {PROJECT_ROOT} has no Pulumi.nosuch.yaml "
        f"(stacks: {', '.join(stack_names(PROJECT_ROOT))})"
    ]
