"""What the numbers were measured on: CPU, memory, versions, and how busy the machine was meanwhile."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "pulumi",
    "pulumi-aws",
    "pulumi-azure-native",
    "pulumi-kubernetes",
    "pulumi-policy",
    "pulumi-random",
    "pulumi-docker",
    "grpcio",
    "protobuf",
    "pydantic",
)
"""The packages whose versions decide the numbers."""

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _first(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _git_commit(directory: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip()


def describe(directory: Path) -> dict[str, str]:
    """CPU model, cores, memory, OS, Python, package versions, commit and date, for the report header."""
    memory_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _first("/proc/cpuinfo", "model name"),
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory_kib) / 1024 / 1024:.1f} GiB" if memory_kib.isdigit() else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "commit": _git_commit(directory),
        "packages": ", ".join(f"{package} {version}" for package, version in versions.items()),
    }


def _cpu_jiffies() -> tuple[int, int]:
    """(busy, steal) jiffies of the whole machine since boot."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class LoadMeter:
    """How much CPU other processes used while the benchmarks ran (they share the machine)."""

    started: float
    busy: int
    steal: int
    own: float

    @classmethod
    def start(cls) -> LoadMeter:
        """Begin measuring."""
        busy, steal = _cpu_jiffies()
        return cls(time.monotonic(), busy, steal, _own_cpu_seconds())

    def stop(self) -> dict[str, float]:
        """Wall seconds, and the average number of cores used by other processes and stolen by the hypervisor.

        Call after every benchmark child has exited (their CPU time is counted once they are reaped).
        """
        busy, steal = _cpu_jiffies()
        wall = time.monotonic() - self.started
        others = (busy - self.busy) / _CLOCK_TICKS - (_own_cpu_seconds() - self.own)
        return {
            "wall_seconds": wall,
            "other_cores": max(others, 0.0) / wall if wall else 0.0,
            "steal_cores": (steal - self.steal) / _CLOCK_TICKS / wall if wall else 0.0,
        }
