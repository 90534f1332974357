"""ModelService: a model's versions behind one route; canary, promotion and rollback are one-line config changes."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pulumi
import pulumi_kubernetes
import pytest

from components.kubernetes import ModelService, ModelServingNamespace
from stacks.deployability import PROBE, ROLLOUT_QUOTA, SERVICE_SELECTOR, check_deployability
from stacks.synth import PROJECT_ROOT, RecordingMonitor, install_recording_mocks, run_program
from tests.components.kubernetes.gateway_api import HTTP_ROUTE_V1
from tests.components.kubernetes.helpers import kubernetes_objects, manifest, objects_of_kind, run_with_provider
from tests.components.kubernetes.test_kubernetes_objects import KUBERNETES_VERSION

REPOSITORY = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/models"
V7 = f"{REPOSITORY}@sha256:{'7' * 64}"
V8 = f"{REPOSITORY}@sha256:{'8' * 64}"
GATEWAY = {"name": "serving", "namespace": "serving-gateway", "listener": "https"}
VERSIONS = [
    {"name": "v7", "image": V7, "model_version": "2026.11.1"},
    {"name": "v8", "image": V8, "model_version": "2026.12.1"},
]
CANARY = {"stable": "v7", "canary": {"version": "v8", "weight": 10}}
PROMOTED = {"stable": "v8"}
ROLLED_BACK = {"stable": "v7"}


def arguments(**changes: Any) -> dict[str, Any]:
    return {
        "namespace": "fraud-detection",
        "model": "fraud",
        "versions": VERSIONS,
        "gateway": GATEWAY,
        "domain": "models.internal.example.com",
        "model_store_uri": "s3://acme-models/fraud-detection",
        "namespace_gpu_quota": 2,
        **changes,
    }


def synthesize(**changes: Any) -> RecordingMonitor:
    """One `pulumi up` of a team program holding the model service, in a fresh mock runtime."""
    recorder = install_recording_mocks(project="team", stack="dev", preview=False)

    def program() -> None:
        provider = pulumi.ProviderResource("kubernetes", "cluster", {})  # type: ignore[call-arg]
        ModelService("fraud", arguments(**changes), opts=pulumi.ResourceOptions(providers={"kubernetes": provider}))

    run_program(program)
    return recorder


def deployments(recorder: RecordingMonitor) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in objects_of_kind(recorder, "Deployment")}


def route(recorder: RecordingMonitor) -> dict[str, Any]:
    (found,) = objects_of_kind(recorder, "HTTPRoute")
    return found


def weights(recorder: RecordingMonitor) -> dict[str, int]:
    (rule,) = route(recorder)["spec"]["rules"]
    return {backend["name"]: backend["weight"] for backend in rule["backendRefs"]}


def created(recorder: RecordingMonitor) -> list[str]:
    """Everything registered but the program's stack."""
    return [r.type for r in recorder.registrations if r.type != "pulumi:pulumi:Stack"]


def errors_of(raised: pytest.ExceptionInfo) -> dict[str, str]:
    return {error["property_path"]: error["reason"] for error in raised.value.errors}


def test_a_canary_runs_both_versions_and_splits_the_route_90_10() -> None:
    recorder = synthesize(**CANARY)
    running = deployments(recorder)
    assert sorted(running) == ["fraud-v7", "fraud-v8"], "the stable version and the candidate run side by side"
    assert running["fraud-v7"]["spec"]["template"]["spec"]["containers"][0]["image"] == V7
    assert running["fraud-v8"]["spec"]["template"]["spec"]["containers"][0]["image"] == V8
    services = {s["metadata"]["name"]: s for s in objects_of_kind(recorder, "Service")}
    assert sorted(services) == ["fraud", "fraud-v7", "fraud-v8"], "one Service per version and the stable one"
    assert weights(recorder) == {"fraud-v7": 90, "fraud-v8": 10}
    (rule,) = route(recorder)["spec"]["rules"]
    assert [backend["port"] for backend in rule["backendRefs"]] == [80, 80], "the version Services' port"
    assert route(recorder)["spec"]["parentRefs"] == [
        {
            "group": "gateway.networking.k8s.io",
            "kind": "Gateway",
            "namespace": "serving-gateway",
            "name": "serving",
            "sectionName": "https",
        }
    ], "attached to the platform gateway's HTTPS listener by name"
    assert route(recorder)["spec"]["hostnames"] == ["fraud.fraud-detection.models.internal.example.com"]
    (component,) = recorder.by_type("mlplatform:index:ModelService")
    assert component.outputs["url"] == "https://fraud.fraud-detection.models.internal.example.com"
    assert component.outputs["versions"] == {"v7": V7, "v8": V8}
    assert component.outputs["routeName"] == "fraud" and component.outputs["serviceName"] == "fraud"


