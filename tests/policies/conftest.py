"""Policy-test fixtures: each pack started once per session, the way the Pulumi CLI starts it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from policies.frameworks import FRAMEWORKS
from policies.replay import PACKS_DIR, Analyzer, pack_process


@pytest.fixture(scope="session")
def packs() -> Iterator[dict[str, Analyzer]]:
    """A gRPC Analyzer client per framework, each pack in its own `python -u __main__.py` process."""
    with ExitStack() as stack:
        yield {framework: stack.enter_context(pack_process(PACKS_DIR / framework)) for framework in FRAMEWORKS}
