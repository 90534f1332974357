"""The Pod Security Standards 'baseline' controls the other workload rules do not cover, and hostPath volumes.

From kubernetes.io "Pod Security Standards" (Baseline): /proc mount type, SELinux, AppArmor, sysctls and Windows
HostProcess containers. A hostPath PersistentVolume is checked separately: Pod Security only sees a pod's inline
`hostPath` volume, not a claim bound to a hostPath PersistentVolume.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from policies.rules.base import (
    UNKNOWN,
    Finding,
    Resource,
    Unverified,
    as_bool,
    as_dict,
    dicts,
    resource_rule,
)
from policies.rules.kubernetes_common import PodTemplate, may_carry_pods
from policies.rules.kubernetes_workloads import each_hardened, security_context
from policies.rules.settings import CRD_POD_SPEC_PATHS, SYSTEM_NAMESPACES

PERSISTENT_VOLUME = "kubernetes:core/v1:PersistentVolume"


@resource_rule(
    name="kubernetes-persistent-volume-no-host-path",
    title="No hostPath PersistentVolumes",
    description=(
        "No PersistentVolume is backed by a node directory (spec.hostPath): a claim bound to it gives a pod the "
        "node's files although Pod Security admits the pod, which only checks inline hostPath volumes."
    ),
    remediation="Back the volume with a CSI driver or a storage class (EBS, Azure Disk, EFS); never spec.hostPath.",
    scope="PersistentVolumes",
    types=(PERSISTENT_VOLUME,),
)
def persistent_volume_host_path(volume: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    spec = volume.props.get("spec")
    host_path = UNKNOWN if spec is UNKNOWN else as_dict(spec).get("hostPath")
    if host_path is UNKNOWN:
        yield Unverified(f"the source of PersistentVolume '{volume.name}'")
    elif host_path is not None:
        path = as_dict(host_path).get("path", "?")
        yield (
            f"PersistentVolume '{volume.name}' mounts the node directory {path} (spec.hostPath); back it with a CSI "
            "driver or a storage class instead."
        )


SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
"""The baseline's "Sysctls" allowed values (kubernetes.io Pod Security Standards; ip_local_reserved_ports since
v1.27, the tcp keepalive and fin timeout ones since v1.29)."""
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
"""The baseline's SELinux allowed types (container_engine_t since v1.31); user and role must be unset."""
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_APPARMOR_TYPES = frozenset({"RuntimeDefault", "Localhost"})


def _selinux(context: Any, where: str) -> Iterator[Finding]:
    options = UNKNOWN if context is UNKNOWN else as_dict(context.get("seLinuxOptions"))
    if options is UNKNOWN or UNKNOWN in options.values():
        yield Unverified(f"the SELinux options of {where}")
        return
    if options.get("type", "") not in SELINUX_TYPES:
        yield f"{where} sets SELinux type '{options['type']}'; use container_t (or leave se_linux_options unset)."
    for field in ("user", "role"):
        if options.get(field):
            yield f"{where} sets SELinux {field} '{options[field]}'; remove se_linux_options.{field}."


def _apparmor(context: Any, where: str) -> Iterator[Finding]:
    profile = UNKNOWN if context is UNKNOWN else context.get("appArmorProfile")
    kind = UNKNOWN if profile is UNKNOWN else as_dict(profile).get("type")
    if kind is UNKNOWN:
        yield Unverified(f"the AppArmor profile of {where}")
    elif kind is not None and kind not in _APPARMOR_TYPES:
        yield f"{where} runs with AppArmor profile {kind}; set app_armor_profile.type to RuntimeDefault or Localhost."


def _windows_host_process(context: Any, where: str) -> Iterator[Finding]:
    flag = UNKNOWN if context is UNKNOWN else as_bool(as_dict(context.get("windowsOptions")).get("hostProcess"))
    if flag is UNKNOWN:
        yield Unverified(f"the Windows options of {where}")
    elif flag:
        yield f"{where} is a Windows HostProcess container; remove windows_options.host_process."


@resource_rule(
    name="kubernetes-workload-pod-security-baseline",
    title="Pods meet the rest of Pod Security baseline",
    description=(
        "No container sets procMount other than Default; SELinux options set no user or role and only the container "
        "types; AppArmor profiles (field or annotation) are RuntimeDefault or Localhost; sysctls are in the safe set; "
        "no Windows HostProcess. DaemonSets in the configured systemNamespaces (node agents) are exempt."
    ),
    remediation=(
        "Remove proc_mount, se_linux_options.user/role, Unconfined AppArmor profiles, unsafe sysctls and "
        "windows_options.host_process from the pod and container security contexts."
    ),
    scope="workloads",
    matches=may_carry_pods,
    settings=(SYSTEM_NAMESPACES, CRD_POD_SPEC_PATHS),
)
def pod_security_baseline(workload: Resource, config: dict[str, Any]) -> Iterator[Finding]:
    yield from each_hardened(workload, config, _pod_security_baseline)


def _pod_security_baseline(template: PodTemplate, items: list[dict[str, Any]]) -> Iterator[Finding]:
    pod = f"the pod of {template.where}"
    pod_context = security_context(template.spec)
    yield from _selinux(pod_context, pod)
    yield from _apparmor(pod_context, pod)
    yield from _windows_host_process(pod_context, pod)
    sysctls, unknown = dicts(UNKNOWN if pod_context is UNKNOWN else pod_context.get("sysctls"))
    if unknown or any(item.get("name") is UNKNOWN for item in sysctls):
        yield Unverified(f"the sysctls of {pod}")
    unsafe = sorted(str(item.get("name")) for item in sysctls if item.get("name") not in (SAFE_SYSCTLS | {UNKNOWN}))
    if unsafe:
        yield f"{pod} sets unsafe sysctls {unsafe}; keep to the Pod Security baseline's safe sysctls."
    for container in items:
        label = template.container(container)
        context = security_context(container)
        proc_mount = UNKNOWN if context is UNKNOWN else context.get("procMount")
        if proc_mount is UNKNOWN:
            yield Unverified(f"the /proc mount of {label}")
        elif proc_mount not in (None, "Default"):
            yield f"{label} sets proc_mount {proc_mount}; remove it (Default masks /proc)."
        yield from _selinux(context, label)
        yield from _apparmor(context, label)
        yield from _windows_host_process(context, label)
    annotations = template.annotations()
    if annotations is UNKNOWN:
        yield Unverified(f"the annotations of {pod}")
        return
    for key, value in annotations.items():
        if not key.startswith(APPARMOR_ANNOTATION):
            continue
        if value is UNKNOWN:
            yield Unverified(f"annotation {key} of {pod}")
        elif value != "runtime/default" and not (isinstance(value, str) and value.startswith("localhost/")):
            yield f"{pod} sets {key}: {value}; use runtime/default or localhost/<profile>."