def test_each_version_s_pods_are_labelled_and_told_their_model_artifact() -> None:
    recorder = synthesize(**CANARY)
    for name, artifact in (("v7", "2026.11.1"), ("v8", "2026.12.1")):
        template = deployments(recorder)[f"fraud-{name}"]["spec"]["template"]
        assert template["metadata"]["labels"]["mlplatform.io/model-version"] == name
        assert template["metadata"]["labels"]["mlplatform.io/model"] == "fraud"
        env = {variable["name"]: variable["value"] for variable in template["spec"]["containers"][0]["env"]}
        assert env["MODEL_VERSION"] == artifact
        assert env["MODEL_URI"] == f"s3://acme-models/fraud-detection/{artifact}", "read with the namespace identity"
    (stable,) = [s for s in objects_of_kind(recorder, "Service") if s["metadata"]["name"] == "fraud"]
    assert stable["spec"]["selector"] == {"mlplatform.io/model": "fraud"}, "in-cluster callers reach every version"


def test_the_route_validates_against_gateway_api_v1_httproute() -> None:
    for config in (CANARY, PROMOTED):
        jsonschema.validate(route(synthesize(**config)), HTTP_ROUTE_V1)
    broken = route(synthesize(**CANARY))
    del broken["spec"]["rules"][0]["backendRefs"][0]["port"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, HTTP_ROUTE_V1)


def test_every_kubernetes_object_is_valid_for_the_api_server() -> None:
    for registration in kubernetes_objects(synthesize(**CANARY)):
        kubernetes_validate.validate(manifest(registration), KUBERNETES_VERSION, strict=True)


def test_promotion_keeps_the_candidate_s_deployment_and_deletes_the_old_version() -> None:
    canary, promoted = synthesize(**CANARY), synthesize(**PROMOTED)
    assert sorted(deployments(promoted)) == ["fraud-v8"], "v7 no longer runs: its Deployment is deleted"
    assert weights(promoted) == {"fraud-v8": 100}
    for type_token in (
        "kubernetes:apps/v1:Deployment",
        "kubernetes:core/v1:Service",
        "mlplatform:index:ModelDeployment",
    ):
        before = {r.urn for r in canary.by_type(type_token) if "fraud-v8" in r.name}
        after = {r.urn for r in promoted.by_type(type_token) if "fraud-v8" in r.name}
        assert before and before == after, f"promoting v8 keeps its {type_token} URNs: updated in place, not replaced"
    template = lambda recorder: deployments(recorder)["fraud-v8"]["spec"]["template"]  # noqa: E731
    assert template(canary) == template(promoted), "the promoted pods are not restarted"


def test_a_rollback_points_at_the_previous_digest_without_building_an_image() -> None:
    rolled_back = synthesize(**ROLLED_BACK)
    assert sorted(deployments(rolled_back)) == ["fraud-v7"]
    assert deployments(rolled_back)["fraud-v7"]["spec"]["template"]["spec"]["containers"][0]["image"] == V7
    assert weights(rolled_back) == {"fraud-v7": 100}
    assert not rolled_back.by_type("docker:index/image:Image"), "registries are immutable: nothing is rebuilt"


def test_the_running_versions_together_must_fit_the_gpu_quota(recorder: RecordingMonitor) -> None:
    canary = {"version": "v8", "weight": 10, "replicas": 2}
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run_program(lambda: ModelService("fraud", arguments(stable="v7", canary=canary)))
    reason = errors_of(raised)["canary.replicas"]
    assert "(1 (v7) + 2 (v8)) × 1 = 3 GPUs exceed namespaceGpuQuota (2)" in reason, reason
    assert created(recorder) == [], "nothing is created"


