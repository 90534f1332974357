"""The Kubernetes layer stays cloud-agnostic and documents its public API (DESIGN.md §3, §4)."""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

import pulumi
import pytest

import components.kubernetes as layer

PACKAGE = Path(layer.__file__).parent
FORBIDDEN = ("pulumi_aws", "pulumi_azure_native", "pulumi_azure", "pulumi_docker", "pulumi_gcp", "boto3", "azure")
ALLOWED_THIRD_PARTY = {"pulumi", "pulumi_kubernetes", "pulumi_random", "pulumi_tls"}
ALLOWED_POLICY_MODULES = {"policies.admission"}
"""The admission-policy generator (standard library only), which `AdmissionPolicies` installs."""
COMPONENTS = [getattr(layer, name) for name in layer.__all__ if not name.endswith("Args")]


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


# Sub-packages by capability (autoscaling/, ...) are held to the same boundary.
@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_module_imports_a_cloud_sdk(path: Path) -> None:
    for module in imported_modules(path):
        root = module.split(".")[0]
        assert root not in FORBIDDEN, f"{path.name} imports {module}: the layer must run on any cluster"
        if module in ALLOWED_POLICY_MODULES:
            continue
        if root not in ("__future__", "components") and root not in ALLOWED_THIRD_PARTY:
            assert root in sys.stdlib_module_names, f"{path.name} imports third-party {module}"


def test_every_component_and_its_args_are_exported_explicitly() -> None:
    assert sorted(layer.__all__) == [
        "AdmissionPolicies",
        "AdmissionPoliciesArgs",
        "DistributedTraining",
        "DistributedTrainingArgs",
        "EfaDevicePlugin",
        "EfaDevicePluginArgs",
        "EfaPoolTaintArgs",
        "EncryptedStorageClass",
        "EncryptedStorageClassArgs",
        "ExperimentTracking",
        "ExperimentTrackingArgs",
        "GpuPoolTaintArgs",
        "GpuQueueCpuQuotaArgs",
        "GpuQueueFlavorArgs",
        "GpuQueueQuotaArgs",
        "GpuQueueTeamArgs",
        "GpuQueues",
        "GpuQueuesArgs",
        "GpuStack",
        "GpuStackArgs",
        "Karpenter",
        "KarpenterArgs",
        "Logging",
        "LoggingArgs",
        "ModelAutoscalingArgs",
        "ModelCanaryArgs",
        "ModelDeployment",
        "ModelDeploymentArgs",
        "ModelGatewayArgs",
        "ModelSecretArgs",
        "ModelService",
        "ModelServiceArgs",
        "ModelServingNamespace",
        "ModelServingNamespaceArgs",
        "ModelVersionArgs",
        "Monitoring",
        "MonitoringArgs",
        "PipelineArtifactStoreArgs",
        "PipelineTeamArgs",
        "Pipelines",
        "PipelinesArgs",
        "PodAutoscaling",
        "PodAutoscalingArgs",
        "PriorityExpander",
        "PriorityExpanderArgs",
        "SecretsStoreCsi",
        "SecretsStoreCsiArgs",
        "ServingGateway",
        "ServingGatewayArgs",
        "ServingSecretStoreArgs",
        "TrainingNamespace",
        "TrainingNamespaceArgs",
    ]


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda component: component.__name__)
def test_components_are_pulumi_components_with_documented_args_and_outputs(component: type) -> None:
    assert issubclass(component, pulumi.ComponentResource)
    assert component.__doc__ and "Creates:" in component.__doc__, "class docstring: one sentence, Creates:, security"
    args_type = getattr(layer, f"{component.__name__}Args")
    source = Path(inspect.getfile(component)).read_text()
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name in (component.__name__, args_type.__name__):
            body = node.body
            for index, statement in enumerate(body):
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    following = body[index + 1] if index + 1 < len(body) else None
                    documented = (
                        isinstance(following, ast.Expr)
                        and isinstance(following.value, ast.Constant)
                        and isinstance(following.value.value, str)
                    )
                    assert documented, f"{node.name}.{statement.target.id} needs a docstring (meaning, unit, default)"
                    if node.name == args_type.__name__:
                        text = " ".join(following.value.value.split())
                        assert "Defaults to" in text or "Required" in text, f"{node.name}.{statement.target.id}"


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda component: component.__name__)
def test_type_tokens_are_mlplatform_index_class_name(component: type) -> None:
    source = Path(inspect.getfile(component)).read_text()
    assert f'"mlplatform:index:{component.__name__}"' in source
