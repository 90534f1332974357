"""Private endpoints with their DNS records, and diagnostic settings: child-resource helpers for the Azure components."""

from collections.abc import Sequence

import pulumi
import pulumi_azure_native.monitor as monitor
import pulumi_azure_native.network as network


def private_endpoint(
    parent: pulumi.Resource,
    name: str,
    *,
    resource_group_name: pulumi.Input[str],
    location: pulumi.Input[str],
    subnet_id: pulumi.Input[str],
    target_id: pulumi.Input[str],
    group_id: str,
    private_dns_zone_id: pulumi.Input[str],
    tags: pulumi.Input[dict[str, str]] | None = None,
) -> pulumi.Output[str]:
    """Create a private endpoint for `target_id` (sub-resource `group_id`) and register it in its private DNS zone.

    The DNS zone group makes Azure write and remove the `privatelink` A records itself, so clients in the
    VNet resolve the service's public name to the endpoint's private address.

    Args:
        parent: the component that owns the endpoint.
        name: the endpoint's logical name, derived from the component name.
        resource_group_name: the resource group of the endpoint.
        location: the endpoint's location (the VNet's).
        subnet_id: the private-endpoint subnet.
        target_id: the resource the endpoint connects to.
        group_id: the target sub-resource (`vault`, `registry`, `blob`).
        private_dns_zone_id: the `privatelink.*` zone linked to the VNet.
        tags: resource tags.

    Returns:
        The endpoint's resource ID, resolving once its DNS records are registered: a client that must reach
        the service privately (e.g. the AKS KMS plugin and its vault) can wait for exactly this.
    """
    endpoint = network.PrivateEndpoint(
        name,
        resource_group_name=resource_group_name,
        location=location,
        subnet=network.SubnetArgs(id=subnet_id),
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(name=name, private_link_service_id=target_id, group_ids=[group_id])
        ],
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    dns = network.PrivateDnsZoneGroup(
        f"{name}-dns",
        resource_group_name=resource_group_name,
        private_endpoint_name=endpoint.name,
        private_dns_zone_group_name="default",
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(name=group_id, private_dns_zone_id=private_dns_zone_id)
        ],
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.all(endpoint.id, dns.id).apply(lambda ids: ids[0])


def diagnostic_setting(
    parent: pulumi.Resource,
    name: str,
    *,
    resource_uri: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    categories: Sequence[str] = (),
    category_groups: Sequence[str] = (),
    metrics: Sequence[str] = (),
    depends_on: Sequence[pulumi.Resource] = (),
) -> monitor.DiagnosticSetting:
    """Send a resource's logs (by category or category group) and metrics to a Log Analytics workspace.

    Resource-specific tables (`logAnalyticsDestinationType: Dedicated`) keep each log type queryable on its own
    and cheaper to retain than the legacy AzureDiagnostics table.
    """
    logs = [monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True) for category in categories]
    logs += [monitor.DiagnosticsLogSettingsArgs(category_group=group, enabled=True) for group in category_groups]
    return monitor.DiagnosticSetting(
        name,
        name=name,
        resource_uri=resource_uri,
        workspace_id=workspace_id,
        log_analytics_destination_type="Dedicated",
        logs=logs,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category=metric, enabled=True) for metric in metrics],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(depends_on)),
    )
