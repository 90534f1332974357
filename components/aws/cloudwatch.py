"""CloudWatch Logs retention values: the fixed set the service accepts, and the nearest one for a wish."""

from __future__ import annotations

CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
"""The only `retentionInDays` values CloudWatch Logs accepts (0 means never expire and is never used here)."""


def supported_retention_days(days: int) -> int:
    """The longest CloudWatch retention that does not exceed `days` (never keep logs longer than asked).

    Raises:
        ValueError: when `days` is below the shortest retention CloudWatch offers.
    """
    allowed = [value for value in CLOUDWATCH_RETENTION_DAYS if value <= days]
    if not allowed:
        raise ValueError(f"{days} is below the shortest CloudWatch retention (1 day)")
    return allowed[-1]
