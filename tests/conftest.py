"""Shared fixtures: the recording mock from `stacks/synth.py` (one implementation for tests and previews)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from stacks.synth import RecordingMonitor, install_recording_mocks, run_program


@pytest.fixture
def recorder() -> RecordingMonitor:
    """A fresh Pulumi mock runtime whose monitor records every registration (an update, not a preview)."""
    return install_recording_mocks(project="mlplatform", stack="test", preview=False)


@pytest.fixture
def run(recorder: RecordingMonitor) -> Callable[[Callable[[], Any]], RecordingMonitor]:
    """Run a program body under the recorder and return the recorder once every registration is done."""

    def _run(build: Callable[[], Any]) -> RecordingMonitor:
        run_program(build)
        return recorder

    return _run
