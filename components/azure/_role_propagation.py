"""Waiting for Azure role assignments to take effect before the resources that rely on them: a Sleep per grant set.

ARM answers a role assignment PUT before the grant is enforced. Microsoft documents the delay: "When you assign
roles or remove role assignments, it can take up to 10 minutes for changes to take effect" (Troubleshoot Azure
RBAC, https://learn.microsoft.com/azure/role-based-access-control/troubleshooting#symptom---role-assignment-changes-are-not-being-detected),
and for Key Vault "it will take up to 10 minutes (600 seconds) after role assignments is changed for role to be
applied" (https://learn.microsoft.com/azure/key-vault/general/rbac-guide, Known limits and performance).
A resource that uses a grant at creation (a storage account or registry reading its CMK, AKS creating
encrypted disks, the deployer calling the Kubernetes API) therefore waits on a `time:index/sleep:Sleep` whose
triggers carry the assignment IDs: a new or replaced grant replaces the Sleep, so it waits again; an unchanged
grant costs nothing on later updates.
"""

import re
from collections.abc import Mapping

import pulumi
import pulumiverse_time

from components._common.validation import Problems

DEFAULT_ROLE_PROPAGATION_WAIT = "10m"
"""Microsoft's documented upper bound for a role assignment to take effect (see the module docstring)."""

_GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:h|m|s|ms))+$")


def check_role_propagation_wait(problems: Problems, value: object, path: str = "rolePropagationWait") -> None:
    """Record a problem unless `value` is a duration the Sleep accepts (Go syntax: `10m`, `90s`, `1m30s`)."""
    if not isinstance(value, str) or not _GO_DURATION.match(value):
        problems.add(path, f"'{value}' is not a duration such as 10m, 90s or 1m30s")


def role_propagation_wait(
    parent: pulumi.Resource,
    name: str,
    grants: Mapping[str, pulumi.CustomResource],
    duration: str,
) -> pulumiverse_time.Sleep:
    """A Sleep of `duration` after `grants` exist, replaced (and so waited again) whenever one of them changes.

    Args:
        parent: the component that owns the grants.
        name: the Sleep's logical name, derived from the component name.
        grants: the role assignments by a stable key (the trigger names); other resources Azure enforces late
            (a private DNS zone's VNet link) may join them.
        duration: how long to wait, e.g. `10m`.

    Returns:
        The Sleep: pass it in `depends_on` (or fold its ID into an input) of every resource that uses the grants.
    """
    return pulumiverse_time.Sleep(
        name,
        create_duration=duration,
        triggers={key: grant.id for key, grant in grants.items()},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(grants.values())),
    )
