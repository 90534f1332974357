"""A team's program: retrain the fraud model on a schedule with the platform's Argo Workflows, and build its serving
image by digest.

Installs two objects in the team's training namespace: the `retrain-fraud` WorkflowTemplate (prepare data → train a
distributed PyTorch JobSet queued by Kueue → evaluate → quality gate → register in MLflow → append the model to the
server image and push it) and the CronWorkflow that runs it every `schedule`. Run it now with the `submitCommand`
output (`argo submit -n <namespace> --from workflowtemplate/retrain-fraud`); the pushed `repo@sha256:...` is the
workflow's `image` output (`argo get @latest -n <namespace> -o json | jq -r .status.outputs.parameters`), which the
serving program (../team-model) pins as a version's `image`.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.training.retraining import retraining_pipeline

config = pulumi.Config()
platform = pulumi.StackReference(config.require("platformStack"))
namespace = config.require("namespace")
team = config.require("team")
model = config.require("model")
images = config.require_object("images")
workers = config.get_int("workers") or 2
gpus_per_worker = config.get_int("gpusPerWorker") or 1

RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}

# The distributed training job: `workers` pods of one indexed Job, one torchrun node each, rendezvous at pod 0
# (JobSet gives each pod the DNS name <jobset>-<job>-<job index>-<pod index>.<jobset>). The pipeline names the
# JobSet after the run and tells it where the data is and where the model goes (MLPLATFORM_DATA_URI and
# MLPLATFORM_MODEL_URI); Argo substitutes {{workflow.name}} in the manifest.
run = "{{workflow.name}}"
jobset = {
    "apiVersion": "jobset.x-k8s.io/v1alpha2",
    "kind": "JobSet",
    "metadata": {"name": "fraud-train", "labels": {"app.kubernetes.io/name": "fraud-train"}},
    "spec": {
        "failurePolicy": {"maxRestarts": 0},
        "network": {"enableDNSHostnames": True},
        "replicatedJobs": [
            {
                "name": "workers",
                "replicas": 1,
                "template": {
                    "spec": {
                        "parallelism": workers,
                        "completions": workers,
                        "completionMode": "Indexed",
                        "backoffLimit": 0,
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "serviceAccountName": "trainer",
                                "securityContext": {
                                    "runAsNonRoot": True,
                                    "runAsUser": 1000,
                                    "runAsGroup": 1000,
                                    "seccompProfile": {"type": "RuntimeDefault"},
                                },
                                "containers": [
                                    {
                                        "name": "trainer",
                                        "image": images["train"],
                                        "command": [
                                            "torchrun",
                                            f"--nnodes={workers}",
                                            f"--nproc-per-node={gpus_per_worker}",
                                            "--node-rank=$(JOB_COMPLETION_INDEX)",
                                            f"--master-addr={run}-workers-0-0.{run}",
                                            "--master-port=29500",
                                            "-m",
                                            "train",
                                        ],
                                        "env": [{"name": "HOME", "value": "/tmp"}],
                                        "resources": {
                                            "requests": {"cpu": "8", "memory": "64Gi"},
                                            "limits": {"memory": "64Gi", "nvidia.com/gpu": str(gpus_per_worker)},
                                        },
                                        "securityContext": dict(RESTRICTED),
                                        "volumeMounts": [
                                            {"name": "dshm", "mountPath": "/dev/shm"},
                                            {"name": "tmp", "mountPath": "/tmp"},
                                        ],
                                    }
                                ],
                                # NCCL and data loaders share memory through /dev/shm; the container default is 64 MiB.
                                "volumes": [
                                    {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}},
                                    {"name": "tmp", "emptyDir": {}},
                                ],
                            }
                        },
                    }
                },
            }
        ],
    },
}

pipeline = retraining_pipeline(
    name=f"retrain-{model}",
    namespace=namespace,
    team=team,
    queue_name=config.require("queue"),
    jobset=jobset,
    artifact_store_uri=config.require("artifactStoreUri"),
    dataset_uri=config.require("datasetUri"),
    prepare_image=images["prepare"],
    prepare_command=["python", "-m", "prepare"],
    evaluate_image=images["evaluate"],
    evaluate_command=["python", "-m", "evaluate"],
    model_name=model,
    mlflow_tracking_uri=config.require("mlflowTrackingUri"),
    mlflow_credentials_secret=config.require("mlflowCredentialsSecret"),
    server_base_image=images["serverBase"],
    # The platform's model registry (its `registryRepositoryUrls.models` output), where the serving images go.
    target_repository=config.require("targetRepository"),
    schedule=config.get("schedule") or "0 3 * * 1",
    min_metric=config.get("minMetric") or "0.9",
)

cluster = k8s.Provider("platform", kubeconfig=platform.require_output("kubeconfig"), namespace=namespace)
template = pipeline.workflow_template
template_resource = k8s.apiextensions.CustomResource(
    "retrain-template",
    api_version=template["apiVersion"],
    kind=template["kind"],
    metadata=template["metadata"],
    spec=template["spec"],
    opts=pulumi.ResourceOptions(provider=cluster),
)
cron = pipeline.cron_workflow
# The schedule names the template: created after it, so its first run finds it.
cron_resource = k8s.apiextensions.CustomResource(
    "retrain-schedule",
    api_version=cron["apiVersion"],
    kind=cron["kind"],
    metadata=cron["metadata"],
    spec=cron["spec"],
    opts=pulumi.ResourceOptions(provider=cluster, depends_on=[template_resource]),
)

pulumi.export("workflowTemplate", template["metadata"]["name"])
pulumi.export("cronWorkflow", cron["metadata"]["name"])
pulumi.export("schedule", cron["spec"]["schedules"])
pulumi.export("submitCommand", pipeline.submit_command)
