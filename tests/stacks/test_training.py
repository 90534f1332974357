"""The training half of the shipped stacks: queues a job cannot bypass, on the pools the quotas name, with identities
that reach only the team's own prefixes.

Behaviour, not inputs: an admitted pod's placement (the ResourceFlavor's labels and tolerations) is matched against
the nodes the pool really gets (Karpenter's NodePool on EKS, the AKS agent pool), Kueue's managed-namespace selector
is evaluated against the namespaces the stack creates, and the identities' policies are evaluated as AWS IAM and
Azure ABAC would.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components._common import gpu
from components.kubernetes.training.tracking import SERVER_POD_LABELS
from stacks.config import PlatformConfig, foundation_mismatches
from stacks.load import PlatformConfigError, validate_platform_config
from stacks.synth import Synthesis, synthesize
from tests.components.aws.iam_eval import allows
from tests.components.azure.abac_eval import BlobRequest, evaluate
from tests.components.kubernetes.helpers import manifest, selector_matches, tolerates
from tests.components.kubernetes.netpol import Pod, Policy, allowed

CLUSTER_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue"
LOCAL_QUEUE = "kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue"
FLAVOR = "kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
CHART = "kubernetes:helm.sh/v4:Chart"
AGENT_POOL = "azure-native:containerservice:AgentPool"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"


@pytest.fixture(scope="module")
def prod() -> Synthesis:
    return synthesize("prod")


@pytest.fixture(scope="module")
def prod_cluster() -> Synthesis:
    return synthesize("prod-cluster")


@pytest.fixture(scope="module")
def azure_prod() -> Synthesis:
    return synthesize("azure-prod")


@pytest.fixture(scope="module")
def azure_prod_cluster() -> Synthesis:
    return synthesize("azure-prod-cluster")


def _stack_training(stack: str) -> list[dict[str, Any]]:
    with open(f"Pulumi.{stack}.yaml") as handle:
        return yaml.safe_load(handle)["config"]["mlplatform:platform"]["training"]["namespaces"]


def _kueue_config(layer: Synthesis) -> dict[str, Any]:
    (chart,) = [r for r in layer.monitor.by_type(CHART) if r.name.endswith("-kueue")]
    return json.loads(chart.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"])


def _namespace_labels(layer: Synthesis, name: str) -> dict[str, str]:
    """The namespace's labels as the API server stores them: with `kubernetes.io/metadata.name`, which it sets on
    every namespace (immutable, Kubernetes >= 1.21) and which selectors by name rely on."""
    (namespace,) = [r for r in layer.monitor.by_type(NAMESPACE) if r.inputs["metadata"]["name"] == name]
    return {**(namespace.inputs["metadata"].get("labels") or {}), "kubernetes.io/metadata.name": name}


@pytest.mark.parametrize("stack", ["prod-cluster", "azure-prod-cluster"])
def test_every_training_namespace_gets_its_queue_with_the_configured_quota_per_pool(stack: str, request) -> None:
    layer: Synthesis = request.getfixturevalue(stack.replace("-", "_"))
    queues = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in layer.monitor.by_type(CLUSTER_QUEUE)}
    local = {r.inputs["metadata"]["namespace"]: r.inputs["spec"] for r in layer.monitor.by_type(LOCAL_QUEUE)}
    for namespace in _stack_training(stack):
        name = namespace["name"]
        assert name in local, f"{name}: a LocalQueue, the queue its jobs name"
        queue = queues[local[name]["clusterQueue"]]
        assert selector_matches(queue["namespaceSelector"], _namespace_labels(layer, name)), (
            f"{name}: its ClusterQueue admits workloads from the namespace"
        )
        flavors = {
            flavor["name"]: {resource["name"]: resource for resource in flavor["resources"]}
            for group in queue["resourceGroups"]
            for flavor in group["flavors"]
        }
        for quota in namespace["quotas"]:
            gpus = flavors[quota["pool"]]["nvidia.com/gpu"]
            assert int(gpus["nominalQuota"]) == quota["gpus"], f"{name}: the configured GPUs on {quota['pool']}"
            assert int(gpus["borrowingLimit"]) == quota.get("borrowGpus", 0), f"{name}: borrowing is bounded"
            assert str(flavors[quota["pool"]]["memory"]["nominalQuota"]) == quota["memory"]
        (resource_quota,) = [r for r in layer.monitor.by_type(QUOTA) if r.inputs["metadata"]["namespace"] == name]
        ceiling = sum(quota["gpus"] + quota.get("borrowGpus", 0) for quota in namespace["quotas"])
        cpu_only = flavors["cpu"]
        assert int(cpu_only["nvidia.com/gpu"]["nominalQuota"]) == 0, f"{name}: the CPU-only flavor has no GPU"
        assert int(cpu_only["nvidia.com/gpu"]["borrowingLimit"]) == 0, f"{name}: and borrows none"
        assert int(resource_quota.inputs["spec"]["hard"]["requests.nvidia.com/gpu"]) == ceiling, (
            f"{name}: the namespace's hard ceiling is its guaranteed share plus what it may borrow, so Kueue can "
            "admit every borrowed job and nothing beyond"
        )


@pytest.mark.parametrize("stack", ["prod-cluster", "azure-prod-cluster"])
def test_jobs_in_a_training_namespace_cannot_bypass_the_queue(stack: str, request) -> None:
    layer: Synthesis = request.getfixturevalue(stack.replace("-", "_"))
    config = _kueue_config(layer)
    assert config["manageJobsWithoutQueueName"] is True, "a job naming no queue is suspended, never run directly"
    selector = config["managedJobsNamespaceSelector"]
    for namespace in _stack_training(stack):
        assert selector_matches(selector, _namespace_labels(layer, namespace["name"])), (
            f"{namespace['name']}: Kueue's webhooks see (and suspend) every job created there"
        )
    serving = [r.inputs["metadata"]["name"] for r in layer.monitor.by_type(NAMESPACE)]
    for name in serving:
        if name not in {n["name"] for n in _stack_training(stack)}:
            assert not selector_matches(selector, _namespace_labels(layer, name)), (
                f"{name}: outside the training namespaces Kueue never intercepts a job (an outage cannot block it)"
            )
    frameworks = config["integrations"]["frameworks"]
    assert {"batch/job", "jobset.x-k8s.io/jobset"} <= set(frameworks), "plain Jobs and JobSets are both queued"


def _node_pool(layer: Synthesis, pool: str) -> dict[str, Any]:
    (node_pool,) = [r for r in layer.monitor.by_type(NODE_POOL) if r.inputs["metadata"]["name"] == pool]
    return node_pool.inputs["spec"]["template"]


def test_an_admitted_job_lands_on_the_pool_its_quota_names_on_eks(prod_cluster: Synthesis) -> None:
    flavors = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in prod_cluster.monitor.by_type(FLAVOR)}
    for namespace in _stack_training("prod-cluster"):
        for quota in namespace["quotas"]:
            flavor = flavors[quota["pool"]]
            template = _node_pool(prod_cluster, quota["pool"])
            labels = template["metadata"]["labels"]
            for key, value in flavor["nodeLabels"].items():
                assert labels.get(key) == value, f"{quota['pool']}: Karpenter's nodes carry the flavor's {key}"
            for taint in template["spec"]["taints"]:
                assert tolerates(
                    flavor["tolerations"], gpu.Taint(taint["key"], taint.get("value", ""), taint["effect"])
                ), f"{quota['pool']}: an admitted pod tolerates the node's {taint['key']} taint"
            other = [
                p for p in prod_cluster.monitor.by_type(NODE_POOL) if p.inputs["metadata"]["name"] != quota["pool"]
            ]
            for node_pool in other:
                other_labels = node_pool.inputs["spec"]["template"]["metadata"].get("labels") or {}
                assert not all(other_labels.get(k) == v for k, v in flavor["nodeLabels"].items()), (
                    f"{quota['pool']}: the flavor's labels select no other pool ({node_pool.inputs['metadata']['name']})"
                )


def test_an_admitted_job_lands_on_the_pool_its_quota_names_on_aks(
    azure_prod: Synthesis, azure_prod_cluster: Synthesis
) -> None:
    flavors = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in azure_prod_cluster.monitor.by_type(FLAVOR)}
    agent_pools = {r.inputs.get("agentPoolName", r.name): r.inputs for r in azure_prod.monitor.by_type(AGENT_POOL)}
    for namespace in _stack_training("azure-prod-cluster"):
        for quota in namespace["quotas"]:
            flavor = flavors[quota["pool"]]
            (pool,) = [p for name, p in agent_pools.items() if name.endswith(quota["pool"])]
            for key, value in flavor["nodeLabels"].items():
                assert pool["nodeLabels"].get(key) == value, f"{quota['pool']}: the AKS nodes carry {key}"
            for text in pool["nodeTaints"]:
                key_value, effect = text.split(":")
                key, _, value = key_value.partition("=")
                assert tolerates(flavor["tolerations"], gpu.Taint(key, value, effect)), (
                    f"{quota['pool']}: an admitted pod tolerates the node's {text} taint"
                )


def _training_policy(prod: Synthesis, namespace: str) -> dict[str, Any]:
    documents = [
        json.loads(r.inputs["policy"])
        for r in prod.monitor.by_type(ROLE_POLICY)
        if r.name.startswith(f"training-{namespace}-")
    ]
    return {"Statement": [statement for document in documents for statement in document["Statement"]]}


def test_on_eks_the_training_identity_writes_only_its_team_prefix_and_reads_no_other_team(
    prod: Synthesis, prod_cluster: Synthesis
) -> None:
    buckets = prod.outputs["bucketNames"]
    (team,) = [n["name"] for n in _stack_training("prod")]
    policy = _training_policy(prod, team)

    def arn(bucket: str, key: str) -> str:
        return f"arn:aws:s3:::{buckets[bucket]}/{key}"

    assert allows(policy, "s3:GetObject", arn("datasets", f"datasets/{team}/images/0001.png")), "reads its datasets"
    assert not allows(policy, "s3:PutObject", arn("datasets", f"datasets/{team}/x.png")), "datasets are read-only"
    assert allows(policy, "s3:PutObject", arn("models", f"models/{team}/resnet/1/model.pt")), "writes its models"
    assert allows(policy, "s3:PutObject", arn("artifacts", f"artifacts/{team}/runs/42/ckpt.pt")), "writes checkpoints"
    for bucket in ("datasets", "models", "artifacts"):
        other = f"{bucket}/other-team/secret.bin"
        assert not allows(policy, "s3:GetObject", arn(bucket, other)), f"never reads another team's {bucket}"
        assert not allows(policy, "s3:PutObject", arn(bucket, other)), f"never writes another team's {bucket}"
        assert not allows(policy, "s3:DeleteObject", arn(bucket, f"{bucket}/{team}/x")), "no deletes"
    (role,) = [r for r in prod.monitor.by_type(ROLE) if r.name == f"training-{team}-role"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    subjects = [
        value
        for statement in trust["Statement"]
        for condition in statement.get("Condition", {}).values()
        for key, value in condition.items()
        if key.endswith(":sub")
    ]
    (account,) = [r for r in prod_cluster.monitor.by_type(SERVICE_ACCOUNT) if r.inputs["metadata"]["namespace"] == team]
    expected = f"system:serviceaccount:{team}:{account.inputs['metadata']['name']}"
    assert subjects == [expected], "only the training namespace's service account may assume the role"
    annotations = account.inputs["metadata"].get("annotations") or {}
    assert annotations.get("eks.amazonaws.com/role-arn") == prod.outputs["trainingIdentities"][team], (
        "the cluster layer's service account carries the role the foundation made for it"
    )


def test_on_aks_the_training_identity_writes_only_its_team_prefix(azure_prod: Synthesis) -> None:
    (team,) = [n["name"] for n in _stack_training("azure-prod")]
    grants = [r for r in azure_prod.monitor.by_type(ROLE_ASSIGNMENT) if f"train-{team}-blob" in r.name]
    assert grants, "the training identity has data-plane grants"
    blobs = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
    for grant in grants:
        condition = grant.inputs.get("condition")
        assert condition, f"{grant.name}: every blob grant is confined by an ABAC condition"
        scope = str(grant.inputs["scope"])
        assert any(scope.endswith(f"/containers/{c}") or c in scope for c in ("datasets", "models", "artifacts")), (
            f"{grant.name}: scoped to one container, never the account"
        )
        store = "datasets" if "reader" in grant.name else ("models" if grant.name.endswith("-0") else "artifacts")
        outside = BlobRequest(f"{blobs}/read", resource={f"{blobs}:path": f"{store}/other-team/x"})
        assert not evaluate(condition, outside), f"{grant.name}: never another team's blobs"
        inside = BlobRequest(f"{blobs}/read", resource={f"{blobs}:path": f"{store}/{team}/x"})
        assert evaluate(condition, inside), f"{grant.name}: the team's own prefix is readable"
    writes = [g for g in grants if "writer" in g.name]
    assert len(writes) == 2, "it writes two containers: models and artifacts"
    for grant in writes:
        write_outside = BlobRequest(f"{blobs}/write", resource={f"{blobs}:path": "models/other-team/x"})
        assert not evaluate(grant.inputs["condition"], write_outside), f"{grant.name}: writes stay in the prefix"


# --- Refusals: what a stack file cannot say ---------------------------------------------------------------


def _config(**training: Any) -> dict[str, Any]:
    return {
        "environment": "dev",
        "target": {"cloud": "aws", "region": "eu-central-1"},
        "cluster": {
            "endpoint": {"publicAccess": True, "publicAccessCidrs": ["198.51.100.7/32"]},
            "gpuPools": [{"name": "a10g", "instanceTypes": ["g5.12xlarge"], "minSize": 0, "maxSize": 2}],
        },
        "storage": {
            "buckets": [{"name": "datasets"}, {"name": "models"}, {"name": "artifacts"}],
        },
        "training": training,
    }


def _problems(data: dict[str, Any]) -> str:
    with pytest.raises(PlatformConfigError) as raised:
        validate_platform_config(data)
    return "\n".join(raised.value.problems)


def _namespace(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "research",
        "teamGroup": "ml-research",
        "quotas": [{"pool": "a10g", "gpus": 4, "cpu": "40", "memory": "160Gi"}],
        **overrides,
    }


def test_a_valid_training_namespace_is_accepted() -> None:
    config = PlatformConfig.from_data(_config(namespaces=[_namespace()]))
    assert config.training.namespaces[0].ceiling() == {"gpus": 4, "cpu": "48", "memory": "192Gi"}, (
        "the namespace's ceiling is its GPU quota's CPU and memory plus the default CPU-only quota (8, 32Gi)"
    )


@pytest.mark.parametrize(
    ("namespace", "expected"),
    [
        (_namespace(quotas=[{"pool": "h100", "gpus": 1, "cpu": "8", "memory": "64Gi"}]), "'h100' is not a GPU pool"),
        (_namespace(quotas=[{"pool": "a10g", "gpus": 12, "cpu": "8", "memory": "64Gi"}]), "holds at most 8"),
        (_namespace(quotas=[]), "required: the team's GPU quota"),
        (_namespace(name="monitoring"), "system namespace"),
        (
            _namespace(quotas=[{"pool": "a10g", "gpus": 1, "cpu": "8", "memory": "64Gi", "borrowGpus": 2}]),
            "set borrowCpu",
        ),
        (
            _namespace(
                quotas=[
                    {"pool": "a10g", "gpus": 1, "cpu": "8", "memory": "64Gi"},
                    {"pool": "a10g", "gpus": 1, "cpu": "8", "memory": "64Gi"},
                ]
            ),
            "duplicate quota on pool 'a10g' (also quotas[0])",
        ),
    ],
    ids=["unknown-pool", "oversubscribed-pool", "no-quota", "system-name", "borrow-without-cpu", "duplicate-pool"],
)
def test_a_training_namespace_the_cluster_cannot_honour_is_refused_with_its_key(
    namespace: dict[str, Any], expected: str
) -> None:
    problems = _problems(_config(namespaces=[namespace]))
    assert "training" in problems and expected in problems, problems


def test_two_teams_together_cannot_be_promised_more_gpus_than_the_pool_holds() -> None:
    teams = [_namespace(name="team-a"), _namespace(name="team-b", teamGroup="b")]
    PlatformConfig.from_data(_config(namespaces=teams))  # 4 + 4 = the pool's 2 x 4 GPUs: accepted
    teams[1]["quotas"][0]["gpus"] = 5
    problems = _problems(_config(namespaces=teams))
    assert "guarantee 9 GPUs" in problems and "holds at most 8" in problems, problems


def test_the_training_buckets_must_exist() -> None:
    data = _config(namespaces=[_namespace()], datasetsBucket="raw-data")
    assert "'raw-data' is not in storage.buckets" in _problems(data)


def test_a_training_namespace_cannot_take_a_serving_namespace_s_name() -> None:
    data = _config(namespaces=[_namespace(name="fraud")])
    data["serving"] = {"namespaces": [{"name": "fraud", "teamGroup": "ml-fraud"}]}
    assert "already used by serving.namespaces" in _problems(data)


def test_the_cluster_layer_must_name_the_foundation_s_training_teams() -> None:
    with open("Pulumi.prod.yaml") as handle:
        foundation = PlatformConfig.from_data(yaml.safe_load(handle)["config"]["mlplatform:platform"])
    with open("Pulumi.prod-cluster.yaml") as handle:
        layer_data = yaml.safe_load(handle)["config"]["mlplatform:platform"]
    layer = PlatformConfig.from_data(layer_data)
    assert foundation_mismatches(foundation, layer, "Pulumi.prod.yaml") == [], "the shipped pair agrees"
    layer_data["training"]["namespaces"][0]["quotas"][0]["gpus"] = 24
    oversubscribed = PlatformConfig.from_data(layer_data)
    problems = foundation_mismatches(foundation, oversubscribed, "Pulumi.prod.yaml")
    assert any("holds at most 16" in problem for problem in problems), problems
    layer_data["training"]["namespaces"][0]["name"] = "research-other"
    layer_data["training"]["namespaces"][0]["quotas"][0]["gpus"] = 8
    renamed = PlatformConfig.from_data(layer_data)
    problems = foundation_mismatches(foundation, renamed, "Pulumi.prod.yaml")
    assert any(problem.startswith("training.namespaces") for problem in problems), problems


def _admitted_flavor(queue: dict[str, Any], requests: dict[str, float]) -> str | None:
    """Kueue's flavor assignment for one pod set, reduced to what decides it here (FlavorFungibility defaults:
    flavors tried in order, the first whose quota, with what it may borrow, holds every requested resource)."""
    for group in queue["resourceGroups"]:
        for flavor in group["flavors"]:
            quotas = {resource["name"]: resource for resource in flavor["resources"]}
            fits = True
            for resource, amount in requests.items():
                if not amount:
                    continue
                quota = quotas[resource]
                limit = float(quota["nominalQuota"].removesuffix("Gi")) + float(
                    str(quota.get("borrowingLimit", "inf")).removesuffix("Gi")
                )
                fits = fits and amount <= limit
            if fits:
                return flavor["name"]
    return None


def test_a_cpu_only_job_runs_on_the_platform_pool_and_a_gpu_job_on_its_gpu_pool(prod_cluster: Synthesis) -> None:
    (team,) = _stack_training("prod-cluster")
    (queue,) = [r.inputs["spec"] for r in prod_cluster.monitor.by_type(CLUSTER_QUEUE)]
    flavors = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in prod_cluster.monitor.by_type(FLAVOR)}
    data_prep = _admitted_flavor(queue, {"cpu": 4, "memory": 16, "nvidia.com/gpu": 0})
    training = _admitted_flavor(queue, {"cpu": 90, "memory": 900, "nvidia.com/gpu": 8})
    assert data_prep == "cpu", "a job without GPUs is admitted on the CPU-only flavor"
    assert training == team["quotas"][0]["pool"], "a GPU job skips the CPU-only flavor (no GPU quota there)"
    platform = _node_pool(prod_cluster, "platform")["metadata"]["labels"]
    assert all(platform.get(key) == value for key, value in flavors["cpu"]["nodeLabels"].items()), (
        "the CPU-only flavor selects the platform pool's nodes"
    )
    gpu_pool = _node_pool(prod_cluster, training)["metadata"]["labels"]
    assert not all(gpu_pool.get(key) == value for key, value in flavors["cpu"]["nodeLabels"].items()), (
        "and never a GPU node"
    )


# --- Experiment tracking: the database behind MLflow -----------------------------------------------------


RDS = "aws:rds/instance:Instance"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
FLEXIBLE_SERVER = "azure-native:dbforpostgresql:Server"


def test_on_eks_the_tracking_database_is_private_encrypted_with_its_cmk_and_protected_in_prod(prod: Synthesis) -> None:
    (instance,) = prod.monitor.by_type(RDS)
    inputs = instance.inputs
    assert inputs["publiclyAccessible"] is False, "no public endpoint"
    assert inputs["storageEncrypted"] is True and inputs["kmsKeyId"].startswith("arn:aws:kms:"), (
        "encrypted with a customer-managed KMS key, not the AWS-managed one"
    )
    key_name = inputs["kmsKeyId"].rsplit("/", 1)[-1]
    keys = [r for r in prod.monitor.by_type("aws:kms/key:Key") if r.name == key_name]
    assert keys and keys[0].inputs.get("enableKeyRotation") is True, "the key is the platform's own, rotated"
    assert inputs["deletionProtection"] is True, "prod: RDS refuses to delete it"
    assert instance.protect and instance.retain_on_delete, "prod: Pulumi neither deletes it nor drops it from AWS"
    assert inputs["backupRetentionPeriod"] >= 7 and not inputs.get("skipFinalSnapshot"), "backups and a final snapshot"
    assert inputs["multiAz"] is True, "prod: a standby in a second zone"
    cluster_sg = prod.outputs["clusterSecurityGroupId"]
    rules = [r for r in prod.monitor.by_type(SG_INGRESS) if r.name.startswith("tracking-db-")]
    assert [r.inputs.get("referencedSecurityGroupId") for r in rules] == [cluster_sg], (
        "only the cluster's nodes (the EKS cluster security group) reach port 5432"
    )
    assert all(not r.inputs.get("cidrIpv4") for r in rules), "no address range is admitted"
    assert "trackingDatabasePassword" in prod.secret_outputs, "the password leaves the stack only as a secret"
    backup = prod.monitor.by_type("aws:backup/selection:Selection")
    assert any(":db:" in arn and "tracking-db" in arn for r in backup for arn in r.inputs.get("resources") or []), (
        "the database is in the stack's AWS Backup plan, beside the personal-data buckets"
    )


def test_on_aks_the_tracking_database_is_private_encrypted_with_the_vault_key_and_protected_in_prod(
    azure_prod: Synthesis,
) -> None:
    (server,) = azure_prod.monitor.by_type(FLEXIBLE_SERVER)
    inputs = server.inputs
    assert inputs["network"]["publicNetworkAccess"] == "Disabled", "no public endpoint: a private endpoint only"
    encryption = inputs["dataEncryption"]
    assert encryption["type"] == "AzureKeyVault", "a customer-managed key"
    assert "/keys/postgres" in encryption["primaryKeyURI"], "the platform vault's own postgres key"
    assert server.protect and server.retain_on_delete, "prod: Pulumi neither deletes it nor drops it from Azure"
    assert inputs["backup"]["backupRetentionDays"] >= 7, "point-in-time restore"
    assert inputs["highAvailability"]["mode"] == "ZoneRedundant", "prod: a standby in another zone"
    endpoints = [
        r for r in azure_prod.monitor.by_type("azure-native:network:PrivateEndpoint") if "tracking-db" in r.name
    ]
    assert len(endpoints) == 1, "reached through one private endpoint in the VNet"
    assert "trackingDatabasePassword" in azure_prod.secret_outputs


@pytest.mark.parametrize("stack", ["prod-cluster", "azure-prod-cluster"])
def test_only_the_training_namespaces_reach_the_tracking_server(stack: str, request) -> None:
    layer: Synthesis = request.getfixturevalue(stack.replace("-", "_"))
    policies = [
        Policy(r.inputs["metadata"]["namespace"], manifest(r)["spec"])
        for r in layer.monitor.by_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    ]
    namespace = layer.outputs["trackingNamespace"]
    server = Pod(namespace, dict(SERVER_POD_LABELS), _namespace_labels(layer, namespace))
    for team in _stack_training(stack):
        runner = Pod(team["name"], {"app": "train"}, _namespace_labels(layer, team["name"]))
        assert allowed(policies, runner, server, 5000), f"{team['name']}: a training job logs its runs"
    names = {r.inputs["metadata"]["name"] for r in layer.monitor.by_type(NAMESPACE)}
    outsiders = names - {team["name"] for team in _stack_training(stack)} - {namespace}
    assert outsiders, "the stack has other namespaces to try"
    for name in sorted(outsiders):
        outsider = Pod(name, {"app": "x"}, _namespace_labels(layer, name))
        assert not allowed(policies, outsider, server, 5000), f"{name}: no other namespace reaches MLflow"


def test_on_eks_a_training_identity_pushes_serving_images_only_to_its_repositories(prod: Synthesis) -> None:
    (team,) = _stack_training("prod")
    policy = _training_policy(prod, team["name"])
    repositories = prod.outputs["registryRepositoryUrls"]
    assert team["imageRepositories"] == ["models"] and set(repositories) >= {"models"}
    registry = prod.monitor.one("mlplatform:index:AwsContainerRegistry").outputs
    models = registry["repositoryArns"]["models"]
    assert allows(policy, "ecr:PutImage", models), "the pipeline's build step pushes the serving image"
    assert allows(policy, "ecr:GetAuthorizationToken", "*"), "and gets a registry token"
    assert not allows(policy, "ecr:PutImage", models.rsplit("/", 1)[0] + "/other"), "never another repository"
    assert not allows(policy, "ecr:BatchDeleteImage", models), "and deletes nothing (tags are immutable anyway)"


def test_on_aks_a_training_identity_with_image_repositories_may_push_to_the_registry(azure_prod: Synthesis) -> None:
    from components.azure._shared import ACR_PUSH

    pushes = [
        r for r in azure_prod.monitor.by_type(ROLE_ASSIGNMENT) if str(r.inputs["roleDefinitionId"]).endswith(ACR_PUSH)
    ]
    (team,) = _stack_training("azure-prod")
    assert [r.name for r in pushes] == [f"mlp-azure-prod-train-{team['name']}-acr-push"], (
        "only the training team with imageRepositories may push"
    )
    registry = azure_prod.monitor.one("azure-native:containerregistry:Registry")
    assert pushes[0].inputs["scope"].endswith(f"/{registry.name}"), "on the platform's registry"
