"""Integrity and supply chain: versioned storage, immutable scanned images, pinned images and Helm charts."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from typing import Any

from policies.rules.aws_common import BUCKET_TYPES, ECR_TYPES, ecr_label, versioning_status
from policies.rules.base import (
    UNKNOWN,
    Finding,
    NotApplicable,
    Resource,
    Stack,
    StackFinding,
    Unverified,
    as_bool,
    as_list,
    dicts,
    resource_rule,
    stack_rule,
    string_list,
)
from policies.rules.kubernetes_common import (
    HELM_RELEASE,
    HELM_TYPES,
    containers,
    namespace_of,
    serving_namespaces,
    workload_templates,
)
from policies.rules.settings import (
    ALLOWED_REGISTRIES,
    CRD_POD_SPEC_PATHS,
    DEFAULT_CHART_REPOSITORIES,
    SERVING_NAMESPACES,
    SYSTEM_NAMESPACES,
    VENDOR_REGISTRIES,
)


@stack_rule(
    name="aws-s3-bucket-versioning-enabled",
    title="S3 buckets keep object versions",
    description="Every S3 bucket has versioning enabled (aws.s3.BucketVersioning status 'Enabled'), so overwritten or deleted objects can be restored.",
    remediation="Add aws.s3.BucketVersioning(bucket=bucket.id, versioning_configuration={'status': 'Enabled'}).",
    scope="S3 buckets",
)
def s3_versioning(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    buckets = stack.of(BUCKET_TYPES)
    if not buckets:
        raise NotApplicable("the stack has no S3 buckets")
    for bucket in buckets:
        status = versioning_status(stack, bucket)
        if status is UNKNOWN:
            yield bucket, Unverified(f"the versioning of S3 bucket '{bucket.name}'")
        elif status != "Enabled":
            yield (
                bucket,
                (
                    f"S3 bucket '{bucket.name}' does not keep object versions; add aws.s3.BucketVersioning with "
                    "versioning_configuration={'status': 'Enabled'}."
                ),
            )


@resource_rule(
    name="aws-ecr-repository-immutable-tags",
    title="ECR image tags are immutable",
    description=(
        "ECR repositories and repository creation templates (the settings of the repositories ECR creates on a "
        "pull-through-cache pull, a replication or a first push) make image tags immutable (IMMUTABLE or "
        "IMMUTABLE_WITH_EXCLUSION); the AWS default MUTABLE fails."
    ),
    remediation=(
        "Set image_tag_mutability='IMMUTABLE' on aws.ecr.Repository or aws.ecr.RepositoryCreationTemplate and push "
        "a new tag for every build."
    ),
    scope="ECR repositories and repository creation templates",
    types=ECR_TYPES,
)
def ecr_immutable_tags(repository: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    mutability = repository.props.get("imageTagMutability")
    if mutability is UNKNOWN:
        yield Unverified(f"image_tag_mutability of {ecr_label(repository)}")
    elif mutability not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        yield f"{ecr_label(repository)} allows mutable tags; set image_tag_mutability='IMMUTABLE'."


def _enhanced_scan_covers(stack: Stack, repository: Resource) -> bool | Any:
    name = repository.props.get("name") or repository.name
    unknown = False
    for configuration in stack.of(("aws:ecr/registryScanningConfiguration:RegistryScanningConfiguration",)):
        kind = configuration.props.get("scanType")
        if kind is UNKNOWN:
            unknown = True
            continue
        if kind != "ENHANCED":
            continue
        rules, rules_unknown = dicts(configuration.props.get("rules"))
        unknown = unknown or rules_unknown
        for rule in rules:
            filters, filters_unknown = dicts(rule.get("repositoryFilters"))
            unknown = unknown or filters_unknown
            for item in filters:
                pattern = item.get("filter")
                if isinstance(pattern, str) and isinstance(name, str) and fnmatch.fnmatchcase(name, pattern):
                    return True
                unknown = unknown or pattern is UNKNOWN or name is UNKNOWN
    return UNKNOWN if unknown else False


@stack_rule(
    name="aws-ecr-repository-scan-on-push",
    title="ECR images are scanned for vulnerabilities",
    description="Every ECR repository scans images on push, or is covered by an ENHANCED registry scanning rule (Amazon Inspector).",
    remediation="Set image_scanning_configuration={'scan_on_push': True} on aws.ecr.Repository, or add aws.ecr.RegistryScanningConfiguration(scan_type='ENHANCED', rules=[...]) covering it.",
    scope="ECR repositories",
)
def ecr_scan(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    repositories = stack.of(("aws:ecr/repository:Repository",))
    if not repositories:
        raise NotApplicable("the stack has no ECR repositories")
    for repository in repositories:
        on_push = as_bool(repository.get("imageScanningConfiguration.scanOnPush"))
        if on_push is True:
            continue
        enhanced = _enhanced_scan_covers(stack, repository)
        if enhanced is True:
            continue
        if UNKNOWN in (on_push, enhanced):
            yield repository, Unverified(f"the image scanning of ECR repository '{repository.name}'")
        else:
            yield (
                repository,
                (
                    f"ECR repository '{repository.name}' does not scan images; set "
                    "image_scanning_configuration={'scan_on_push': True} (or enable ENHANCED registry scanning)."
                ),
            )


@resource_rule(
    name="azure-acr-registry-retention-policy",
    title="Container registries purge untagged manifests",
    description="Azure container registries enable the retention policy for untagged manifests (policies.retention_policy.status 'enabled', Premium SKU).",
    remediation="Set policies={'retention_policy': {'status': 'enabled', 'days': 7}} on azure_native.containerregistry.Registry.",
    scope="Azure container registries",
    types=("azure-native:containerregistry:Registry",),
)
def acr_retention(registry: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    status = registry.get("policies.retentionPolicy.status")
    if status is UNKNOWN:
        yield Unverified(f"policies.retention_policy of container registry '{registry.name}'")
    elif status != "enabled":
        yield f"Container registry '{registry.name}' keeps untagged manifests forever; set policies.retention_policy={{'status': 'enabled', 'days': 7}}."


@resource_rule(
    name="azure-acr-registry-export-disabled",
    title="Container registries forbid image export",
    description="Azure container registries disable artifact export (policies.export_policy.status 'disabled'), limiting exfiltration of model images.",
    remediation="Set policies={'export_policy': {'status': 'disabled'}} (requires public_network_access='Disabled').",
    scope="Azure container registries",
    types=("azure-native:containerregistry:Registry",),
)
def acr_export(registry: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    status = registry.get("policies.exportPolicy.status")
    if status is UNKNOWN:
        yield Unverified(f"policies.export_policy of container registry '{registry.name}'")
    elif status != "disabled":
        yield f"Container registry '{registry.name}' allows exporting images; set policies.export_policy={{'status': 'disabled'}}."


# --- Container images ------------------------------------------------------------------------------------


def parse_image(image: str) -> tuple[str, str, str | None, str | None]:
    """(registry host, repository, tag, digest) of an image reference; Docker Hub when no host is named."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, path = first, remainder
    else:
        host, path = "docker.io", rest
    name, colon, tag = path.rpartition(":") if ":" in path.rsplit("/", 1)[-1] else (path, "", "")
    return host, name, (tag if colon else None), (digest or None)


