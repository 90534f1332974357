"""ModelImage: build a model-serving image from a context directory and push it, exporting the digest-pinned reference."""

import re
from collections.abc import Mapping
from pathlib import Path
from typing import NotRequired, TypedDict

import pulumi
import pulumi_docker as docker

from components._common.validation import Problems, require_args_mapping
from components.docker.registry_auth import RegistryAuth

DEFAULT_PLATFORM = "linux/amd64"
DEFAULT_DOCKERFILE = "Dockerfile"
SUPPORTED_PLATFORMS = ("linux/amd64", "linux/arm64")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ModelImageArgs(TypedDict):
    """Arguments of ModelImage."""

    context: str
    """Build context directory (holds the Dockerfile and the model server code). Relative to the program."""
    repository_url: pulumi.Input[str]
    """Registry repository to push to, e.g. `123456789012.dkr.ecr.eu-central-1.amazonaws.com/models` or
    `mlplatformprod.azurecr.io/fraud`."""
    tag: str
    """Immutable version tag, e.g. `fraud-2026.11.1`. `latest` is rejected: registries use immutable tags."""
    registry: RegistryAuth
    """Push credentials (see `ecr_registry_auth` / `acr_registry_auth`); the password is a secret."""
    dockerfile: NotRequired[str]
    """Dockerfile path relative to `context`. Defaults to `Dockerfile`."""
    platform: NotRequired[str]
    """Target platform: `linux/amd64` (GPU nodes on x86) or `linux/arm64` (Graviton GPU nodes). Defaults to linux/amd64."""
    build_args: NotRequired[Mapping[str, pulumi.Input[str]]]
    """Docker build arguments (`ARG`s). Defaults to none."""
    cache_from: NotRequired[list[str]]
    """Images to use as build cache, e.g. the previous release. Defaults to none."""


class ModelImage(pulumi.ComponentResource):
    """A model-serving container image built with BuildKit and pushed to the platform registry.

    Creates:
    - a `docker:index/image:Image` that builds `context` for `platform` and pushes `repository_url:tag`.

    Security defaults: the registry password is a secret fetched at deploy time (never stored in config),
    the tag must be an immutable version (not `latest`), and consumers get the digest-pinned reference
    (`repo@sha256:...`), which the serving policies require.
    """

    image_ref: pulumi.Output[str]
    """The pushed reference by tag, `repository:tag`."""
    digest_ref: pulumi.Output[str]
    """The pushed reference pinned by digest, `repository@sha256:...`; deploy this one."""

    def __init__(self, name: str, args: ModelImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        _validate(args)
        super().__init__("mlplatform:index:ModelImage", name, {}, opts)
        context = Path(args["context"])
        image_name = pulumi.Output.concat(args["repository_url"], ":", args["tag"])
        registry = args["registry"]
        build = docker.DockerBuildArgsDict(
            context=str(context),
            dockerfile=str(context / args.get("dockerfile", DEFAULT_DOCKERFILE)),
            platform=args.get("platform", DEFAULT_PLATFORM),
            args=dict(args.get("build_args", {})),
            builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
        )
        if args.get("cache_from"):
            build["cache_from"] = docker.CacheFromArgsDict(images=list(args["cache_from"]))
        self._image = docker.Image(
            f"{name}-image",
            image_name=image_name,
            build=build,
            registry=docker.RegistryArgsDict(
                server=registry["server"],
                username=registry["username"],
                password=pulumi.Output.secret(registry["password"]),
            ),
            skip_push=False,
            build_on_preview=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = self._image.image_name
        self.digest_ref = self._image.repo_digest
        self.register_outputs({"imageRef": self.image_ref, "digestRef": self.digest_ref})


def _validate(args: ModelImageArgs) -> None:
    problems = Problems()
    context = Path(args.get("context", ""))
    if not args.get("context"):
        problems.add("context", "required: the directory holding the Dockerfile")
    elif not context.is_dir():
        problems.add("context", f"'{context}' is not a directory")
    elif not (context / args.get("dockerfile", DEFAULT_DOCKERFILE)).is_file():
        problems.add("dockerfile", f"'{context / args.get('dockerfile', DEFAULT_DOCKERFILE)}' does not exist")
    tag = args.get("tag", "")
    if not _TAG.match(tag):
        problems.add("tag", f"'{tag}' is not a Docker tag (letters, digits, '_', '.', '-'; at most 128)")
    elif tag == "latest":
        problems.add("tag", "'latest' is mutable; use a version such as 'fraud-2026.11.1'")
    platform = args.get("platform", DEFAULT_PLATFORM)
    if platform not in SUPPORTED_PLATFORMS:
        problems.add("platform", f"'{platform}' is not one of {', '.join(SUPPORTED_PLATFORMS)}")
    if "registry" not in args:
        problems.add("registry", "required: push credentials from ecr_registry_auth or acr_registry_auth")
    if "repository_url" not in args:
        problems.add("repositoryUrl", "required: the registry repository to push to")
    problems.raise_if_any("ModelImage")
