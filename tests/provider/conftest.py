"""Fixtures for the component provider: its published schema, and the provider running as its own process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from provider.hosting import MlPlatformProvider
from tests.provider.harness import MockDeployment, mock_deployment, provider_process


@pytest.fixture(scope="session")
def published_schema() -> dict[str, Any]:
    """The schema the provider publishes, built in-process by Pulumi's analyzer from every public component."""
    return MlPlatformProvider().published_schema


@pytest.fixture(scope="module")
def deployment() -> Iterator[MockDeployment]:
    """A mock engine and resource monitor that a provider process calls back."""
    with mock_deployment() as running:
        yield running


@pytest.fixture(scope="module")
def consumer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The consumer's program directory, where the CLI starts the plugin."""
    return tmp_path_factory.mktemp("consumer")


@pytest.fixture(scope="module")
def provider(deployment: MockDeployment, consumer_dir: Path) -> Iterator[Any]:
    """A `ResourceProvider` client of the plugin, started like the CLI does from a consumer's directory."""
    with provider_process(consumer_dir, deployment.address) as client:
        yield client
