"""Serve a framework's policy pack the way the Pulumi CLI expects (`PolicyPack(...)`, blocking forever)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from pulumi_policy import PolicyPack

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
PACKS_DIR = REPOSITORY_ROOT / "policies" / "packs"


def _shared_constants_without_cloud_sdks() -> None:
    """Make `components._common` importable without running `components/__init__.py`.

    The package's `__init__` exports every component and so imports the cloud SDKs, which the pack's own
    virtualenv does not have (and would take seconds to import). The rules only need the SDK-free
    constants in `components/_common`, so the parent package is registered without executing it.
    """
    if "components" in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        "components",
        REPOSITORY_ROOT / "components" / "__init__.py",
        submodule_search_locations=[str(REPOSITORY_ROOT / "components")],
    )
    if spec is None:  # pragma: no cover - the file is part of the repository
        raise ImportError("components/__init__.py is missing")
    sys.modules["components"] = importlib.util.module_from_spec(spec)


def serve(framework: str) -> None:
    """Run the pack of `framework` (gdpr, hipaa or kubernetes-baseline); prints the gRPC port and blocks."""
    _shared_constants_without_cloud_sdks()
    # Imported here, after the shim: the rules import components._common at module level.
    from policies.frameworks import pack_arguments

    readme = PACKS_DIR / framework / "README.md"
    PolicyPack(**pack_arguments(framework), readme=readme.read_text() if readme.exists() else None)
