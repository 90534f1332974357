"""Network exposure: no public data stores, private control planes, no open ingress, default-deny serving."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

from components._common.tags import TIER_LABEL
from policies.rules.aws_common import (
    BUCKET_TYPES,
    DEFAULT_SECURITY_GROUP,
    EC2_NODE_CLASS,
    INSTANCE_TYPES,
    LAUNCH_TEMPLATE,
    PUBLIC_ACCESS_BLOCK_TYPES,
    SECURITY_GROUP_TYPES,
    VPC_TYPES,
    SecurityGroupEntry,
    attached_to_bucket,
    instance_label,
    node_class_spec,
    rules_of_group,
    security_group_entries,
)
from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Stack,
    StackFinding,
    Unverified,
    as_bool,
    as_dict,
    as_list,
    as_number,
    dicts,
    resource_rule,
    stack_rule,
    string_list,
)
from policies.rules.cidr import PUBLIC_CIDR_LIMITS, exposure
from policies.rules.kubernetes_common import (
    INGRESS_TYPES,
    NETWORK_POLICY,
    SERVICE_TYPES,
    lands_in,
    namespace_objects,
    namespace_of,
    placed_in,
    serving_namespaces,
)
from policies.rules.settings import SERVING_NAMESPACES, SYSTEM_NAMESPACES
from policies.rules.training import training_namespaces_by_structure

# --- AWS -------------------------------------------------------------------------------------------------

_PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
_PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
_BLOCK_FLAGS = (
    ("blockPublicAcls", "block_public_acls"),
    ("blockPublicPolicy", "block_public_policy"),
    ("ignorePublicAcls", "ignore_public_acls"),
    ("restrictPublicBuckets", "restrict_public_buckets"),
)


@stack_rule(
    name="aws-s3-bucket-public-access-blocked",
    title="S3 buckets block every form of public access",
    description=(
        "Every S3 bucket has a BucketPublicAccessBlock with block_public_acls, block_public_policy, "
        "ignore_public_acls and restrict_public_buckets all true."
    ),
    remediation=(
        "Add aws.s3.BucketPublicAccessBlock(bucket=bucket.id, block_public_acls=True, block_public_policy=True, "
        "ignore_public_acls=True, restrict_public_buckets=True)."
    ),
    scope="S3 buckets",
)
def s3_public_access_blocked(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = stack.of(BUCKET_TYPES)
    if not buckets:
        raise NotApplicable("the stack has no S3 buckets")
    for bucket in buckets:
        blocks = attached_to_bucket(stack, bucket, PUBLIC_ACCESS_BLOCK_TYPES)
        if not blocks:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' has no public access block; add aws.s3.BucketPublicAccessBlock with "
                    "block_public_acls, block_public_policy, ignore_public_acls and restrict_public_buckets set to True."
                ),
            )
            continue
        values = {argument: as_bool(blocks[0].props.get(field_name)) for field_name, argument in _BLOCK_FLAGS}
        missing = [argument for argument, value in values.items() if value is not True and value is not UNKNOWN]
        if missing:
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' does not block all public access; set {', '.join(f'{flag}=True' for flag in missing)} "
                    "on its BucketPublicAccessBlock."
                ),
            )
        elif UNKNOWN in values.values():
            yield bucket, Unverified(f"the public access block of S3 bucket '{bucket.name}'")


@resource_rule(
    name="aws-s3-bucket-no-public-acl",
    title="S3 buckets grant nothing to the public",
    description=(
        "S3 buckets and bucket ACLs use no public canned ACL (public-read, public-read-write, authenticated-read) "
        "and grant nothing to the AllUsers or AuthenticatedUsers groups."
    ),
    remediation="Remove acl / grants (keep object ownership BucketOwnerEnforced, which disables ACLs) or set acl='private'.",
    scope="S3 buckets and bucket ACLs",
    types=(*BUCKET_TYPES, "aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"),
)
def s3_no_public_acl(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    label = "S3 bucket ACL" if "Acl" in resource.type else "S3 bucket"
    acl = resource.props.get("acl")
    if acl is UNKNOWN:
        yield Unverified(f"the canned ACL of {label} '{resource.name}'")
    elif acl in _PUBLIC_ACLS:
        yield f"{label} '{resource.name}' uses the public canned ACL '{acl}'; remove acl or set acl='private'."
    grants, unknown = dicts(resource.props.get("grants"))
    policy_grants, unknown_policy = dicts(resource.get("accessControlPolicy.grants"))
    for grant in (*grants, *policy_grants):
        uri = grant.get("uri") or as_dict(grant.get("grantee")).get("uri")
        if uri in _PUBLIC_GRANTEES:
            yield f"{label} '{resource.name}' grants access to {uri.rsplit('/', 1)[-1]}; remove that grant."
    if unknown or unknown_policy:
        yield Unverified(f"the grants of {label} '{resource.name}'")


@resource_rule(
    name="aws-s3-bucket-owner-enforced",
    title="S3 object ownership disables ACLs",
    description="BucketOwnershipControls set object_ownership='BucketOwnerEnforced', so ACLs cannot grant access.",
    remediation="Set rule={'object_ownership': 'BucketOwnerEnforced'} on aws.s3.BucketOwnershipControls.",
    scope="S3 bucket ownership controls",
    types=("aws:s3/bucketOwnershipControls:BucketOwnershipControls",),
)
def s3_owner_enforced(controls: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    ownership = controls.get("rule.objectOwnership")
    if ownership is UNKNOWN:
        yield Unverified(f"rule.object_ownership of '{controls.name}'")
    elif ownership != "BucketOwnerEnforced":
        yield f"Bucket ownership controls '{controls.name}' keep ACLs active ({ownership}); set rule.object_ownership='BucketOwnerEnforced'."


@resource_rule(
    name="aws-eks-cluster-private-endpoint",
    title="EKS API endpoints are private",
    description=(
        "EKS clusters enable the private API endpoint and either disable the public endpoint or restrict it to "
        "specific CIDRs (never 0.0.0.0/0). AWS enables the public endpoint when endpoint_public_access is unset."
    ),
    remediation="Set vpc_config={'endpoint_private_access': True, 'endpoint_public_access': False, ...} on aws.eks.Cluster.",
    scope="EKS clusters",
    types=("aws:eks/cluster:Cluster",),
    settings=(PUBLIC_CIDR_LIMITS,),
)
def eks_private_endpoint(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    private = as_bool(cluster.get("vpcConfig.endpointPrivateAccess"))
    public = as_bool(cluster.get("vpcConfig.endpointPublicAccess"))
    cidrs = cluster.get("vpcConfig.publicAccessCidrs")
    if private is UNKNOWN:
        yield Unverified(f"vpc_config.endpoint_private_access of EKS cluster '{cluster.name}'")
    elif private is not True:
        yield f"EKS cluster '{cluster.name}' has no private API endpoint; set vpc_config.endpoint_private_access=True."
    if public is UNKNOWN:
        yield Unverified(f"vpc_config.endpoint_public_access of EKS cluster '{cluster.name}'")
    elif public is not False:
        # Unset or empty, AWS applies 0.0.0.0/0 (https://docs.aws.amazon.com/eks/latest/APIReference/API_VpcConfigRequest.html).
        found = exposure(cidrs, config)
        if cidrs is not UNKNOWN and (not as_list(cidrs) or found.exposed):
            yield (
                f"EKS cluster '{cluster.name}' exposes its API endpoint to the internet; set "
                "vpc_config.endpoint_public_access=False (or list specific public_access_cidrs, never 0.0.0.0/0 "
                "nor ranges that add up to the internet)."
            )
        elif found.unverifiable:
            yield Unverified(f"vpc_config.public_access_cidrs of EKS cluster '{cluster.name}'")


@resource_rule(
    name="aws-ec2-launch-template-no-public-ip",
    title="Launch templates and instances give nodes no public IP",
    description=(
        "Launch templates never associate a public IP address with a network interface, EC2 instances and spot "
        "instance requests never set associate_public_ip_address=True, and Karpenter EC2NodeClasses never set "
        "associatePublicIPAddress=true. Unset, the subnet's map_public_ip_on_launch decides, for all of them; "
        "which subnets those are is not visible here."
    ),
    remediation=(
        "Remove associate_public_ip_address or set it to 'false' on every network_interfaces entry of "
        "aws.ec2.LaunchTemplate (False on aws.ec2.Instance / SpotInstanceRequest), and remove "
        "spec.associatePublicIPAddress or set it to False on an EC2NodeClass; nodes reach the internet through NAT."
    ),
    scope="EC2 launch templates, instances and Karpenter EC2NodeClasses",
    types=(LAUNCH_TEMPLATE, *INSTANCE_TYPES, EC2_NODE_CLASS),
)
def launch_template_no_public_ip(template: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if template.type in INSTANCE_TYPES:
        value = as_bool(template.props.get("associatePublicIpAddress"))
        if value is UNKNOWN:
            yield Unverified(f"associate_public_ip_address of {instance_label(template)}")
        elif value is True:
            yield f"{instance_label(template)} gets a public IP; set associate_public_ip_address=False."
        return
    if template.type == EC2_NODE_CLASS:
        # Karpenter copies the field into its launch templates only when set (launchtemplate.go), like an
        # unset associate_public_ip_address here.
        value = as_bool(node_class_spec(template).get("associatePublicIPAddress"))
        if value is UNKNOWN:
            yield Unverified(f"spec.associatePublicIPAddress of EC2NodeClass '{template.name}'")
        elif value is True:
            yield (
                f"EC2NodeClass '{template.name}' gives its nodes public IPs; remove spec.associatePublicIPAddress "
                "or set it to False."
            )
        return
    interfaces, unknown = dicts(template.props.get("networkInterfaces"))
    if unknown:
        yield Unverified(f"network_interfaces of launch template '{template.name}'")
    for index, interface in enumerate(interfaces):
        value = as_bool(interface.get("associatePublicIpAddress"))
        if value is UNKNOWN:
            yield Unverified(
                f"network_interfaces[{index}].associate_public_ip_address of launch template '{template.name}'"
            )
        elif value is True:
            yield f"Launch template '{template.name}' gives network interface {index} a public IP; set associate_public_ip_address='false'."


@resource_rule(
    name="aws-eks-node-group-ssh-restricted",
    title="EKS node groups allow no SSH from anywhere",
    description="EKS node groups have no remote (SSH) access, or restrict it to source security groups.",
    remediation="Remove remote_access from aws.eks.NodeGroup (use SSM Session Manager), or set remote_access.source_security_group_ids.",
    scope="EKS node groups",
    types=("aws:eks/nodeGroup:NodeGroup",),
)
def node_group_ssh(group: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    remote = group.props.get("remoteAccess")
    if remote is None:
        return
    if remote is UNKNOWN:
        yield Unverified(f"remote_access of EKS node group '{group.name}'")
        return
    sources = as_dict(remote).get("sourceSecurityGroupIds")
    if sources is UNKNOWN:
        yield Unverified(f"remote_access.source_security_group_ids of EKS node group '{group.name}'")
    elif not as_list(sources):
        yield (
            f"EKS node group '{group.name}' allows SSH from 0.0.0.0/0; remove remote_access (use SSM) or set "
            "remote_access.source_security_group_ids."
        )


@resource_rule(
    name="aws-ec2-security-group-no-public-ingress",
    title="Security groups admit no traffic from the internet",
    description=(
        "Security groups (a VPC's default group included) and standalone ingress rules (ec2.SecurityGroupRule, "
        "vpc.SecurityGroupIngressRule) admit no ingress from the internet: no source range that is, or adds up "
        "to, a broad public range (0.0.0.0/0, ::/0, 0.0.0.0/1 + 128.0.0.0/1, a public /8). A tag does not make a "
        "group a load balancer's: exempt a public load balancer's group by URN, with a reason and expiry."
    ),
    remediation="Replace 0.0.0.0/0 and ::/0 with the VPC CIDR, a prefix list or a source security group.",
    scope="security groups and ingress rules",
    types=SECURITY_GROUP_TYPES,
    settings=(PUBLIC_CIDR_LIMITS,),
)
def security_group_ingress(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    entries, unknown = security_group_entries(resource)
    if unknown:
        yield Unverified(f"the ingress rules of '{resource.name}'")
    for entry in entries:
        if entry.direction != "ingress":
            continue
        found = exposure(entry.cidrs, config)
        if found.unverifiable:
            yield Unverified(f"the ingress CIDRs of '{resource.name}'")
        if not found.exposed:
            continue
        open_cidrs = list(found.public) or [found.describe()]
        yield (
            f"Security group rule '{resource.name}' admits {', '.join(open_cidrs)} on {_port_text(entry)}; restrict "
            "the source to the VPC CIDR, a prefix list or a security group."
        )


def _port_text(entry: SecurityGroupEntry) -> str:
    low, high = as_number(entry.from_port), as_number(entry.to_port)
    if str(entry.protocol) == "-1":
        return "all ports"
    if isinstance(low, float) and isinstance(high, float):
        return f"ports {low:.0f}-{high:.0f}"
    return "some ports"


@stack_rule(
    name="aws-vpc-default-security-group-closed",
    title="The default security group of every VPC admits and sends nothing",
    description=(
        "Every VPC of the stack adopts its default security group (ec2.DefaultSecurityGroup with vpc_id) and that "
        "group, like any adopted default group, has no ingress or egress blocks and no standalone rules "
        "(CIS AWS Foundations 5.4, AWS Security Hub EC2.2). AWS creates the default group admitting all traffic "
        "from its members and sending anywhere, and resources fall back to it when no group is named; adopting it "
        "removes every rule the program does not declare (pulumi-aws ec2.DefaultSecurityGroup)."
    ),
    remediation=(
        "Add aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id, ingress=[], egress=[]) for every VPC, remove its rules "
        "and any SecurityGroupRule / SecurityGroupIngressRule / SecurityGroupEgressRule on it, and give resources "
        "their own security groups."
    ),
    scope="VPCs and their default security groups",
)
def default_security_group_closed(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    vpcs, defaults = stack.of(VPC_TYPES), stack.of((DEFAULT_SECURITY_GROUP,))
    if not vpcs and not defaults:
        raise NotApplicable("the stack has no VPC and no default security group")
    for vpc in vpcs:
        if not stack.attached(vpc, (DEFAULT_SECURITY_GROUP,), "vpcId", values=[vpc.props.get("id")]):
            yield (
                vpc,
                (
                    f"VPC '{vpc.name}' leaves its default security group open (AWS creates it admitting its members "
                    "and sending anywhere); add aws.ec2.DefaultSecurityGroup(vpc_id=vpc.id, ingress=[], egress=[])."
                ),
            )
    for group in defaults:
        entries, unknown = security_group_entries(group)
        if unknown:
            yield group, Unverified(f"the rules of default security group '{group.name}'")
        directions = sorted({entry.direction for entry in entries})
        if directions:
            yield (
                group,
                (
                    f"Default security group '{group.name}' keeps {' and '.join(directions)} rules; set ingress=[] "
                    "and egress=[] and give resources their own security groups."
                ),
            )
        for rule in rules_of_group(stack, group):
            yield (
                rule,
                (
                    f"Security group rule '{rule.name}' opens default security group '{group.name}'; remove it and "
                    "put the permission on a security group of its own."
                ),
            )


# --- Azure -----------------------------------------------------------------------------------------------


@resource_rule(
    name="azure-storage-account-no-public-access",
    title="Storage accounts are not reachable publicly",
    description=(
        "Storage accounts set allow_blob_public_access=False and allow_cross_tenant_replication=False explicitly, "
        "and disable public network access (public_network_access='Disabled' or network_rule_set default_action "
        "'Deny')."
    ),
    remediation=(
        "Set allow_blob_public_access=False, allow_cross_tenant_replication=False and public_network_access="
        "'Disabled' (reach the account through a private endpoint) on azure_native.storage.StorageAccount."
    ),
    scope="Azure storage accounts",
    types=("azure-native:storage:StorageAccount",),
)
def storage_no_public_access(account: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    for field_name, argument in (
        ("allowBlobPublicAccess", "allow_blob_public_access"),
        ("allowCrossTenantReplication", "allow_cross_tenant_replication"),
    ):
        value = as_bool(account.props.get(field_name))
        if value is UNKNOWN:
            yield Unverified(f"{argument} of storage account '{account.name}'")
        elif value is not False:
            yield f"Storage account '{account.name}' does not disable {argument}; set {argument}=False."
    network = account.props.get("publicNetworkAccess")
    default_action = account.get("networkRuleSet.defaultAction")
    if network == "Disabled" or default_action == "Deny":
        return
    if UNKNOWN in (network, default_action):
        yield Unverified(f"the network access of storage account '{account.name}'")
    else:
        yield (
            f"Storage account '{account.name}' accepts traffic from the internet; set public_network_access='Disabled' "
            "(or network_rule_set={'default_action': 'Deny', ...})."
        )


@resource_rule(
    name="azure-storage-container-no-public-access",
    title="Blob containers are private",
    description="Blob containers allow no anonymous access (public_access absent or 'None').",
    remediation="Set public_access='None' on azure_native.storage.BlobContainer.",
    scope="blob containers",
    types=("azure-native:storage:BlobContainer",),
)
def container_no_public_access(container: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    access = container.props.get("publicAccess")
    if access is UNKNOWN:
        yield Unverified(f"public_access of blob container '{container.name}'")
    elif access not in (None, "None"):
        yield f"Blob container '{container.name}' allows anonymous {access} access; set public_access='None'."


@resource_rule(
    name="azure-aks-cluster-private-api",
    title="AKS API servers are private",
    description=(
        "AKS clusters are private (api_server_access_profile.enable_private_cluster=True), or restrict the public "
        "API server to authorized IP ranges without 0.0.0.0/0."
    ),
    remediation="Set api_server_access_profile={'enable_private_cluster': True} on azure_native.containerservice.ManagedCluster.",
    scope="AKS clusters",
    types=("azure-native:containerservice:ManagedCluster",),
    settings=(PUBLIC_CIDR_LIMITS,),
)
def aks_private_api(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    private = as_bool(cluster.get("apiServerAccessProfile.enablePrivateCluster"))
    if private is True:
        return
    ranges = cluster.get("apiServerAccessProfile.authorizedIPRanges")
    found = exposure(ranges, config)
    if private is UNKNOWN or ranges is UNKNOWN or (found.unverifiable and not found.exposed):
        yield Unverified(f"the API server access profile of AKS cluster '{cluster.name}'")
    elif not as_list(ranges) or found.exposed:
        yield (
            f"AKS cluster '{cluster.name}' exposes its API server to the internet; set "
            "api_server_access_profile.enable_private_cluster=True (or authorized_ip_ranges without 0.0.0.0/0)."
        )


@resource_rule(
    name="azure-aks-cluster-network-policy",
    title="AKS enforces Kubernetes network policies",
    description="AKS clusters run a network policy engine (network_profile.network_policy azure, calico or cilium), so NetworkPolicies take effect.",
    remediation="Set network_profile={'network_plugin': 'azure', 'network_policy': 'cilium', 'network_dataplane': 'cilium'} (or 'azure'/'calico').",
    scope="AKS clusters",
    types=("azure-native:containerservice:ManagedCluster",),
)
def aks_network_policy(cluster: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    policy = cluster.get("networkProfile.networkPolicy")
    if policy is UNKNOWN:
        yield Unverified(f"network_profile.network_policy of AKS cluster '{cluster.name}'")
    elif policy not in ("azure", "calico", "cilium"):
        yield f"AKS cluster '{cluster.name}' does not enforce NetworkPolicies; set network_profile.network_policy to 'azure', 'calico' or 'cilium'."


@resource_rule(
    name="azure-aks-node-pool-no-public-ip",
    title="AKS nodes have no public IPs",
    description="No AKS node pool gives its nodes public IP addresses (enable_node_public_ip is not true).",
    remediation="Remove enable_node_public_ip (or set it to False) on every agent pool.",
    scope="AKS clusters and agent pools",
    types=("azure-native:containerservice:ManagedCluster", "azure-native:containerservice:AgentPool"),
)
def aks_node_public_ip(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if resource.type.endswith(":AgentPool"):
        pools, unknown = [{"name": resource.name, **resource.props}], False
    else:
        pools, unknown = dicts(resource.props.get("agentPoolProfiles"))
    if unknown:
        yield Unverified(f"the agent pools of '{resource.name}'")
    for pool in pools:
        value = as_bool(pool.get("enableNodePublicIP"))
        if value is UNKNOWN:
            yield Unverified(f"enable_node_public_ip of node pool '{pool.get('name')}' in '{resource.name}'")
        elif value is True:
            yield f"AKS node pool '{pool.get('name')}' of '{resource.name}' gives nodes public IPs; set enable_node_public_ip=False."


@resource_rule(
    name="azure-acr-registry-public-network-disabled",
    title="Container registries are reachable only privately",
    description=(
        "Azure container registries disable public network access (public_network_access='Disabled', Premium SKU "
        "with a private endpoint); the SDK sets 'Enabled' when it is left unset."
    ),
    remediation="Set public_network_access='Disabled' and sku={'name': 'Premium'}, and add a private endpoint.",
    scope="Azure container registries",
    types=("azure-native:containerregistry:Registry",),
)
def acr_public_network(registry: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    access = registry.props.get("publicNetworkAccess")
    if access is UNKNOWN:
        yield Unverified(f"public_network_access of container registry '{registry.name}'")
    elif access != "Disabled":
        yield f"Container registry '{registry.name}' is reachable from the internet; set public_network_access='Disabled' (Premium SKU) and use a private endpoint."


@resource_rule(
    name="azure-key-vault-public-network-restricted",
    title="Key vaults are not reachable publicly",
    description="Key vaults disable public network access (properties.public_network_access='Disabled') or deny by default (network_acls.default_action='Deny').",
    remediation="Set properties.public_network_access='Disabled' (private endpoint) or properties.network_acls={'default_action': 'Deny', 'bypass': 'AzureServices'}.",
    scope="Azure key vaults",
    types=("azure-native:keyvault:Vault",),
)
def key_vault_network(vault: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    access = vault.get("properties.publicNetworkAccess")
    default_action = vault.get("properties.networkAcls.defaultAction")
    if access == "Disabled" or default_action == "Deny":
        return
    if UNKNOWN in (access, default_action):
        yield Unverified(f"the network access of key vault '{vault.name}'")
    else:
        yield f"Key vault '{vault.name}' accepts traffic from the internet; set properties.public_network_access='Disabled' or network_acls.default_action='Deny'."


# --- Kubernetes ------------------------------------------------------------------------------------------


def _is_default_deny(policy: Resource) -> bool | Any:
    spec = policy.props.get("spec")
    if spec is UNKNOWN:
        return UNKNOWN
    spec = as_dict(spec)
    selector = spec.get("podSelector")
    if selector is UNKNOWN:
        return UNKNOWN
    selector = as_dict(selector)
    if selector.get("matchLabels") or selector.get("matchExpressions"):
        return False
    types = as_list(spec.get("policyTypes"))
    if types is UNKNOWN:
        return UNKNOWN
    if not {"Ingress", "Egress"} <= set(types):
        return False
    return not as_list(spec.get("ingress")) and not as_list(spec.get("egress"))


def _everyone(peer: Any) -> bool | Any:
    """True for a NetworkPolicy peer that is everyone: all pods of all namespaces, or the internet."""
    if peer is UNKNOWN:
        return UNKNOWN
    peer = as_dict(peer)
    namespaces, pods, block = peer.get("namespaceSelector"), peer.get("podSelector"), peer.get("ipBlock")
    if UNKNOWN in (namespaces, pods, block):
        return UNKNOWN
    if namespaces is not None and not _selects_some(namespaces) and not _selects_some(pods):
        return True
    if isinstance(block, dict):
        if block.get("except") is UNKNOWN:
            return UNKNOWN
        found = exposure([block.get("cidr")])
        if found.exposed and not as_list(block.get("except")):
            return True
        return UNKNOWN if found.unverifiable else False
    return False


def _selects_some(selector: Any) -> bool:
    selector = as_dict(selector)
    return bool(selector.get("matchLabels") or selector.get("matchExpressions"))


def _allow_all_directions(policy: Resource) -> set[str] | Any:
    """The directions (Ingress, Egress) in which `policy` admits everyone on every port to every pod of its namespace.

    Such a policy cancels the default deny: NetworkPolicies are additive allow-lists
    (https://kubernetes.io/docs/concepts/services-networking/network-policies/#networkpolicy-resource), so a rule
    `{}` (no peers, no ports) or one whose peers are everyone opens the namespace whatever else denies.
    """
    spec = policy.props.get("spec")
    if spec is UNKNOWN or as_dict(spec).get("podSelector") is UNKNOWN:
        return UNKNOWN
    spec = as_dict(spec)
    if _selects_some(spec.get("podSelector")):
        return set()
    opened: set[str] = set()
    unknown = False
    for direction, key, peers_key in (("Ingress", "ingress", "from"), ("Egress", "egress", "to")):
        rules = spec.get(key)
        if rules is UNKNOWN:
            unknown = True
            continue
        for rule in as_list(rules):
            rule = as_dict(rule)
            if rule is UNKNOWN or UNKNOWN in (rule.get("ports"), rule.get(peers_key)):
                unknown = True
                continue
            if as_list(rule.get("ports")):
                continue
            peers = as_list(rule.get(peers_key))
            verdicts = [_everyone(peer) for peer in peers]
            if not peers or True in verdicts:
                opened.add(direction)
            elif UNKNOWN in verdicts:
                unknown = True
    return UNKNOWN if unknown and not opened else opened


@stack_rule(
    name="kubernetes-serving-namespace-default-deny",
    title="Serving namespaces deny all traffic by default",
    description=(
        "Every serving namespace the stack creates (one holding a route backend, an Ingress or a KServe "
        "InferenceService, labelled mlplatform.io/tier=serving, or listed in servingNamespaces) has a "
        "NetworkPolicy selecting all pods (empty pod_selector) with policy_types Ingress and Egress and no rules; "
        "explicit allow policies are added on top, and none of them admits everyone on every port to every pod "
        "(a rule {} or peers that are all namespaces or the internet), which would cancel the deny."
    ),
    remediation=(
        "Add kubernetes.networking.v1.NetworkPolicy(metadata={'name': 'default-deny', 'namespace': ns}, "
        "spec={'pod_selector': {}, 'policy_types': ['Ingress', 'Egress']}) to each serving namespace."
    ),
    scope="serving namespaces",
    settings=(SERVING_NAMESPACES, SYSTEM_NAMESPACES),
)
def serving_default_deny(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    names = serving_namespaces(
        stack, as_list(config.get("servingNamespaces")), as_list(config.get("systemNamespaces")), outside=False
    )
    if not names:
        raise NotApplicable("the stack has no serving namespaces")
    owners = namespace_objects(stack)
    policies = stack.of((NETWORK_POLICY,))
    for name in sorted(names):
        owner = owners.get(name)
        in_namespace = [policy for policy in policies if lands_in(policy, name, owner)]
        verdicts = [_is_default_deny(policy) for policy in in_namespace]
        cancelling = [(policy, _allow_all_directions(policy)) for policy in in_namespace]
        opened = [(policy, directions) for policy, directions in cancelling if directions and directions is not UNKNOWN]
        for policy, directions in opened:
            yield (
                owner,
                (
                    f"NetworkPolicy '{policy.name}' in serving namespace '{name}' admits everyone "
                    f"({' and '.join(sorted(directions))}, every port) to every pod, which cancels the default deny; "
                    "name the peers (pod/namespace selectors, CIDRs) and ports it allows."
                ),
            )
        if opened:
            continue
        if True in verdicts and any(directions is UNKNOWN for _, directions in cancelling):
            yield owner, Unverified(f"the allow rules of the network policies of serving namespace '{name}'")
            continue
        if True in verdicts:
            continue
        if UNKNOWN in verdicts or any(namespace_of(policy) is UNKNOWN for policy in policies):
            yield owner, Unverified(f"the network policies of serving namespace '{name}'")
            continue
        yield (
            owner,
            (
                f"Serving namespace '{name}' has no default-deny NetworkPolicy; add one with pod_selector={{}} and "
                "policy_types=['Ingress', 'Egress'] and no rules."
            ),
        )


_INTERNAL_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}


@stack_rule(
    name="kubernetes-service-not-publicly-exposed",
    title="Serving namespaces expose no public load balancers or node ports",
    description=(
        "Services in serving namespaces are not of type LoadBalancer or NodePort, unless annotated as an internal "
        "load balancer (aws-load-balancer-scheme: internal, azure-load-balancer-internal: 'true'); traffic enters "
        "through the ingress controller."
    ),
    remediation="Use type ClusterIP behind the ingress controller, or annotate the LoadBalancer Service as internal.",
    scope="Services in serving namespaces",
    settings=(SERVING_NAMESPACES, SYSTEM_NAMESPACES),
)
def service_exposure(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    names = serving_namespaces(stack, as_list(config.get("servingNamespaces")), as_list(config.get("systemNamespaces")))
    services = stack.of(SERVICE_TYPES)
    if not names or not services:
        raise NotApplicable("the stack has no Services in serving namespaces")
    for service in services:
        namespace = namespace_of(service)
        if namespace is UNKNOWN:
            yield service, Unverified(f"the namespace of Service '{service.name}'")
            continue
        if namespace not in names:
            continue
        kind = service.get("spec.type")
        annotations = as_dict(service.get("metadata.annotations"))
        if kind is UNKNOWN or annotations is UNKNOWN:
            yield service, Unverified(f"the type of Service '{service.name}'")
            continue
        internal = any(str(annotations.get(key, "")).lower() == value for key, value in _INTERNAL_ANNOTATIONS.items())
        if kind == "NodePort" or (kind == "LoadBalancer" and not internal):
            yield (
                service,
                (
                    f"Service '{service.name}' in serving namespace '{namespace}' is a public {kind}; use type "
                    "ClusterIP behind the ingress controller, or annotate it as an internal load balancer."
                ),
            )


PRIVATE_TIERS = string_list(
    "privateTiers",
    (
        "Namespace tiers (label mlplatform.io/tier) whose Services are reachable only inside the cluster: "
        "training jobs and the experiment tracker."
    ),
    ["training", "tracking"],
)
PRIVATE_NAMESPACES = string_list(
    "privateNamespaces",
    "Further namespaces held to the same rule (e.g. ones created outside this stack).",
)


@stack_rule(
    name="kubernetes-training-namespace-not-exposed",
    title="Training and tracking namespaces are reachable only inside the cluster",
    description=(
        "Namespaces that run training (holding a Kueue LocalQueue or a distributed-training job such as a JobSet), "
        "of a private tier (privateTiers, by default training and tracking: training jobs, the experiment tracker "
        "and its model registry) or listed in privateNamespaces hold no Service of type "
        "LoadBalancer (internal ones included: they open the namespace to the whole VPC/VNet), NodePort or with "
        "spec.externalIPs, and no Ingress; clients inside the cluster use ClusterIP Services, people reach a "
        "tracker through the platform's gateway (an HTTPRoute, with its TLS and authentication)."
    ),
    remediation=(
        "Use type ClusterIP; publish a tracking UI through the platform gateway with an HTTPRoute instead of an "
        "Ingress or a load balancer."
    ),
    scope="Services and Ingresses in training and tracking namespaces",
    settings=(PRIVATE_TIERS, PRIVATE_NAMESPACES),
)
def training_namespace_not_exposed(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    tiers = set(as_list(config.get("privateTiers")))
    private = set(as_list(config.get("privateNamespaces")))
    owners = namespace_objects(stack)
    for name, namespace in owners.items():
        labels = as_dict(namespace.get("metadata.labels"))
        if isinstance(labels, dict) and labels.get(TIER_LABEL) in tiers:
            private.add(name)
    private |= training_namespaces_by_structure(stack)
    exposed = stack.of((*SERVICE_TYPES, *INGRESS_TYPES))
    if not private or not exposed:
        raise NotApplicable("the stack has no Services or Ingresses in training or tracking namespaces")
    for resource in exposed:
        namespace = placed_in(resource, owners)
        if namespace is UNKNOWN:
            yield resource, Unverified(f"the namespace of '{resource.name}'")
            continue
        if namespace not in private:
            continue
        if resource.type in INGRESS_TYPES:
            yield (
                resource,
                f"Ingress '{resource.name}' exposes private namespace '{namespace}' outside the cluster; remove it "
                "and publish through the platform gateway with an HTTPRoute.",
            )
            continue
        kind, external = resource.get("spec.type"), as_list(resource.get("spec.externalIPs"))
        if kind is UNKNOWN or external is UNKNOWN:
            yield resource, Unverified(f"the type and external IPs of Service '{resource.name}'")
        elif kind in ("LoadBalancer", "NodePort"):
            yield (
                resource,
                f"Service '{resource.name}' in private namespace '{namespace}' is a {kind}, reachable from outside "
                "the cluster; use type ClusterIP.",
            )
        elif external:
            yield (
                resource,
                f"Service '{resource.name}' in private namespace '{namespace}' answers on external IPs "
                f"({', '.join(map(str, external))}); remove spec.externalIPs.",
            )


@resource_rule(
    name="kubernetes-ingress-tls",
    title="Ingresses terminate TLS",
    description="Every Ingress declares spec.tls, so clients connect over HTTPS.",
    remediation="Set spec={'tls': [{'hosts': [...], 'secret_name': ...}], ...} on kubernetes.networking.v1.Ingress.",
    scope="Ingresses",
    types=INGRESS_TYPES,
)
def ingress_tls(ingress: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    tls = ingress.get("spec.tls")
    if tls is UNKNOWN:
        yield Unverified(f"spec.tls of Ingress '{ingress.name}'")
    elif not as_list(tls):
        yield f"Ingress '{ingress.name}' serves plain HTTP; add spec.tls with the hosts and a certificate secret."


_ENVOY_PROXY = "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy"
_GATEWAYS = ("kubernetes:gateway.networking.k8s.io/v1:Gateway", "kubernetes:gateway.networking.k8s.io/v1beta1:Gateway")


def _load_balancer(resource: Resource) -> dict[str, Any] | Any:
    """The LoadBalancer Service a resource makes, as {annotations, ranges}: a Service of type LoadBalancer, or the
    Service Envoy Gateway creates from an EnvoyProxy (`envoyService`, type LoadBalancer unless set otherwise).
    Raises NotApplicable for anything else; returns UNKNOWN when that cannot be told yet."""
    if resource.type == _ENVOY_PROXY:
        service = resource.get("spec.provider.kubernetes.envoyService")
        if service is UNKNOWN:
            return UNKNOWN
        service = as_dict(service)
        kind = service.get("type", "LoadBalancer")
        annotations, ranges = service.get("annotations"), service.get("loadBalancerSourceRanges")
    else:
        kind = resource.get("spec.type")
        annotations, ranges = resource.get("metadata.annotations"), resource.get("spec.loadBalancerSourceRanges")
    if kind is UNKNOWN or annotations is UNKNOWN or ranges is UNKNOWN:
        return UNKNOWN
    if kind != "LoadBalancer":
        raise NotApplicable(f"'{resource.name}' makes no load balancer (type {kind or 'ClusterIP'})")
    return {"annotations": as_dict(annotations), "ranges": as_list(ranges)}


def _internal(annotations: dict[str, Any]) -> bool:
    return any(str(annotations.get(key, "")).lower() == value for key, value in _INTERNAL_ANNOTATIONS.items())


@resource_rule(
    name="kubernetes-load-balancer-internal",
    title="Load balancers are internal",
    description=(
        "Every Service of type LoadBalancer, and every EnvoyProxy's Service, is an internal load balancer "
        "(service.beta.kubernetes.io/aws-load-balancer-internal: 'true' or aws-load-balancer-scheme: internal on "
        "EKS, azure-load-balancer-internal: 'true' on AKS); an unannotated one gets a public address on both clouds. "
        "A deliberately public endpoint is exempted by name, with its reason and expiry."
    ),
    remediation=(
        "Annotate the Service (or EnvoyProxy spec.provider.kubernetes.envoyService.annotations) as internal; "
        "ServingGateway does unless public=True. For a reviewed public endpoint add an exemption."
    ),
    scope="LoadBalancer Services and EnvoyProxy Services",
    types=(*SERVICE_TYPES, _ENVOY_PROXY),
)
def load_balancer_internal(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    balancer = _load_balancer(resource)
    if balancer is UNKNOWN or any(balancer["annotations"].get(key) is UNKNOWN for key in _INTERNAL_ANNOTATIONS):
        yield Unverified(f"the load balancer type and annotations of '{resource.name}'")
    elif not _internal(balancer["annotations"]):
        yield (
            f"'{resource.name}' makes a public load balancer; annotate it internal "
            "(aws-load-balancer-internal: 'true' / azure-load-balancer-internal: 'true'), or exempt it with a reason."
        )


@resource_rule(
    name="kubernetes-load-balancer-source-ranges",
    title="Public load balancers admit an allow-list, not the internet",
    description=(
        "A public (not internal) LoadBalancer Service or EnvoyProxy Service sets loadBalancerSourceRanges to the "
        "clients' CIDRs, none of them 0.0.0.0/0 or ::/0; without it the cloud opens the listener to every address."
    ),
    remediation=(
        "Set spec.loadBalancerSourceRanges (EnvoyProxy: envoyService.loadBalancerSourceRanges; ServingGateway: "
        "public_source_cidrs) to the clients' ranges, or make the load balancer internal."
    ),
    scope="public LoadBalancer Services and EnvoyProxy Services",
    types=(*SERVICE_TYPES, _ENVOY_PROXY),
    settings=(PUBLIC_CIDR_LIMITS,),
)
def load_balancer_source_ranges(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    balancer = _load_balancer(resource)
    if balancer is UNKNOWN:
        yield Unverified(f"the load balancer of '{resource.name}'")
        return
    if _internal(balancer["annotations"]):
        raise NotApplicable(f"'{resource.name}' is an internal load balancer")
    ranges = balancer["ranges"]
    if not ranges:
        yield (
            f"Public load balancer '{resource.name}' admits every address; set loadBalancerSourceRanges to the "
            "clients' CIDRs."
        )
    elif (found := exposure(ranges, config)).exposed:
        yield (
            f"Public load balancer '{resource.name}' admits the whole internet ({', '.join(map(str, ranges))}); list "
            "the clients' CIDRs instead."
        )
    elif found.unverifiable:
        yield Unverified(f"spec.loadBalancerSourceRanges of '{resource.name}'")


@resource_rule(
    name="kubernetes-gateway-listener-tls",
    title="Gateway listeners serve TLS",
    description=(
        "Every listener of a Gateway API Gateway uses protocol HTTPS or TLS; a listener that terminates TLS "
        "(HTTPS, or TLS in mode Terminate) names its certificate in tls.certificateRefs. Plain HTTP, TCP and UDP "
        "listeners carry traffic in clear text (a redirect-only HTTP listener is exempted by name)."
    ),
    remediation=(
        "Use protocol HTTPS with tls={'mode': 'Terminate', 'certificateRefs': [{'kind': 'Secret', 'name': ...}]} "
        "(a cert-manager Certificate's Secret), or TLS passthrough to a backend that terminates TLS itself."
    ),
    scope="Gateway API Gateways",
    types=_GATEWAYS,
)
def gateway_listener_tls(resource: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    listeners = resource.get("spec.listeners")
    if listeners is UNKNOWN:
        yield Unverified(f"the listeners of Gateway '{resource.name}'")
        return
    items, unknown = dicts(listeners)
    if unknown:
        yield Unverified(f"the listeners of Gateway '{resource.name}'")
    for listener in items:
        name, protocol, tls = listener.get("name"), listener.get("protocol"), listener.get("tls")
        if protocol is UNKNOWN or tls is UNKNOWN:
            yield Unverified(f"listener '{name}' of Gateway '{resource.name}'")
        elif protocol not in ("HTTPS", "TLS"):
            yield (
                f"Gateway '{resource.name}' listener '{name}' serves {protocol} in clear text; use HTTPS with a "
                "certificate (exempt a redirect-only HTTP listener by name)."
            )
        else:
            tls = as_dict(tls)
            refs = tls.get("certificateRefs")
            if tls.get("mode", "Terminate") == "Passthrough":
                continue
            if refs is UNKNOWN:
                yield Unverified(f"the certificate of listener '{name}' of Gateway '{resource.name}'")
            elif not as_list(refs):
                yield (
                    f"Gateway '{resource.name}' listener '{name}' terminates TLS without a certificate; set "
                    "tls.certificateRefs to the Secret of its Certificate."
                )


# --- Managed PostgreSQL ------------------------------------------------------------------------------------


@resource_rule(
    name="aws-rds-instance-not-public",
    title="RDS instances are not publicly accessible",
    description=(
        "RDS DB instances, standalone or members of an Aurora cluster (aws.rds.ClusterInstance), keep "
        "publicly_accessible False, so they get no public address."
    ),
    remediation=(
        "Set publicly_accessible=False on aws.rds.Instance or aws.rds.ClusterInstance, place it in private subnets "
        "(aws.rds.SubnetGroup) and admit clients through security groups."
    ),
    scope="RDS instances",
    types=("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"),
)
def rds_not_public(instance: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    public = as_bool(instance.props.get("publiclyAccessible"))
    if public is UNKNOWN:
        yield Unverified(f"publicly_accessible of RDS instance '{instance.name}'")
    elif public is True:
        yield f"RDS instance '{instance.name}' is publicly accessible; set publicly_accessible=False."


@resource_rule(
    name="azure-postgres-flexible-server-no-public-access",
    title="PostgreSQL flexible servers disable public network access",
    description=(
        "Azure Database for PostgreSQL flexible servers set network.public_network_access Disabled explicitly "
        "(reached through a private endpoint or VNet integration)."
    ),
    remediation=(
        "Set network={'public_network_access': 'Disabled'} on azure_native.dbforpostgresql.Server and connect "
        "through a private endpoint (group postgresqlServer, zone privatelink.postgres.database.azure.com)."
    ),
    scope="Azure Database for PostgreSQL flexible servers",
    types=("azure-native:dbforpostgresql:Server",),
)
def pg_flexible_no_public_access(server: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    access = server.get("network.publicNetworkAccess")
    delegated = server.get("network.delegatedSubnetResourceId")
    if access is UNKNOWN:
        yield Unverified(f"network.public_network_access of PostgreSQL flexible server '{server.name}'")
    elif access != "Disabled" and not (access is None and isinstance(delegated, str) and delegated):
        yield (
            f"PostgreSQL flexible server '{server.name}' accepts connections from public networks "
            f"(public_network_access {access or 'unset'}); set network.public_network_access='Disabled'."
        )


_ALL_AZURE_SERVICES = "0.0.0.0"
_LAST_ADDRESS = "255.255.255.255"


@resource_rule(
    name="azure-postgres-flexible-server-firewall-no-public-range",
    title="PostgreSQL flexible server firewall rules admit neither every Azure service nor the internet",
    description=(
        "No firewall rule of an Azure Database for PostgreSQL flexible server starts at 0.0.0.0 (0.0.0.0-0.0.0.0 "
        "admits every Azure service, other customers' subscriptions included; a longer range from 0.0.0.0 admits "
        "the internet) or ends at 255.255.255.255 "
        "(https://learn.microsoft.com/azure/postgresql/flexible-server/concepts-firewall-rules)."
    ),
    remediation=(
        "Remove the rule and reach the server through its private endpoint or VNet integration; if a public client "
        "must connect, admit its own address range only."
    ),
    scope="Azure Database for PostgreSQL flexible server firewall rules",
    types=("azure-native:dbforpostgresql:FirewallRule",),
    settings=(PUBLIC_CIDR_LIMITS,),
)
def pg_flexible_firewall(rule: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    start, end = rule.props.get("startIpAddress"), rule.props.get("endIpAddress")
    label = f"Firewall rule '{rule.name}'"
    if start == _ALL_AZURE_SERVICES and end == _ALL_AZURE_SERVICES:
        yield (
            f"{label} admits every Azure service, other customers' included (0.0.0.0-0.0.0.0); remove it and connect "
            "through a private endpoint."
        )
    elif start == _ALL_AZURE_SERVICES or end == _LAST_ADDRESS or _range_exposed(start, end, config):
        yield f"{label} admits the internet ({start}-{end}); remove it or narrow it to the client's own addresses."
    elif UNKNOWN in (start, end) or _range_exposed(start, end, config) is None:
        yield Unverified(f"the address range of {label}")


def _range_exposed(start: Any, end: Any, config: dict[str, Any]) -> bool | None:
    """Whether the address range start-end admits the internet (`exposure` of its CIDR blocks); None if unreadable."""
    try:
        first, last = ipaddress.ip_address(str(start).strip()), ipaddress.ip_address(str(end).strip())
        blocks = [str(block) for block in ipaddress.summarize_address_range(first, last)]  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return exposure(blocks, config).exposed
