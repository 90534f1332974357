"""Configuration settings shared by several rules, with defaults taken from the platform's own constants."""

from __future__ import annotations

from typing import Any

from components._common.limits import (
    DEFAULT_MAX_LOG_RETENTION_DAYS,
    DEFAULT_MAX_RETENTION_DAYS,
    DEFAULT_MIN_LOG_RETENTION_DAYS,
    PLATFORM_SYSTEM_NAMESPACES,
)
from components._common.regions import EU_AWS_REGIONS, EU_AZURE_LOCATIONS
from policies.rules.base import Setting, string_list

DEFAULT_SYSTEM_NAMESPACES = PLATFORM_SYSTEM_NAMESPACES
"""Platform namespaces whose node-agent DaemonSets need host access (device plugin, DCGM, exporters, shippers)."""

_EU_ECR = "|".join(region.replace("-", r"\-") for region in EU_AWS_REGIONS)
DEFAULT_ALLOWED_REGISTRIES: tuple[str, ...] = (
    rf"[0-9]{{12}}\.dkr\.ecr\.({_EU_ECR})\.amazonaws\.com",
    r"[a-z0-9]{5,50}\.azurecr\.io",
)
"""The platform's own registries: ECR in an EU region, and ACR."""

DEFAULT_VENDOR_REGISTRIES: tuple[str, ...] = (
    r"nvcr\.io",
    r"registry\.k8s\.io",
    r"quay\.io",
    r"docker\.elastic\.co",
    r"cr\.fluentbit\.io",
    r"public\.ecr\.aws",
    # KEDA publishes only to GitHub's registry, where anyone can publish: allow its organisation, not the host.
    r"ghcr\.io/kedacore/[a-z0-9-]+",
    # Envoy Gateway's controller and proxy images are on Docker Hub, where anyone can publish: the Envoy project's
    # organisation only (docker.io/envoyproxy/gateway, docker.io/envoyproxy/envoy).
    r"docker\.io/envoyproxy/[a-z0-9-]+",
    # MLflow publishes its server images to GitHub's registry: the project's organisation only.
    r"ghcr\.io/mlflow/[a-z0-9-]+",
    # The retraining pipeline's image builder (_charts.CRANE_IMAGE): go-containerregistry's Google Container Registry
    # project only (gcr.io hosts every Google Cloud project's images).
    r"gcr\.io/go-containerregistry/[a-z0-9-]+",
    # Microsoft's own registry (only Microsoft publishes there): the pipeline's Azure CLI (_charts.AZURE_CLI_IMAGE).
    r"mcr\.microsoft\.com",
)
"""Vendor registries of the pinned platform components (NVIDIA, Kubernetes, Prometheus, Elastic, Fluent Bit,
KEDA, Envoy Gateway, cert-manager, MLflow, the retraining pipeline's crane and CLIs): a host, or `host/repository`
for a shared host."""

DEFAULT_CHART_REPOSITORIES: tuple[str, ...] = (
    "https://nvidia.github.io/k8s-device-plugin",
    "https://nvidia.github.io/dcgm-exporter/helm-charts",
    "https://helm.ngc.nvidia.com/nvidia",
    "https://prometheus-community.github.io/helm-charts",
    "https://grafana.github.io/helm-charts",
    "https://grafana-community.github.io/helm-charts",
    "https://helm.elastic.co",
    "https://fluent.github.io/helm-charts",
    "https://kubernetes-sigs.github.io/metrics-server",
    "https://kedacore.github.io/charts",
    "https://aws.github.io/eks-charts",
    "https://charts.jetstack.io",
    "oci://public.ecr.aws/karpenter",
    "https://kubernetes-sigs.github.io/secrets-store-csi-driver/charts",
    "https://aws.github.io/secrets-store-csi-driver-provider-aws",
    "oci://docker.io/envoyproxy",
    "oci://registry.k8s.io/kueue/charts",
    "oci://registry.k8s.io/jobset/charts",
    "https://argoproj.github.io/argo-helm",
)
"""Chart repositories of the components the platform pins (REFERENCE.md); extend with `allowedChartRepos`."""


