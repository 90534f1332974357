"""Model images: build a serving image with pulumi-docker and push it to the platform registry."""

from components.docker.model_image import ModelImage, ModelImageArgs
from components.docker.registry_auth import RegistryAuth, acr_registry_auth, ecr_registry_auth

__all__ = ["ModelImage", "ModelImageArgs", "RegistryAuth", "acr_registry_auth", "ecr_registry_auth"]
