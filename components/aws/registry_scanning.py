"""ECR enhanced scanning with Amazon Inspector: the registry-level setting whose findings gate image promotion."""

import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components._common.validation import Problems, require_args_mapping
from components.aws._resources import account_facts

DEFAULT_CONTINUOUS_SCAN = True
DEFAULT_ENABLE_INSPECTOR = True

SCAN_TYPE = "ENHANCED"
"""Amazon Inspector scans OS and language packages (basic scanning only OS packages), and rescans as CVEs appear."""

_FILTER = re.compile(r"^[a-z0-9*](?:[._-]?[a-z0-9*]+)*(?:/[a-z0-9*]+(?:[._-][a-z0-9*]+)*)*$")
"""The `ScanningRepositoryFilter.filter` pattern of the ECR API (1-256 characters, `*` as wildcard):
https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_ScanningRepositoryFilter.html"""


class AwsRegistryScanningArgs(TypedDict):
    """Arguments of `AwsRegistryScanning`."""

    repository_filters: list[str]
    """Wildcard filters naming the platform's repositories, e.g. ["mlplatform-prod/*"] (the registry's
    `repositoryPrefix` followed by `/*`). Lower case, digits, '.', '_', '-', '/' and '*'. Required."""
    continuous_scan: NotRequired[bool]
    """Rescan the images whenever Inspector learns of a new CVE (CONTINUOUS_SCAN), not only on push
    (SCAN_ON_PUSH). Defaults to true."""
    enable_inspector: NotRequired[bool]
    """Activate Amazon Inspector ECR scanning for this account (`aws.inspector2.Enabler`, resource type ECR). This is
    an account-wide setting, billed per image scanned; it is retained when the stack is destroyed so that other
    stacks' registries keep being scanned. Set false when the account's security team manages Inspector (then the
    deployment fails at `PutRegistryScanningConfiguration` unless the caller may call `inspector2:Enable`).
    Defaults to true."""


def scanning_rules(repository_filters: list[str], continuous_scan: bool) -> list[dict[str, object]]:
    """The registry scanning rules: one rule at the chosen frequency matching every platform repository.

    With enhanced scanning both frequencies scan every push; CONTINUOUS_SCAN also rescans when Inspector adds a
    vulnerability to its database (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-scanning-enhanced.html).
    """
    return [
        {
            "scan_frequency": "CONTINUOUS_SCAN" if continuous_scan else "SCAN_ON_PUSH",
            "repository_filters": [{"filter": item, "filter_type": "WILDCARD"} for item in repository_filters],
        }
    ]


def _validate(args: AwsRegistryScanningArgs, name: str) -> None:
    problems = Problems()
    filters = args.get("repository_filters") or []
    if not isinstance(filters, list) or not filters:
        problems.add("repositoryFilters", "list at least one repository filter, e.g. '<repositoryPrefix>/*'")
        filters = []
    for index, item in enumerate(filters):
        if not isinstance(item, str) or not 1 <= len(item) <= 256 or not _FILTER.match(item):
            problems.add(
                f"repositoryFilters[{index}]",
                f"'{item}' is not an ECR scanning filter (lower case, digits, '.', '_', '-', '/', '*' wildcards)",
            )
    if filters and len(set(filters)) != len(filters):
        problems.add("repositoryFilters", "filters must be unique")
    for key, label in (("continuous_scan", "continuousScan"), ("enable_inspector", "enableInspector")):
        if key in args and not isinstance(args[key], bool):  # type: ignore[literal-required]
            problems.add(label, "must be true or false")
    problems.raise_if_any(f"AwsRegistryScanning '{name}'")


class AwsRegistryScanning(pulumi.ComponentResource):
    """Amazon Inspector enhanced scanning of the platform's ECR repositories, continuously, as a promotion gate.

    Creates:
    - unless `enableInspector` is false, an `aws.inspector2.Enabler` activating Inspector ECR scanning for the
      account (https://docs.aws.amazon.com/inspector/latest/user/scanning-ecr.html);
    - the registry scanning configuration: scan type ENHANCED with a rule matching `repositoryFilters`.

    Scope: the registry scanning configuration is one per account and region (PutRegistryScanningConfiguration
    replaces it whole), so exactly one stack per account and region may own it; repositories outside the filters
    are not scanned at all once the registry is ENHANCED. Inspector findings are read back through ECR's
    `DescribeImageScanFindings` (`enhancedFindings`, `findingSeverityCounts`), which `policies.image_gate` evaluates
    before a digest is promoted.
    """

    scan_type: pulumi.Output[str]
    """The registry scan type, ENHANCED."""
    scan_frequency: pulumi.Output[str]
    """CONTINUOUS_SCAN or SCAN_ON_PUSH."""
    repository_filters: pulumi.Output[list[str]]
    """The wildcard filters of the repositories Inspector scans."""

    def __init__(self, name: str, args: AwsRegistryScanningArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args, name)
        super().__init__("mlplatform:index:AwsRegistryScanning", name, {}, opts)
        continuous = args.get("continuous_scan", DEFAULT_CONTINUOUS_SCAN)
        filters = list(args["repository_filters"])

        depends_on: list[pulumi.Resource] = []
        if args.get("enable_inspector", DEFAULT_ENABLE_INSPECTOR):
            account = account_facts(self)
            # Deleting the Enabler disables Inspector ECR scanning for the whole account, which would silently stop
            # scanning other stacks' registries, so it outlives this stack.
            depends_on.append(
                aws.inspector2.Enabler(
                    f"{name}-inspector",
                    account_ids=[account.account_id],
                    resource_types=["ECR"],
                    opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
                )
            )
        configuration = aws.ecr.RegistryScanningConfiguration(
            f"{name}-scanning",
            scan_type=SCAN_TYPE,
            rules=scanning_rules(filters, continuous),  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )

        self.scan_type = configuration.scan_type
        self.scan_frequency = pulumi.Output.from_input("CONTINUOUS_SCAN" if continuous else "SCAN_ON_PUSH")
        self.repository_filters = pulumi.Output.from_input(filters)
        self.register_outputs(
            {
                "scanType": self.scan_type,
                "scanFrequency": self.scan_frequency,
                "repositoryFilters": self.repository_filters,
            }
        )