ALLOWED_REGIONS = string_list(
    "allowedRegions",
    "AWS regions resources and replicas may be in (GDPR Art. 44-46). Defaults to the EU regions.",
    list(EU_AWS_REGIONS),
)
ALLOWED_LOCATIONS = string_list(
    "allowedLocations",
    "Azure locations (lower case, no spaces) resources and replicas may be in. Defaults to the EU locations.",
    list(EU_AZURE_LOCATIONS),
)
MAX_RETENTION_DAYS = Setting(
    "maxRetentionDays",
    {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 1},
        "default": dict(DEFAULT_MAX_RETENTION_DAYS),
        "description": "Retention ceiling in days per data classification (phi, pii, confidential, internal, public).",
    },
)
MIN_LOG_RETENTION_DAYS = Setting(
    "minLogRetentionDays",
    {
        "type": "integer",
        "minimum": 1,
        "default": DEFAULT_MIN_LOG_RETENTION_DAYS,
        "description": "Shortest retention of audit logs in days.",
    },
)
MAX_LOG_RETENTION_DAYS = Setting(
    "maxLogRetentionDays",
    {
        "type": "integer",
        "minimum": 1,
        "default": DEFAULT_MAX_LOG_RETENTION_DAYS,
        "description": "Longest retention of logs in days (storage limitation).",
    },
)
SYSTEM_NAMESPACES = string_list(
    "systemNamespaces",
    "Platform namespaces whose DaemonSets are node agents that may use host access and run privileged.",
    list(DEFAULT_SYSTEM_NAMESPACES),
)
SERVING_NAMESPACES = string_list(
    "servingNamespaces",
    "Namespaces treated as serving namespaces in addition to those recognised by structure (a Gateway API "
    "route's backend, an Ingress, a KServe InferenceService) or labelled mlplatform.io/tier=serving "
    "(for namespaces created outside this stack).",
    [],
)
ALLOWED_REGISTRIES = string_list(
    "allowedRegistries",
    "Registry hosts (regular expressions, full match) every workload may pull from. Defaults to ECR in "
    "an EU region and ACR.",
    list(DEFAULT_ALLOWED_REGISTRIES),
)
VENDOR_REGISTRIES = string_list(
    "vendorRegistries",
    "Further registries allowed outside serving namespaces, for pinned vendor components: regular "
    "expressions that fully match the registry host, or `host/repository` for one publisher on a shared host.",
    list(DEFAULT_VENDOR_REGISTRIES),
)

POD_SPEC_SHAPES: tuple[str, ...] = ("podSpec", "runtimePodSpec", "kserveComponent", "argoTemplate")
"""How a custom resource carries a pod at a path (see `kubernetes_common.pod_templates`): a PodSpec; a PodSpec
fragment whose pods take their service account from another object (KServe ServingRuntime); a KServe
InferenceService component (a PodSpec plus one model-server container per framework key); an Argo template (adapted
to the pod the workflow controller builds from it and the workflow spec that holds it)."""

_KSERVE_COMPONENT = "kserveComponent"
_ARGO_TEMPLATE = "argoTemplate"
_KUBEFLOW_V1_REPLICA_SPECS = {
    "PyTorchJob": "pytorchReplicaSpecs",
    "TFJob": "tfReplicaSpecs",
    "MPIJob": "mpiReplicaSpecs",
    "XGBoostJob": "xgbReplicaSpecs",
    "PaddleJob": "paddleReplicaSpecs",
    "JAXJob": "jaxReplicaSpecs",
}

