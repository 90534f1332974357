"""Write the JobSet of a distributed PyTorch training job for one of the platform's training namespaces.

    pulumi stack output --json -s <cluster-layer stack> > outputs.json
    python examples/training-job/job.py --outputs outputs.json --namespace research-vision \
        --image <registry>/trainer@sha256:<digest> --nodes 2 --gpus-per-node 8 --cpu 90 --memory 900Gi --efa 32 \
        -- /app/train.py --epochs 10 > job.yaml
    kubectl apply -f job.yaml

Everything the job needs from the platform comes from the stack's `trainingNamespaceDetails`: the Kueue queue (the
job waits for its team's GPU share, then runs on the pool its quota names), the service account with the team's
cloud identity (datasets read, models and artifacts written under the team's prefixes) and, with experiment
tracking, the team's MLflow address and credentials (`envFrom` the namespace's `mlflow-credentials` Secret), so
`mlflow.start_run()` in the training script logs to the platform's MLflow with no configuration.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from components._common import gpu
from components.kubernetes.training import torch_jobset


def build(outputs: dict[str, Any], options: argparse.Namespace) -> dict[str, Any]:
    """The JobSet for `options`, in the namespace `options.namespace` of the platform whose outputs are given."""
    details = (outputs.get("trainingNamespaceDetails") or {}).get(options.namespace)
    if details is None:
        known = ", ".join(sorted(outputs.get("trainingNamespaceDetails") or {})) or "none"
        raise SystemExit(f"error: --namespace {options.namespace} is not a training namespace of the stack ({known})")
    manifest = torch_jobset(
        name=options.name,
        namespace=options.namespace,
        image=options.image,
        command=options.command[:1],
        args=options.command[1:],
        nodes=options.nodes,
        gpus_per_node=options.gpus_per_node,
        cpu_per_node=options.cpu,
        memory_per_node=options.memory,
        queue_name=details["localQueue"],
        service_account_name=details["serviceAccount"],
        pod_labels=details.get("podLabels") or {},
        efa_devices_per_node=options.efa,
        efa_device_rdma=bool(options.efa)
        and bool(options.instance_type)
        and gpu.aws_efa_device_rdma(options.instance_type),
    )
    secret = details.get("trackingCredentialsSecret")
    if secret:
        for replicated in manifest["spec"]["replicatedJobs"]:
            for container in replicated["template"]["spec"]["template"]["spec"]["containers"]:
                container.setdefault("envFrom", []).append({"secretRef": {"name": secret}})
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--outputs", type=Path, required=True, help="`pulumi stack output --json` of the stack")
    parser.add_argument("--namespace", required=True, help="a training namespace of the stack")
    parser.add_argument("--name", default="train", help="the JobSet's name (default train)")
    parser.add_argument("--image", required=True, help="the training image, <repository>@sha256:<digest>")
    parser.add_argument("--nodes", type=int, default=1)
    parser.add_argument("--gpus-per-node", type=int, default=1)
    parser.add_argument("--cpu", default="8", help="CPU per node (quantity)")
    parser.add_argument("--memory", default="64Gi", help="memory per node (quantity), /dev/shm included")
    parser.add_argument("--efa", type=int, default=0, help="EFA interfaces per node (32 on p5.48xlarge), 0 for none")
    parser.add_argument("--instance-type", default="", help="with --efa: the pool's type, to turn on device RDMA")
    parser.add_argument("command", nargs="+", help="after --: the script (or -m module) and its arguments")
    options = parser.parse_args(argv)
    outputs = json.loads(options.outputs.read_text())
    yaml.safe_dump(build(outputs, options), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
