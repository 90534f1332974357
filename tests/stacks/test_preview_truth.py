"""`python -m stacks preview` tells the truth: values derive from the stack, unknowns stay unknown, output is stable."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pytest

from policies.replay import analyzer_requests
from stacks.__main__ import graph_document, render_tree
from stacks.synth import (
    FAKE_ACCOUNT_ID,
    PROJECT_ROOT,
    UNKNOWN,
    Registration,
    canonical_order,
    install_recording_mocks,
    pulumi_config_for,
    resource_count,
    run_program,
    sorted_registrations,
    stack_names,
    synthesize,
)


def _preview_json(tmp_path: Path, name: str, *extra: str) -> bytes:
    target = tmp_path / name
    subprocess.run(
        [sys.executable, "-m", "stacks", "preview", "prod", "--json", str(target), *extra],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return target.read_bytes()


def test_two_runs_of_preview_json_write_identical_bytes(tmp_path: Path) -> None:
    first, second = _preview_json(tmp_path, "first.json"), _preview_json(tmp_path, "second.json")
    assert first == second, "the JSON graph must not depend on the order asynchronous outputs resolve in"


def test_two_runs_of_the_preview_tree_print_identical_text() -> None:
    def tree() -> str:
        return subprocess.run(
            [sys.executable, "-m", "stacks", "preview", "prod"],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    assert tree() == tree(), "siblings in the tree print sorted by type and name"


def _registration(type_token: str, name: str, parent: str = "") -> Registration:
    return Registration(
        type=type_token,
        name=name,
        urn=f"urn:pulumi:s::p::{type_token}::{name}",
        parent=parent,
        custom=True,
        provider="",
        inputs={},
        secret_inputs=[],
        dependencies=[],
        property_dependencies={},
        protect=False,
        retain_on_delete=False,
        delete_before_replace=False,
        ignore_changes=[],
        replace_on_changes=[],
        additional_secret_outputs=[],
        request=None,
    )


def test_listings_of_registrations_do_not_depend_on_registration_order() -> None:
    registrations = [_registration("aws:b", "y"), _registration("aws:a", "z"), _registration("aws:b", "x")]
    expected = [("aws:a", "z"), ("aws:b", "x"), ("aws:b", "y")]
    assert [(r.type, r.name) for r in sorted_registrations(registrations)] == expected
    assert sorted_registrations(registrations[::-1]) == sorted_registrations(registrations)


@pytest.fixture(scope="module")
def prod_update():
    return synthesize("prod")


@pytest.fixture(scope="module")
def prod_preview():
    return synthesize("prod", preview=True)


def test_prod_previews_its_registry_and_cluster_endpoint_in_its_own_region(prod_update) -> None:
    outputs = prod_update.outputs
    assert outputs["region"] == "eu-west-1"
    assert outputs["registryUrl"] == f"{FAKE_ACCOUNT_ID}.dkr.ecr.eu-west-1.amazonaws.com"
    assert ".eu-west-1.eks.amazonaws.com" in outputs["clusterEndpoint"]
    assert "oidc.eks.eu-west-1.amazonaws.com" in outputs["oidcIssuerUrl"]
    document = json.dumps(graph_document(prod_update))
    assert "eu-central-1" not in document, "no value of a stack in eu-west-1 may name another region"


def test_an_explicit_provider_region_decides_arns_endpoints_and_get_region() -> None:
    install_recording_mocks()
    seen: dict[str, str] = {}

    def program() -> None:
        provider = aws.Provider("oregon", region="us-west-2")
        opts = pulumi.ResourceOptions(provider=provider)
        repository = aws.ecr.Repository("models", name="models", opts=opts)
        repository.repository_url.apply(lambda url: seen.setdefault("url", url))
        aws.get_region_output(opts=pulumi.InvokeOptions(provider=provider)).region.apply(
            lambda name: seen.setdefault("region", name)
        )

    run_program(program)
    assert seen == {"url": f"{FAKE_ACCOUNT_ID}.dkr.ecr.us-west-2.amazonaws.com/models", "region": "us-west-2"}


def test_an_aks_cluster_previews_its_fqdn_and_issuer_in_its_own_location() -> None:
    monitor = install_recording_mocks()
    seen: dict[str, str] = {}

    def program() -> None:
        cluster = azure_native.containerservice.ManagedCluster(
            "aks", resource_group_name="rg", location="northeurope", dns_prefix="aks"
        )
        cluster.fqdn.apply(lambda fqdn: seen.setdefault("fqdn", fqdn))

    run_program(program)
    assert monitor.registrations
    assert seen["fqdn"].endswith(".hcp.northeurope.azmk8s.io")


def test_prod_backup_vault_name_is_the_auto_name_the_provider_gives_never_null(prod_update, prod_preview) -> None:
    name = prod_update.outputs["backupVaultName"]
    assert isinstance(name, str) and name.startswith("backup-vault-"), name
    assert prod_preview.outputs["backupVaultName"] == name, "auto-names are known during a preview too"


def test_no_prod_output_is_null(prod_update) -> None:
    nulls = sorted(key for key, value in prod_update.outputs.items() if value is None)
    assert not nulls, f"outputs null offline that the real stack sets: {nulls}"


def test_as_preview_leaves_cloud_computed_outputs_unknown_and_shows_them_so(prod_update, prod_preview) -> None:
    assert prod_preview.outputs["clusterEndpoint"] == UNKNOWN
    assert "clusterEndpoint" in prod_preview.unknown_outputs
    assert prod_preview.outputs["region"] == "eu-west-1", "values the program knows stay known"
    out = io.StringIO()
    render_tree(prod_preview, out)
    assert "clusterEndpoint: [unknown]" in out.getvalue()
    assert "preview mode" in out.getvalue()
    assert graph_document(prod_preview)["outputs"]["clusterEndpoint"] == "[unknown]"
    assert graph_document(prod_preview)["unknownOutputs"] == prod_preview.unknown_outputs
    assert prod_update.unknown_outputs == [], "an update-mode synthesis has every value"


def test_the_preview_legend_says_the_account_is_a_documentation_placeholder(prod_update) -> None:
    out = io.StringIO()
    render_tree(prod_update, out)
    assert f"account {FAKE_ACCOUNT_ID} (the account AWS's documentation uses)" in out.getvalue()
    assert graph_document(prod_update)["placeholders"].startswith("Placeholders:")


@pytest.mark.parametrize("stack", stack_names())
def test_preview_counts_the_resources_check_replays(stack: str) -> None:
    synthesis = synthesize(stack)
    requests = analyzer_requests(synthesis, pulumi_config_for(stack, PROJECT_ROOT)[0])
    count = resource_count(synthesis.registrations)
    assert count.total == len(requests.analyze), count.explained()
    out = io.StringIO()
    render_tree(synthesis, out)
    assert f"+ {count.total} to create" in out.getvalue()
    assert f"`check` replays the same {count.total}" in out.getvalue()


def test_the_canonical_order_is_a_registration_order_whatever_order_the_program_registered_in() -> None:
    parent = _registration("mlplatform:index:Box", "box")
    child = _registration("aws:z", "a-child", parent=parent.urn)
    dependency = _registration("aws:y", "dependency")
    child.dependencies = [dependency.urn]
    loose = _registration("aws:a", "loose")
    expected = [loose, dependency, parent, child]
    for registered in ([child, parent, dependency, loose], [loose, parent, dependency, child]):
        assert canonical_order(registered) == expected, "parents and dependencies first, ties by type and name"


def test_two_runs_of_check_print_identical_text() -> None:
    def check() -> str:
        return subprocess.run(
            [sys.executable, "-m", "stacks", "check", "prod-cluster"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
        ).stdout

    first = check()
    assert "Policy check of" in first
    assert first == check(), "the replay, its verdicts and the deployability pools follow the canonical order"