def _images(stack: Stack, config: dict[str, Any]) -> Iterator[tuple[Resource, str, Any, Any]]:
    """(workload, container label, image, namespace) for every container of every pod template of the stack.

    A container whose image the operator supplies (KServe's model server naming none) is left to the object that
    supplies it (the ServingRuntime, itself checked).
    """
    for workload, template in workload_templates(stack, config):
        items, unknown = containers(template.spec)
        namespace = namespace_of(workload)
        if unknown:
            yield workload, f"a container of {template.where}", UNKNOWN, namespace
        for container in items:
            image = container.get("image")
            if image is None and container.get("name") in template.runtime_images:
                continue
            yield workload, template.container(container), image, namespace


@stack_rule(
    name="kubernetes-workload-image-pinned",
    title="Images are pinned: by digest when serving, never 'latest'",
    description=(
        "Containers in serving namespaces (backends of a Gateway API route, Ingress or KServe namespaces, label "
        "mlplatform.io/tier=serving, or servingNamespaces) reference their "
        "image by digest (@sha256:...); other containers use an explicit tag other than 'latest' (or a digest)."
    ),
    remediation="Reference images as <registry>/<repository>@sha256:<digest> (e.g. from pulumi_docker's repo_digest output); elsewhere use an immutable version tag.",
    scope="workload containers",
    settings=(SERVING_NAMESPACES, SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def image_pinned(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    serving = serving_namespaces(
        stack, as_list(config.get("servingNamespaces")), as_list(config.get("systemNamespaces"))
    )
    found = False
    for workload, label, image, namespace in _images(stack, config):
        found = True
        if image is UNKNOWN or namespace is UNKNOWN:
            yield workload, Unverified(f"the image of {label}")
            continue
        if not isinstance(image, str):
            yield workload, f"{label} names no image; set image to a pinned reference."
            continue
        _, _, tag, digest = parse_image(image)
        if namespace in serving:
            if not (digest and digest.startswith("sha256:")):
                yield (
                    workload,
                    f"{label} in serving namespace '{namespace}' uses '{image}'; pin it by digest (image@sha256:<digest>).",
                )
        elif not digest and tag in (None, "latest"):
            yield (
                workload,
                f"{label} uses '{image}', which floats with 'latest'; pin an explicit version tag or a digest.",
            )
    if not found:
        raise NotApplicable("the stack has no workloads")


def _host_allowed(host: str, patterns: list[Any]) -> bool:
    for pattern in patterns:
        try:
            if isinstance(pattern, str) and re.fullmatch(pattern, host):
                return True
        except re.error:
            continue
    return False


@stack_rule(
    name="kubernetes-workload-image-registry-allowed",
    title="Images come from the platform's registries",
    description=(
        "Containers in serving namespaces pull only from allowedRegistries (the platform's ECR in an EU region or "
        "ACR); other containers pull from allowedRegistries or the pinned vendorRegistries."
    ),
    remediation="Push the image to the platform registry (components.AwsContainerRegistry / ACR) and reference it there, or extend allowedRegistries / vendorRegistries in the policy config.",
    scope="workload containers",
    settings=(ALLOWED_REGISTRIES, VENDOR_REGISTRIES, SERVING_NAMESPACES, SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def image_registry(stack: Stack, config: dict[str, Any]) -> Iterator[StackFinding]:
    serving = serving_namespaces(
        stack, as_list(config.get("servingNamespaces")), as_list(config.get("systemNamespaces"))
    )
    own = as_list(config.get("allowedRegistries"))
    vendors = as_list(config.get("vendorRegistries"))
    found = False
    for workload, label, image, namespace in _images(stack, config):
        found = True
        if image is UNKNOWN or namespace is UNKNOWN:
            yield workload, Unverified(f"the image of {label}")
            continue
        if not isinstance(image, str):
            continue
        host, repository, _, _ = parse_image(image)
        allowed = own if namespace in serving else [*own, *vendors]
        if not (_host_allowed(host, allowed) or _host_allowed(f"{host}/{repository}", allowed)):
            where = f"serving namespace '{namespace}'" if namespace in serving else f"namespace '{namespace}'"
            yield (
                workload,
                f"{label} in {where} pulls from {host}, which is not an allowed registry; push the image to the platform registry.",
            )
    if not found:
        raise NotApplicable("the stack has no workloads")


# --- Helm charts -----------------------------------------------------------------------------------------

_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")

ALLOWED_CHART_REPOS = string_list(
    "allowedChartRepos",
    "Chart repository URLs (https:// or oci://) charts may come from, besides OCI charts in the platform's registries.",
    DEFAULT_CHART_REPOSITORIES,
)


@resource_rule(
    name="kubernetes-helm-chart-version-pinned",
    title="Helm charts are pinned to an exact version",
    description="Helm charts and releases name an exact chart version (e.g. '82.13.3'), never a range or 'latest'.",
    remediation="Set version='<exact version>' from the pinned table in components/kubernetes/_charts.py.",
    scope="Helm charts and releases",
    types=HELM_TYPES,
)
def helm_version_pinned(chart: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    reference = chart.props.get("chart")
    if isinstance(reference, str) and reference.startswith((".", "/")):
        raise NotApplicable(f"chart '{chart.name}' is vendored in the repository ({reference})")
    version = chart.props.get("version")
    if version is UNKNOWN:
        yield Unverified(f"the version of chart '{chart.name}'")
    elif not (isinstance(version, str) and _EXACT_VERSION.match(version)):
        yield f"Chart '{chart.name}' is not pinned (version {version or 'unset'}); set version to an exact release such as '1.2.3'."


def _chart_source(chart: Resource) -> tuple[str | None, bool]:
    """The repository URL a chart comes from (None for a vendored chart), and whether it names a local alias."""
    reference = chart.props.get("chart")
    repository = chart.get("repositoryOpts.repo")
    if isinstance(reference, str) and "://" in reference:
        return reference.rsplit("/", 1)[0] if reference.startswith("oci://") else reference, False
    if isinstance(repository, str) and repository:
        return repository, False
    if isinstance(reference, str) and "/" in reference and not reference.startswith((".", "/")):
        return None, True
    return None, False


@resource_rule(
    name="kubernetes-helm-chart-repository-allowed",
    title="Helm charts come from trusted HTTPS or OCI repositories",
    description=(
        "Helm charts come from an https:// or oci:// repository listed in allowedChartRepos (the pinned upstream "
        "repositories) or from an OCI repository in the platform's registries; charts vendored in the repository pass."
    ),
    remediation="Set repository_opts={'repo': '<allowed https URL>'} or chart='oci://<platform registry>/<chart>'; add a new upstream to allowedChartRepos after review.",
    scope="Helm charts and releases",
    types=HELM_TYPES,
    settings=(ALLOWED_CHART_REPOS, ALLOWED_REGISTRIES),
)
def helm_repository(chart: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    if chart.props.get("chart") is UNKNOWN or chart.get("repositoryOpts.repo") is UNKNOWN:
        yield Unverified(f"the repository of chart '{chart.name}'")
        return
    source, alias = _chart_source(chart)
    if alias:
        yield f"Chart '{chart.name}' names a local repository alias ({chart.props.get('chart')}); set repository_opts.repo to the repository URL."
        return
    if source is None:
        return
    source = source.rstrip("/")
    if not source.startswith(("https://", "oci://")):
        yield f"Chart '{chart.name}' is fetched over an insecure scheme ({source}); use an https:// or oci:// repository."
        return
    allowed = [str(item).rstrip("/") for item in as_list(config.get("allowedChartRepos"))]
    if any(source == item or source.startswith(item + "/") for item in allowed):
        return
    if source.startswith("oci://") and _host_allowed(
        source[len("oci://") :].split("/", 1)[0], as_list(config.get("allowedRegistries"))
    ):
        return
    yield f"Chart '{chart.name}' comes from {source}, which is not in allowedChartRepos; mirror it into the platform registry or add the repository after review."


@resource_rule(
    name="kubernetes-helm-release-rendered",
    title="Helm charts are deployed so policies can see their manifests",
    description=(
        "Charts are deployed with kubernetes.helm.v4.Chart, whose rendered objects are registered and checked by "
        "every Kubernetes rule; helm.v3.Release hides its manifests from policy analysis."
    ),
    remediation="Replace kubernetes.helm.v3.Release with kubernetes.helm.v4.Chart (same chart, version, values and namespace).",
    scope="Helm v3 releases",
    types=(HELM_RELEASE,),
)
def helm_release_rendered(release: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield f"Helm release '{release.name}' renders its manifests inside the provider, so no policy can check them; use kubernetes.helm.v4.Chart."
