"""ModelImage builds from a context, pushes with deploy-time secret credentials and exports a digest-pinned ref."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest

from components.docker import ModelImage, RegistryAuth, ecr_registry_auth
from components.docker.registry_auth import ACR_TOKEN_USERNAME, exchange_for_acr_refresh_token
from stacks.synth import PROJECT_ROOT

CONTEXT = PROJECT_ROOT / "examples" / "model-server"
REPOSITORY = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/models"


def test_the_image_is_built_for_the_platform_and_pushed_with_a_secret_password(run) -> None:
    outputs: dict[str, pulumi.Output[str]] = {}

    def program() -> None:
        image = ModelImage(
            "fraud",
            {
                "context": str(CONTEXT),
                "repository_url": REPOSITORY,
                "tag": "fraud-1.0.0",
                "registry": ecr_registry_auth(REPOSITORY),
                "build_args": {"MODEL_VERSION": "1.0.0"},
            },
        )
        outputs["digest"] = image.digest_ref

    recorder = run(program)
    image = recorder.one("docker:index/image:Image", "fraud-image")
    assert image.inputs["imageName"] == f"{REPOSITORY}:fraud-1.0.0"
    assert image.inputs["build"]["platform"] == "linux/amd64", "GPU nodes are x86 unless configured"
    assert image.inputs["build"]["context"] == str(CONTEXT)
    assert image.inputs["build"]["args"] == {"MODEL_VERSION": "1.0.0"}
    assert image.inputs["buildOnPreview"] is False, "a preview must not build or push"
    assert image.inputs["registry"]["server"] == "123456789012.dkr.ecr.eu-central-1.amazonaws.com"
    assert "registry" in image.secret_inputs, "the ECR token must travel as a secret"
    assert image.parent == recorder.one("mlplatform:index:ModelImage").urn


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"tag": "latest"}, "tag"),
        ({"tag": "has space"}, "tag"),
        ({"context": "/nonexistent/context"}, "context"),
        ({"platform": "windows/amd64"}, "platform"),
        ({"dockerfile": "Missing.Dockerfile"}, "dockerfile"),
    ],
)
def test_bad_arguments_are_rejected_before_anything_is_registered(run, change: dict[str, str], path: str) -> None:
    args = {
        "context": str(CONTEXT),
        "repository_url": REPOSITORY,
        "tag": "v1",
        "registry": RegistryAuth(server="r", username="u", password=pulumi.Output.secret("p")),
    }
    args.update(change)
    with pytest.raises(pulumi.InputPropertiesError) as caught:
        run(lambda: ModelImage("bad", args))
    assert [e["property_path"] for e in caught.value.errors] == [path]


def test_acr_credentials_exchange_an_entra_token_for_a_refresh_token() -> None:
    seen: dict[str, object] = {}

    def fake_post(url: str, body: bytes) -> bytes:
        seen["url"], seen["body"] = url, body.decode()
        return json.dumps({"refresh_token": "acr-refresh"}).encode()

    token = exchange_for_acr_refresh_token("mlp.azurecr.io", "tenant-1", "entra-token", post=fake_post)
    assert token == "acr-refresh"
    assert seen["url"] == "https://mlp.azurecr.io/oauth2/exchange", "the exchange goes to the registry over TLS"
    assert "grant_type=access_token" in str(seen["body"])
    assert "service=mlp.azurecr.io" in str(seen["body"])
    assert ACR_TOKEN_USERNAME == "00000000-0000-0000-0000-000000000000", "ACR's documented refresh-token user"


def test_the_example_context_has_a_non_root_dockerfile() -> None:
    dockerfile = (CONTEXT / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile, "a numeric non-root user lets runAsNonRoot be verified"
    assert Path(CONTEXT / "server.py").is_file()
