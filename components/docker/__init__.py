"""Model images: build a serving image with pulumi-docker and push it to the platform registry."""

from components.docker.local_registry import LocalRegistry, LocalRegistryArgs
from components.docker.model_image import ModelImage, ModelImageArgs
from components.docker.registry_auth import RegistryAuth, acr_registry_auth, ecr_registry_auth

__all__ = [
    "LocalRegistry",
    "LocalRegistryArgs",
    "ModelImage",
    "ModelImageArgs",
    "RegistryAuth",
    "acr_registry_auth",
    "ecr_registry_auth",
]
