"""Chart workloads the values cannot harden get their security contexts from a transform (GPU operator)."""

from __future__ import annotations

import kubernetes_validate
import pulumi

from components.kubernetes import _charts, _values

# gpu-operator v26.7.0 templates/operator.yaml, rendered: the container has no securityContext.
RENDERED_OPERATOR = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "gpu-operator", "namespace": "gpu-operator"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "gpu-operator"}},
        "template": {
            "metadata": {"labels": {"app": "gpu-operator"}},
            "spec": {
                "serviceAccountName": "gpu-operator",
                "containers": [
                    {
                        "name": "gpu-operator",
                        "image": "nvcr.io/nvidia/gpu-operator:v26.7.0",
                        "command": ["gpu-operator"],
                        "resources": {"limits": {"memory": "350Mi"}, "requests": {"cpu": "200m", "memory": "128Mi"}},
                    }
                ],
            },
        },
    },
}


def hardened() -> dict:
    result = _charts.harden_workload(
        RENDERED_OPERATOR,
        name="gpu-operator",
        pod_security_context=_values.GPU_OPERATOR_POD_SECURITY_CONTEXT,
        container_security_context=_values.GPU_OPERATOR_CONTAINER_SECURITY_CONTEXT,
    )
    assert result is not None
    return result


def test_the_gpu_operator_runs_non_root_read_only_without_capabilities_or_escalation() -> None:
    pod = hardened()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 1000, "the image's USER 1000:1000"
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["readOnlyRootFilesystem"] is True
    assert container["resources"] == RENDERED_OPERATOR["spec"]["template"]["spec"]["containers"][0]["resources"]


def test_the_hardened_deployment_is_valid_and_meets_pod_security_restricted_fields() -> None:
    kubernetes_validate.validate(hardened(), "1.34.0", strict=True)


def test_the_transform_leaves_every_other_object_alone() -> None:
    other = {**RENDERED_OPERATOR, "metadata": {"name": "nvidia-gpu-operator-node-feature-discovery-master"}}
    assert (
        _charts.harden_workload(
            other,
            name="gpu-operator",
            pod_security_context=_values.GPU_OPERATOR_POD_SECURITY_CONTEXT,
            container_security_context=_values.GPU_OPERATOR_CONTAINER_SECURITY_CONTEXT,
        )
        is None
    )


def test_the_transform_patches_the_operator_deployment_the_chart_registers() -> None:
    transform = _charts.gpu_operator_hardening_transform()

    def apply(type_: str, props: dict) -> pulumi.ResourceTransformResult | None:
        args = pulumi.ResourceTransformArgs(
            custom=True,
            type_=type_,
            name="nvidia-gpu-operator:gpu-operator/gpu-operator",
            props=props,
            opts=pulumi.ResourceOptions(),
        )
        return transform(args)

    result = apply("kubernetes:apps/v1:Deployment", RENDERED_OPERATOR)
    assert result is not None and result.props == hardened()
    assert apply("kubernetes:core/v1:ServiceAccount", {"metadata": {"name": "gpu-operator"}}) is None