def test_each_version_surges_only_into_what_the_other_versions_leave_of_the_quota() -> None:
    tight = deployments(synthesize(**CANARY))
    for name in ("fraud-v7", "fraud-v8"):
        assert tight[name]["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}, (
            "2 GPUs, 1 per version: a surge pod would be the third GPU, and the rollout would stall"
        )
    roomy = deployments(synthesize(**CANARY, namespace_gpu_quota=3))
    assert roomy["fraud-v7"]["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"stable": "v9"}, "stable", "not one of versions"),
        ({"canary": {"version": "v7", "weight": 10}}, "canary.version", "is the stable version"),
        ({"canary": {"version": "v8", "weight": 100}}, "canary.weight", "between 1 and 99"),
        ({"versions": [*VERSIONS, {"name": "v7", "image": V7}]}, "versions[2].name", "listed twice"),
        ({"versions": [{"name": "v7", "image": f"{REPOSITORY}:v7"}]}, "versions[0].image", "not pinned by digest"),
        ({"domain": None}, "hostname", "required with gateway"),
        ({"gateway": {"name": "serving"}}, "gateway.namespace", "required"),
        (
            {"server": "triton", "autoscaling": {"max_replicas": 1, "target": 4, "prometheus_url": "http://p:9090"}},
            "autoscaling.metric",
            "http_request_duration_seconds",
        ),
    ],
)
def test_a_wrong_configuration_names_its_path_before_anything_is_created(
    recorder: RecordingMonitor, changes: dict[str, Any], path: str, words: str
) -> None:
    given = {key: value for key, value in arguments(**changes).items() if value is not None}
    given.setdefault("stable", "v7")
    with pytest.raises(pulumi.InputPropertiesError) as raised:
        run_program(lambda: ModelService("fraud", given))
    assert words in errors_of(raised).get(path, ""), errors_of(raised)
    assert created(recorder) == []


def test_without_a_gateway_the_model_is_reached_through_its_service(run) -> None:
    recorder = run_with_provider(
        run,
        lambda opts: ModelService(
            "fraud",
            {"namespace": "fraud-detection", "model": "fraud", "versions": VERSIONS, "stable": "v7"},
            opts=opts,
        ),
    )
    assert not objects_of_kind(recorder, "HTTPRoute")
    (component,) = recorder.by_type("mlplatform:index:ModelService")
    assert component.outputs["url"] == "http://fraud.fraud-detection.svc:80"
    assert component.outputs["routeName"] == ""


def test_a_canary_in_a_serving_namespace_is_deployable(recorder: RecordingMonitor) -> None:
    """The serving namespace's real quota, the example server's image: probes served, rollouts fit, Services select."""
    from components import ModelImage

    def program() -> None:
        namespace = ModelServingNamespace(
            "fraud-detection",
            {"namespace": "fraud-detection", "team_group": "ml-fraud", "quota_gpus": 2},
        )
        candidate = ModelImage(
            "fraud-v8",
            {
                "context": str(PROJECT_ROOT / "examples" / "model-server"),
                "repository_url": REPOSITORY,
                "tag": "fraud-2026.12.1",
                "registry": {"server": "registry.example", "username": "ci", "password": pulumi.Output.secret("x")},
            },
        )
        versions = [VERSIONS[0], {**VERSIONS[1], "image": candidate.digest_ref}]
        ModelService("fraud", arguments(namespace=namespace.namespace, versions=versions, **CANARY))

    run_program(program)
    report = check_deployability(recorder.registrations, stack="team")
    assert not [p for p in report.problems if p.check in (PROBE, ROLLOUT_QUOTA, SERVICE_SELECTOR)], [
        p.message for p in report.problems
    ]
    assert report.checked[PROBE] >= 6 and report.checked[SERVICE_SELECTOR] >= 3, "both versions were judged"


def test_a_route_to_a_service_the_stack_does_not_create_is_reported(recorder: RecordingMonitor) -> None:
    def program() -> None:
        ModelService("fraud", arguments(stable="v7"))
        pulumi_kubernetes.apiextensions.CustomResource(
            "stray",
            api_version="gateway.networking.k8s.io/v1",
            kind="HTTPRoute",
            metadata={"name": "stray", "namespace": "fraud-detection"},
            spec={"rules": [{"backendRefs": [{"name": "fraud-v6", "port": 80}, {"name": "fraud-v7", "port": 8080}]}]},
        )

    run_program(program)
    messages = [p.message for p in check_deployability(recorder.registrations, stack="team").by_check(SERVICE_SELECTOR)]
    assert any("Service fraud-detection/fraud-v6, which the stack does not create" in m for m in messages), messages
    assert any("port 8080 of Service fraud-detection/fraud-v7, which exposes 80" in m for m in messages), messages
    assert not any("HTTPRoute fraud-detection/fraud " in m for m in messages), "ModelService's own route is sound"
