"""AzureLogAnalytics: the Log Analytics workspace every Azure component sends its audit logs to."""

from typing import Required, TypedDict

import pulumi
import pulumi_azure_native.operationalinsights as operationalinsights

from components._common.validation import Problems, require_args_mapping
from components.azure._shared import check_bool, check_location, check_required

DEFAULT_RETENTION_DAYS = 365
DEFAULT_PROTECT = False


class AzureLogAnalyticsArgs(TypedDict, total=False):
    """Arguments of `AzureLogAnalytics`."""

    resource_group_name: Required[pulumi.Input[str]]
    """Resource group of the workspace. Required."""
    location: Required[pulumi.Input[str]]
    """Azure location, e.g. `westeurope`. Required."""
    retention_days: int
    """Days logs stay queryable (30-730, the interactive retention range). Defaults to 365."""
    protect: bool
    """Protect the workspace from deletion (`protect` + `retainOnDelete`). Defaults to false."""
    tags: pulumi.Input[dict[str, str]]
    """Tags for the workspace. Defaults to none."""


def _validate(args: AzureLogAnalyticsArgs) -> Problems:
    problems = Problems()
    check_required(problems, args, "resource_group_name")
    check_location(problems, args.get("location"))
    check_bool(problems, args, "protect")
    retention = args.get("retention_days", DEFAULT_RETENTION_DAYS)
    if not isinstance(retention, int) or not 30 <= retention <= 730:
        problems.add("retentionDays", "must be 30 to 730 days (the Log Analytics interactive retention range)")
    return problems


def workspace(
    parent: pulumi.Resource,
    name: str,
    *,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    retention_days: int,
    protect: bool,
    tags: pulumi.Input[dict[str, str]] | None,
) -> operationalinsights.Workspace:
    """Create a workspace with explicit retention that accepts only Entra-authenticated ingestion."""
    return operationalinsights.Workspace(
        name,
        resource_group_name=resource_group_name,
        location=location,
        sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=retention_days,
        features=operationalinsights.WorkspaceFeaturesArgs(
            disable_local_auth=True, enable_log_access_using_only_resource_permissions=True
        ),
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect),
    )


class AzureLogAnalytics(pulumi.ComponentResource):
    """A Log Analytics workspace for control-plane, registry, vault and storage audit logs.

    Creates:
    - a PerGB2018 Log Analytics workspace with explicit retention.

    Security defaults: local (shared-key) ingestion disabled, so only Entra-authenticated agents and
    diagnostic settings write; access follows resource permissions; retention is always explicit (GDPR).
    """

    workspace_id: pulumi.Output[str]
    """Resource ID of the workspace (the `workspaceId` of diagnostic settings)."""

    def __init__(self, name: str, args: AzureLogAnalyticsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args).raise_if_any(f"mlplatform:index:AzureLogAnalytics '{name}'")
        super().__init__("mlplatform:index:AzureLogAnalytics", name, {}, opts)
        created = workspace(
            self,
            f"{name}-workspace",
            resource_group_name=args["resource_group_name"],
            location=args["location"],
            retention_days=args.get("retention_days", DEFAULT_RETENTION_DAYS),
            protect=args.get("protect", DEFAULT_PROTECT),
            tags=args.get("tags"),
        )
        self.workspace_id = created.id
        self.register_outputs({"workspaceId": self.workspace_id})
