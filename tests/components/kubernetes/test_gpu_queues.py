"""GpuQueues: Kueue queues per team with exact GPU quotas per pool; jobs in training namespaces cannot bypass them."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pulumi
import pytest

from components._common import gpu, pools, scheduling
from components.kubernetes import GpuQueues, _chart_workloads, _platform_policies
from components.kubernetes import _charts as charts
from components.kubernetes.training import _kueue
from stacks.deployability import pod_security_violations
from tests.components.kubernetes import kueue_crds
from tests.components.kubernetes.helpers import chart, chart_values, objects_of_kind, run_with_provider
from tests.components.kubernetes.netpol import Endpoint, Pod, Policy, allowed

H100_TAINTS = [t.kubernetes() for t in gpu.gpu_pool_taints("aws", workload=gpu.TRAINING_WORKLOAD)]
A10G_TAINTS = [t.kubernetes() for t in gpu.gpu_pool_taints("aws", spot=True)]


def queues_args(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "flavors": [
            {"pool": "gpu-h100", "accelerator": "nvidia-h100", "taints": H100_TAINTS},
            {"pool": "gpu-a10g", "accelerator": "nvidia-a10g", "taints": A10G_TAINTS},
        ],
        "teams": [
            {
                "name": "vision",
                "namespaces": ["vision-train", "vision-research"],
                "quotas": [
                    {"flavor": "gpu-h100", "gpus": 8, "cpu": "96", "memory": "1536Gi", "gpu_borrowing_limit": 8},
                    {"flavor": "gpu-a10g", "gpus": 4, "cpu": "32", "memory": "128Gi"},
                ],
                "preemption_within_cluster_queue": "LowerPriority",
                "reclaim_within_cohort": "Any",
            },
            {
                "name": "nlp",
                "namespaces": ["nlp-train"],
                "quotas": [{"flavor": "gpu-h100", "gpus": 16, "cpu": "192", "memory": "2Ti"}],
                "fair_sharing_weight": "2",
            },
        ],
    }
    args.update(overrides)
    return args


def build(run, **overrides: Any):
    return run_with_provider(run, lambda opts: GpuQueues("gpu-queues", queues_args(**overrides), opts=opts))


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def values(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"managed_namespaces": ["vision-train", "nlp-train"]}
    arguments.update(overrides)
    return _kueue.kueue_values(**arguments)


def rendered_config(chart_values_: dict[str, Any]) -> dict[str, Any]:
    """The controller configuration the chart writes into its ConfigMap (the chart parses the string as YAML)."""
    return json.loads(chart_values_["managerConfig"]["controllerManagerConfigYaml"])


# --- (a) The queue objects validate against our transcription of the v0.19.2 CRDs ------------------------------


def test_the_transcribed_crd_schemas_are_valid_json_schemas() -> None:
    for schema in kueue_crds.SCHEMAS.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_queue_object_the_component_registers_is_valid_against_the_crds(run) -> None:
    recorder = build(run)
    manifests = [
        m for kind in ("ResourceFlavor", "ClusterQueue", "LocalQueue") for m in objects_of_kind(recorder, kind)
    ]
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == ["ClusterQueue"] * 2 + ["LocalQueue"] * 3 + ["ResourceFlavor"] * 2
    for manifest in manifests:
        assert kueue_crds.violations(manifest) == [], f"{manifest['kind']} {manifest['metadata']['name']}"
        assert manifest["apiVersion"] == "kueue.x-k8s.io/v1beta2", "v1beta1 is deprecated at v0.19.2"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda q: q["spec"]["preemption"].update(withinClusterQueue="Always"), "withinClusterQueue"),
        (lambda q: q["spec"]["resourceGroups"][0]["flavors"][0]["resources"].pop(), "same number of resources"),
        (lambda q: q["spec"].pop("cohortName"), "borrowingLimit must be nil"),
        (lambda q: q["spec"].update(cohort="training"), "cohort"),
        (lambda q: q["spec"]["resourceGroups"][0]["flavors"][0]["resources"][2].update(nominalQuota="8 GPUs"), "8"),
        (
            lambda q: q["spec"]["preemption"].update(
                reclaimWithinCohort="Never", borrowWithinCohort={"policy": "LowerPriority"}
            ),
            "reclaimWithinCohort=Never",
        ),
    ],
    ids=["preemption-enum", "resources-count", "borrowing-without-cohort", "v1beta1-field", "quantity", "borrow-rule"],
)
def test_the_transcribed_cluster_queue_schema_refuses_what_the_crd_refuses(mutate, expected: str) -> None:
    manifest = copy.deepcopy(vision_queue())
    mutate(manifest)
    found = kueue_crds.violations(manifest)
    assert any(expected in item for item in found), f"the v0.19.2 CRD refuses this; our schema found {found}"


def test_the_transcribed_flavor_schema_refuses_too_many_labels_and_bad_tolerations() -> None:
    flavor = _kueue.resource_flavor("gpu-h100", node_labels={f"k{i}": "v" for i in range(9)}, taints=[])
    assert any("nodeLabels" in item for item in kueue_crds.violations(flavor))
    flavor = _kueue.resource_flavor("gpu-h100", node_labels={"a": "b"}, taints=[])
    flavor["spec"]["tolerations"] = [{"operator": "Exists", "value": "x"}]
    assert any("value must be empty" in item for item in kueue_crds.violations(flavor))


# --- (b) Quotas, flavors, local queues ----------------------------------------------------------------------


def vision_queue() -> dict[str, Any]:
    team = queues_args()["teams"][0]
    return _kueue.cluster_queue(
        team["name"],
        namespaces=team["namespaces"],
        cohort="training",
        quotas=team["quotas"],
        within_cluster_queue="LowerPriority",
        reclaim_within_cohort="Any",
    )


def gpu_quotas(queue: dict[str, Any]) -> dict[str, str]:
    (group,) = queue["spec"]["resourceGroups"]
    return {
        flavor["name"]: next(r["nominalQuota"] for r in flavor["resources"] if r["name"] == gpu.GPU_RESOURCE)
        for flavor in group["flavors"]
    }


def test_a_team_cluster_queue_carries_exactly_the_configured_gpu_quota_per_flavor(run) -> None:
    recorder = build(run)
    queues = {q["metadata"]["name"]: q for q in objects_of_kind(recorder, "ClusterQueue")}
    assert gpu_quotas(queues["vision"]) == {"gpu-h100": "8", "gpu-a10g": "4"}, "flavors in the configured order"
    assert gpu_quotas(queues["nlp"]) == {"gpu-h100": "16"}, "no quota on a pool the team was not given"
    (group,) = queues["vision"]["spec"]["resourceGroups"]
    assert group["coveredResources"] == ["cpu", "memory", "nvidia.com/gpu"]
    h100 = {r["name"]: r for r in group["flavors"][0]["resources"]}
    assert h100["cpu"]["nominalQuota"] == "96" and h100["memory"]["nominalQuota"] == "1536Gi"
    assert h100["nvidia.com/gpu"]["borrowingLimit"] == "8", "at most 8 GPUs borrowed on top"
    assert "borrowingLimit" not in h100["cpu"], "no limit unless configured"


def test_every_team_shares_one_cohort_with_its_preemption_policy_and_weight(run) -> None:
    recorder = build(run)
    queues = {q["metadata"]["name"]: q["spec"] for q in objects_of_kind(recorder, "ClusterQueue")}
    assert {spec["cohortName"] for spec in queues.values()} == {"training"}, "unused quota is lent within one cohort"
    assert queues["vision"]["preemption"] == {"withinClusterQueue": "LowerPriority", "reclaimWithinCohort": "Any"}
    assert queues["nlp"]["fairSharing"] == {"weight": "2"}
    assert "fairSharing" not in queues["vision"], "Kueue's default weight of 1"


def test_a_cluster_queue_admits_only_its_own_team_s_namespaces(run) -> None:
    recorder = build(run)
    queues = {q["metadata"]["name"]: q["spec"] for q in objects_of_kind(recorder, "ClusterQueue")}
    selector = queues["vision"]["namespaceSelector"]
    assert selector == {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                              "values": ["vision-research", "vision-train"]}]}  # fmt: skip


def test_every_training_namespace_gets_a_local_queue_for_its_team(run) -> None:
    recorder = build(run)
    local = {
        (q["metadata"]["namespace"], q["metadata"]["name"]): q["spec"] for q in objects_of_kind(recorder, "LocalQueue")
    }
    assert local == {
        ("vision-train", "vision"): {"clusterQueue": "vision"},
        ("vision-research", "vision"): {"clusterQueue": "vision"},
        ("nlp-train", "nlp"): {"clusterQueue": "nlp"},
    }
    assert all(name != _kueue.DEFAULT_LOCAL_QUEUE_NAME for _, name in local), "no queue catches unlabelled jobs"


def test_a_flavor_sends_admitted_pods_to_its_pool_through_every_pool_taint(run) -> None:
    recorder = build(run)
    flavors = {f["metadata"]["name"]: f["spec"] for f in objects_of_kind(recorder, "ResourceFlavor")}
    h100 = flavors["gpu-h100"]
    assert h100["nodeLabels"] == {gpu.GPU_POOL_LABEL: "gpu-h100", gpu.ACCELERATOR_LABEL: "nvidia-h100"}
    taints = gpu.gpu_pool_taints("aws", workload=gpu.TRAINING_WORKLOAD)
    assert scheduling.untolerated_taints(h100["tolerations"], taints) == [], "the training taint too"
    assert scheduling.untolerated_taints(h100["tolerations"], [gpu.AKS_SPOT_TAINT]), "no more than the pool's taints"
    assert "nodeTaints" not in h100, "nodeTaints would refuse jobs that do not tolerate the pool themselves"


def test_a_flavor_without_taints_tolerates_the_eks_gpu_taint_by_default() -> None:
    spec = _kueue.resource_flavor("gpu-a", node_labels=_kueue.flavor_node_labels("gpu-a"), taints=[
        gpu.NVIDIA_GPU_TAINT.kubernetes()])["spec"]  # fmt: skip
    assert spec["tolerations"] == [gpu.NVIDIA_GPU_TAINT.toleration()]


def test_queue_objects_wait_for_the_chart_and_local_queues_for_their_cluster_queue(run) -> None:
    recorder = build(run)
    (kueue,) = list(recorder.by_type("kubernetes:helm.sh/v4:Chart"))
    queues = {r.name: r.urn for r in recorder.registrations if r.type.endswith(":ClusterQueue")}
    for registration in recorder.registrations:
        if registration.type.endswith((":ResourceFlavor", ":ClusterQueue", ":LocalQueue")):
            assert kueue.urn in registration.dependencies, f"{registration.name} needs the CRDs and the webhooks"
        if registration.type.endswith(":LocalQueue"):
            team = "vision" if registration.name.startswith("gpu-queues-local-vision") else "nlp"
            assert queues[f"gpu-queues-queue-{team}"] in registration.dependencies, registration.name


# --- (c) Jobs without a queue name are not admitted in training namespaces ---------------------------------------


def test_a_job_in_a_training_namespace_without_the_queue_label_is_never_admitted(run) -> None:
    config = rendered_config(chart_values(build(run), charts.KUEUE.reference))
    assert config["apiVersion"] == "config.kueue.x-k8s.io/v1beta2" and config["kind"] == "Configuration"
    assert config["manageJobsWithoutQueueName"] is True, "Kueue suspends jobs without a queue name"
    selector = config["managedJobsNamespaceSelector"]
    assert selector == {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "In",
                                              "values": ["nlp-train", "vision-research", "vision-train"]}]}  # fmt: skip
    for namespace in ("vision-train", "vision-research", "nlp-train"):
        labels = {"kubernetes.io/metadata.name": namespace}
        assert _selects(selector, labels), f"{namespace}: a Job without a queue label is suspended there"
    assert not _selects(selector, {"kubernetes.io/metadata.name": "fraud-serving"}), (
        "jobs elsewhere never pass through Kueue's fail-closed webhooks"
    )
    assert not _selects(selector, {"kubernetes.io/metadata.name": "kube-system"})


def test_the_integrations_cover_jobs_jobsets_and_training_jobs_and_no_pod_based_ones() -> None:
    frameworks = rendered_config(values())["integrations"]["frameworks"]
    assert frameworks == ["batch/job", "jobset.x-k8s.io/jobset", "trainer.kubeflow.org/trainjob",
                          "kubeflow.org/pytorchjob"]  # fmt: skip
    assert set(frameworks) <= set(_kueue.KNOWN_INTEGRATIONS), "the controller refuses unknown frameworks"
    assert not {"pod", "deployment", "statefulset"} & set(frameworks), "would queue every pod of a namespace"


def test_fair_sharing_is_on_with_a_strategy_set_the_controller_accepts() -> None:
    config = rendered_config(values())
    assert config["fairSharing"] == {"preemptionStrategies": ["LessThanOrEqualToFinalShare", "LessThanInitialShare"]}


def test_the_controller_config_keeps_the_chart_defaults_it_replaces() -> None:
    config = rendered_config(values())
    assert config["webhook"] == {"port": _platform_policies.KUEUE_WEBHOOK_PORT}, "the port the policy opens"
    assert config["leaderElection"] == {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"}
    assert config["health"] == {"healthProbeBindAddress": ":8081"}, "the chart's probes use port 8081"
    assert "internalCertManagement" not in config, "the chart fills it in with its own service and secret names"


# --- (d) The controller: placement, security, values keys -------------------------------------------------------


def controller() -> _chart_workloads.ChartWorkload:
    (workload,) = _chart_workloads.kueue_workloads(_kueue.RELEASE, "kueue-system", values())
    return workload


def test_the_controller_schedules_on_the_platform_pool_and_never_on_a_gpu_node() -> None:
    workload = controller()
    pod = workload.pod_spec
    assert workload.name == "kueue-controller-manager" and workload.replicas == 2
    assert scheduling.unschedulable_reasons(pod, pools.platform_pool_labels(), []) == []
    gpu_node = gpu.gpu_pool_labels("gpu-h100", "nvidia-h100", workload=gpu.TRAINING_WORKLOAD)
    assert scheduling.unschedulable_reasons(pod, gpu_node, gpu.gpu_pool_taints("aws")), "not on a GPU node"
    assert pod["priorityClassName"] == "system-cluster-critical", "every training job waits on its webhooks"


def test_the_controller_meets_pod_security_restricted_with_requests_and_a_memory_limit() -> None:
    pod = controller().pod_spec
    violations, unset = pod_security_violations(pod, "restricted")
    assert violations == [] and unset == [], (violations, unset)
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    resources = container["resources"]
    assert resources["requests"] == {"cpu": "500m", "memory": "512Mi"} and resources["limits"]["memory"] == "512Mi"
    assert pod["securityContext"]["runAsUser"] == 65532, "the image's USER 65532:65532"


def test_the_controller_is_highly_available() -> None:
    manager = values()["controllerManager"]
    assert manager["replicas"] == 2 and manager["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}, (
        "the job webhooks fail closed: a drain must leave one replica answering"
    )
    assert controller().pod_spec["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"] == (
        _platform_policies.KUEUE_CONTROLLER_PODS
    )


def _leaf_paths(data: Any, prefix: str = "") -> set[str]:
    if isinstance(data, dict) and data:
        return {path for key, value in data.items() for path in _leaf_paths(value, f"{prefix}{key}.")}
    return {prefix.rstrip(".")}


def test_every_values_key_the_builder_sets_was_checked_in_the_pinned_chart() -> None:
    checked = _kueue.KUEUE_VALUES_KEYS
    unchecked = [
        path
        for path in _leaf_paths(values())
        if not any(
            path == key or path.startswith(f"{key}.") or (key.endswith("*") and path.startswith(key[:-1]))
            for key in checked
        )
    ]
    assert not unchecked, f"read these keys in charts/kueue/values.yaml@v{charts.KUEUE.version} first: {unchecked}"
    assert charts.KUEUE.version == _chart_workloads.TABLE_VERSIONS["kueue"], "keys were read at the pin"


def test_the_chart_is_the_pinned_oci_chart_in_a_restricted_namespace(run) -> None:
    recorder = build(run)
    registration = chart(recorder, "oci://registry.k8s.io/kueue/charts/kueue")
    assert registration.inputs["version"] == "0.19.2"
    assert registration.inputs["name"] == "kueue", "the release name makes the objects `kueue-*`"
    (namespace,) = objects_of_kind(recorder, "Namespace")
    labels = namespace["metadata"]["labels"]
    assert namespace["metadata"]["name"] == "kueue-system"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels["mlplatform.io/tier"] == "queueing"


# --- (e) Network policies ----------------------------------------------------------------------------------------


def test_kueue_s_namespace_denies_by_default_and_admits_the_api_server_on_the_webhook_and_visibility_only(run) -> None:
    recorder = build(run)
    specs = {p["metadata"]["name"]: p["spec"] for p in objects_of_kind(recorder, "NetworkPolicy")}
    assert specs == _platform_policies.kueue_network_policies()
    policies = [Policy("kueue-system", spec) for spec in specs.values()]
    controller_pod = Pod("kueue-system", _platform_policies.KUEUE_CONTROLLER_PODS)
    api_server = Endpoint("10.0.0.10")
    assert allowed(policies, api_server, controller_pod, 9443), "the API server calls the admission webhooks"
    assert allowed(policies, api_server, controller_pod, 8082), "and the visibility API"
    assert not allowed(policies, api_server, controller_pod, 8443), "metrics are not scraped"
    assert allowed(policies, controller_pod, api_server, 443), "the controller watches the API"
    assert not allowed(policies, controller_pod, Endpoint("203.0.113.7"), 80), "nothing else out"
    # The webhook and visibility ports are open to any address (the API server has no selector; see
    # _platform_policies); every other port of the controller is closed to pods too.
    training_pod = Pod("vision-train", {"app": "trainer"})
    assert not allowed(policies, training_pod, controller_pod, 8443), "metrics closed to pods"
    assert not allowed(policies, training_pod, controller_pod, 8081), "health probes come from the kubelet only"


# --- (f) Validation ----------------------------------------------------------------------------------------------


def test_bad_arguments_are_reported_together_with_their_paths_before_anything_registers(run, recorder) -> None:
    teams = queues_args()["teams"]
    teams[0]["quotas"][0].update(gpus=-1, memory="-1Gi")
    teams[0]["quotas"][1]["flavor"] = "gpu-missing"
    teams[1]["name"] = "default"
    teams[1]["namespaces"] = ["vision-train", "NLP"]
    teams[1]["preemption_within_cluster_queue"] = "Always"
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, teams=teams, cohort="Training", integrations=["batch/job", "kubeflow.org/tfjobs"],
              flavors=[{"pool": "gpu-h100", "taints": [{"key": "a", "effect": "NoSchedul"}]},
                       {"pool": "gpu_a10g"}])  # fmt: skip
    errors = errors_of(raised)
    assert set(errors) >= {
        "teams[0].quotas[0].gpus",
        "teams[0].quotas[0].memory",
        "teams[0].quotas[1].flavor",
        "teams[1].name",
        "teams[1].namespaces[0]",
        "teams[1].namespaces[1]",
        "teams[1].preemptionWithinClusterQueue",
        "cohort",
        "integrations[1]",
        "flavors[0].taints[0].effect",
        "flavors[1].pool",
    }, errors
    assert "already belongs to team 'vision'" in errors["teams[1].namespaces[0]"]
    assert "reserved" in errors["teams[1].name"]
    created = [r.type for r in recorder.registrations if r.type.startswith(("kubernetes:", "mlplatform:"))]
    assert created == [], f"nothing is created when the arguments are refused: {created}"


def test_unknown_arguments_and_empty_lists_are_refused(run) -> None:
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, flavors=[], teams=[{"name": "a", "namespaces": [], "quotas": [], "gpu": 1}], default_deny=False)
    errors = errors_of(raised)
    assert {"flavors", "teams[0].namespaces", "teams[0].quotas", "teams[0].gpu", "defaultDeny"} <= set(errors), errors


def test_kueue_s_own_namespace_is_never_a_training_namespace(run) -> None:
    teams = queues_args()["teams"]
    teams[1]["namespaces"] = ["nlp-train", "kueue-system"]
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        build(run, teams=teams)
    assert "Kueue's own namespace" in errors_of(raised)["teams[1].namespaces[1]"]


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    from tests.components.kubernetes.helpers import selector_matches

    return selector_matches(selector, labels)