DEFAULT_CRD_POD_SPEC_PATHS: dict[str, list[Any]] = {
    # kubernetes-sigs/jobset v0.12.0 (the pinned chart), api/jobset/v1alpha2/jobset_types.go: ReplicatedJob.Template
    # is a batchv1.JobTemplateSpec.
    "jobset.x-k8s.io/v1alpha2:JobSet": ["spec.replicatedJobs[].template.spec.template.spec"],
    # kubeflow/training-operator v1.9.0, pkg/apis/kubeflow.org/v1/*_types.go: map[ReplicaType]*ReplicaSpec whose
    # Template is a PodTemplateSpec (common_types.go).
    **{
        f"kubeflow.org/v1:{kind}": [f"spec.{field}.*.template.spec"]
        for kind, field in _KUBEFLOW_V1_REPLICA_SPECS.items()
    },
    # kubeflow/trainer v2.3.0, pkg/apis/trainer/v1alpha1/trainingruntime_types.go: a runtime's template is a
    # JobSetTemplateSpec. A TrainJob carries no pod spec of its own, only partial overrides (runtimePatches: a
    # PodSpecPatch of service account, volumes, container env/mounts/security contexts) and trainer.image.
    **{
        f"trainer.kubeflow.org/v1alpha1:{kind}": ["spec.template.spec.replicatedJobs[].template.spec.template.spec"]
        for kind in ("TrainingRuntime", "ClusterTrainingRuntime")
    },
    # kserve/kserve v0.20.0, pkg/apis/serving/v1beta1: PredictorSpec, ExplainerSpec and TransformerSpec inline a
    # PodSpec; CanarySpec holds a PredictorSpec; WorkerSpec (multi-node) inlines a PodSpec.
    "serving.kserve.io/v1beta1:InferenceService": [
        {"path": "spec.predictor", "shape": _KSERVE_COMPONENT},
        {"path": "spec.predictor.workerSpec", "shape": "podSpec"},
        {"path": "spec.explainer", "shape": _KSERVE_COMPONENT},
        {"path": "spec.transformer", "shape": _KSERVE_COMPONENT},
        {"path": "spec.canary[].predictor", "shape": _KSERVE_COMPONENT},
    ],
    # kserve/kserve v0.20.0, pkg/apis/serving/v1alpha1/servingruntime_types.go: ServingRuntimePodSpec (containers,
    # volumes, hostIPC, scheduling) inline in the spec and in workerSpec; the pods' service account is the
    # InferenceService's.
    **{
        f"serving.kserve.io/v1alpha1:{kind}": [
            {"path": "spec", "shape": "runtimePodSpec"},
            {"path": "spec.workerSpec", "shape": "runtimePodSpec"},
        ]
        for kind in ("ServingRuntime", "ClusterServingRuntime")
    },
    # argoproj/argo-workflows v4.0.6 (the pinned chart's app), pkg/apis/workflow/v1alpha1/workflow_types.go:
    # WorkflowSpec.Templates; a CronWorkflow's spec.workflowSpec is a WorkflowSpec (cron_workflow_types.go).
    **{
        f"argoproj.io/v1alpha1:{kind}": [{"path": "spec.templates[]", "shape": _ARGO_TEMPLATE}]
        for kind in ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate")
    },
    "argoproj.io/v1alpha1:CronWorkflow": [{"path": "spec.workflowSpec.templates[]", "shape": _ARGO_TEMPLATE}],
}
"""Where the operators the platform runs or supports carry pods. Karpenter's resources (NodePool, EC2NodeClass,
AKSNodeClass) and Kueue's (queues, flavors, Workloads it derives from the jobs it admits) carry none."""

CRD_POD_SPEC_PATHS = Setting(
    "podSpecPaths",
    {
        "type": "object",
        "default": DEFAULT_CRD_POD_SPEC_PATHS,
        "description": (
            "Custom resources that carry pods, so every workload rule checks them like a Deployment: a type token "
            "(`kubernetes:<group>/<version>:<Kind>`) or `<group>/<version>:<Kind>` -> the paths of its pod specs. "
            "A path is dotted; `name[]` is every item of a list and `*` every value of a map. An item is the path "
            "of a PodSpec, or {path, shape} for another shape: runtimePodSpec (the pods' service account is set "
            "elsewhere), kserveComponent, argoTemplate. Entries add to the defaults (JobSet, Kubeflow training "
            "jobs and runtimes, KServe, Argo Workflows); an entry for a default kind replaces its paths."
        ),
        "additionalProperties": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string", "minLength": 1},
                    {
                        "type": "object",
                        "properties": {
                            "path": {"type": "string", "minLength": 1},
                            "shape": {"type": "string", "enum": list(POD_SPEC_SHAPES)},
                        },
                        "required": ["path", "shape"],
                        "additionalProperties": False,
                    },
                ]
            },
        },
    },
)
