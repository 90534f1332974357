"""Child-resource naming: every physical and logical name derives from the component name."""

from __future__ import annotations

import hashlib
import re


def child(name: str, suffix: str) -> str:
    """The logical name of a child resource: `<component name>-<suffix>`."""
    return f"{name}-{suffix}"


def bounded(name: str, max_length: int, *, allowed: str = r"a-z0-9-") -> str:
    """Fit `name` into a cloud name limit, keeping it unique with a short hash when it must be cut.

    Args:
        name: the desired name.
        max_length: the cloud's length limit.
        allowed: the character class the cloud accepts; other characters are removed.
    """
    cleaned = re.sub(f"[^{allowed}]", "", name.lower())
    if len(cleaned) <= max_length:
        return cleaned
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:6]
    return f"{cleaned[: max_length - 7].rstrip('-')}-{digest}"
