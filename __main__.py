"""The platform program: load the stack configuration, build the platform, export its outputs."""

import pulumi

from stacks.load import load_platform_config
from stacks.platform import build_platform

platform = build_platform(load_platform_config())
for key, value in platform.outputs.items():
    pulumi.export(key, value)
