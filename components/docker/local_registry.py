"""LocalRegistry: an OCI registry container next to a laptop cluster (kind, minikube, Docker Desktop)."""

from typing import NotRequired, TypedDict

import pulumi
import pulumi_docker as docker

from components._common.validation import Problems, require_args_mapping

REGISTRY_IMAGE = "registry:2.8.3"
"""The CNCF Distribution registry image, pinned by version (images are pinned here, not in _charts.py,
because this one runs on the Docker engine, not in the cluster)."""
DEFAULT_PORT = 5001
DEFAULT_DISTRIBUTION = "generic"
KIND_NETWORK = "kind"
"""The Docker network kind puts its nodes on; the registry joins it so nodes can pull from it."""

DISTRIBUTIONS = ("kind", "minikube", "docker-desktop", "generic")


class LocalRegistryArgs(TypedDict):
    """Arguments of LocalRegistry."""

    port: NotRequired[int]
    """Host port the registry listens on, bound to 127.0.0.1 only. Defaults to 5001."""
    distribution: NotRequired[str]
    """What runs the cluster: kind, minikube, docker-desktop or generic; `kind` also attaches the registry to the
    `kind` Docker network. Defaults to generic."""


class LocalRegistry(pulumi.ComponentResource):
    """A registry container for trying the platform on a laptop, reachable as `localhost:<port>`.

    Creates:
    - a `docker:index/remoteImage:RemoteImage` for the pinned registry image;
    - a `docker:index/volume:Volume` holding the pushed images across restarts;
    - a `docker:index/container:Container` running the registry, restarted unless stopped.

    Security defaults: the port is published on 127.0.0.1 only (never on all interfaces), the container
    is not privileged and has a read-only root filesystem. It serves plain HTTP, which is why it exists only
    for the `local` target.
    """

    url: pulumi.Output[str]
    """Where to push images from the host, e.g. `localhost:5001`."""
    container_name: pulumi.Output[str]
    """The container name (resolvable on the `kind` network as the registry host)."""

    def __init__(self, name: str, args: LocalRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        require_args_mapping(self, name, args)
        problems = Problems()
        port = args.get("port", DEFAULT_PORT)
        if not 1024 <= port <= 65535:
            problems.add("port", f"{port} is not an unprivileged port (1024-65535)")
        distribution = args.get("distribution", DEFAULT_DISTRIBUTION)
        if distribution not in DISTRIBUTIONS:
            problems.add("distribution", f"'{distribution}' is not kind, minikube, docker-desktop or generic")
        problems.raise_if_any("LocalRegistry")
        super().__init__("mlplatform:index:LocalRegistry", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        image = docker.RemoteImage(f"{name}-image", name=REGISTRY_IMAGE, keep_locally=True, opts=child)
        volume = docker.Volume(f"{name}-data", name=f"{name}-data", opts=child)
        networks = [docker.ContainerNetworksAdvancedArgsDict(name=KIND_NETWORK)] if distribution == "kind" else None
        self._container = docker.Container(
            f"{name}-container",
            name=name,
            image=image.image_id,
            restart="unless-stopped",
            ports=[docker.ContainerPortArgsDict(internal=5000, external=port, ip="127.0.0.1")],
            volumes=[docker.ContainerVolumeArgsDict(volume_name=volume.name, container_path="/var/lib/registry")],
            networks_advanced=networks,
            read_only=True,
            privileged=False,
            opts=child,
        )
        self.url = pulumi.Output.from_input(f"localhost:{port}")
        self.container_name = self._container.name
        self.register_outputs({"url": self.url, "containerName": self.container_name})
