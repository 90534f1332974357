"""Non-interactive kubelogin for AKS user kubeconfigs: the login modes and the pure rewrite of the exec block.

AKS returns the Entra user kubeconfig (`listClusterUserCredential`, format `exec`) with kubelogin's device-code
login, which blocks waiting for a person at a browser ("This login will prompt the device code for user to login
on a browser", https://azure.github.io/kubelogin/concepts/login-modes/devicecode.html). A Pulumi Kubernetes
provider, a CI job or a self-hosted runner needs a mode that takes its credential from the environment instead.
The flags each mode takes follow kubelogin's login-mode documentation
(https://azure.github.io/kubelogin/concepts/login-modes.html) and its `convert-kubeconfig` behaviour:
every mode needs `--server-id`; `--client-id` names "the public client application ... only used in device
code, web browser interactive, and ropc login modes", so it is dropped; secrets never enter the kubeconfig.
"""

from typing import Any

import yaml

KUBELOGIN_MODES: dict[str, str] = {
    "azurecli": "The signed-in Azure CLI context (`az login` on a laptop, `azure/login` with OIDC in GitHub Actions, "
    "`az login --identity` on a runner VM); the tenant is the CLI's. Optional env: AZURE_CONFIG_DIR.",
    "workloadidentity": "A federated token file: env AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE "
    "and AZURE_AUTHORITY_HOST (set by AKS workload identity in a pod, e.g. a runner on another cluster).",
    "spn": "A service principal: env AAD_SERVICE_PRINCIPAL_CLIENT_ID and AAD_SERVICE_PRINCIPAL_CLIENT_SECRET (or "
    "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or a PFX certificate in AAD_SERVICE_PRINCIPAL_CLIENT_CERTIFICATE / "
    "AZURE_CLIENT_CERTIFICATE_PATH); the cluster's tenant is kept.",
    "msi": "The managed identity of the Azure VM or container running Pulumi (IMDS); env AZURE_CLIENT_ID selects a "
    "user-assigned identity when the host has several.",
}
"""The non-interactive kubelogin login modes this library writes, and where each takes its credential from
(https://azure.github.io/kubelogin/concepts/login-modes/{azurecli,workloadidentity,sp,msi}.html)."""

INTERACTIVE_MODES: tuple[str, ...] = ("devicecode", "interactive", "ropc")
"""kubelogin modes that need a person or a password in the kubeconfig; never written by this library."""

_VALUE_FLAGS_KEPT: dict[str, tuple[str, ...]] = {
    # kubelogin disregards the kubeconfig's tenant for azurecli: the CLI's own login decides it (an MSI-based
    # `az login` cannot switch tenants).
    "azurecli": (),
    # Every identity value comes from the AZURE_* variables the federation sets.
    "workloadidentity": (),
    # The tenant and cloud are the cluster's; the client ID and credential come from the environment.
    "spn": ("--tenant-id", "--environment"),
    "msi": (),
}


def _flag_value(args: list[str], flag: str) -> str | None:
    """The value following `flag` in an exec argument list (`--flag value`), or None."""
    for index, arg in enumerate(args[:-1]):
        if arg == flag:
            return args[index + 1]
    return None


def kubelogin_exec_args(args: list[str], mode: str) -> list[str]:
    """The `kubelogin get-token` arguments for `mode`, built from the AKS-issued ones.

    Keeps `--server-id` (the AKS Entra server application every mode requests its token for) and the flags the
    mode takes; drops the rest (the device-code public client `--client-id`, `--login devicecode`, `--legacy`).

    Raises:
        ValueError: when `mode` is not one of `KUBELOGIN_MODES`, or `args` carry no `--server-id`.
    """
    if mode not in KUBELOGIN_MODES:
        raise ValueError(f"'{mode}' is not a non-interactive kubelogin mode ({', '.join(KUBELOGIN_MODES)})")
    server_id = _flag_value(args, "--server-id")
    if not server_id:
        raise ValueError("the kubelogin arguments carry no --server-id (is this an AKS exec-format kubeconfig?)")
    rewritten = ["get-token", "--login", mode, "--server-id", server_id]
    for flag in _VALUE_FLAGS_KEPT[mode]:
        value = _flag_value(args, flag)
        if value:
            rewritten += [flag, value]
    return rewritten


def _uses_kubelogin(user: Any) -> bool:
    exec_block = (user or {}).get("user", {}).get("exec") if isinstance(user, dict) else None
    return isinstance(exec_block, dict) and "kubelogin" in str(exec_block.get("command", "")).lower()


def with_kubelogin_mode(kubeconfig: str, mode: str) -> str:
    """Rewrite every kubelogin user of a kubeconfig (YAML or JSON) to the non-interactive `mode`; YAML out.

    Users that do not run kubelogin (tokens, certificates) and everything else in the file stay as they are.

    Raises:
        ValueError: as `kubelogin_exec_args`, or when `kubeconfig` is not a kubeconfig mapping.
    """
    config = yaml.safe_load(kubeconfig)
    if not isinstance(config, dict):
        raise ValueError("not a kubeconfig: expected a mapping with clusters, contexts and users")
    for user in config.get("users") or []:
        if _uses_kubelogin(user):
            exec_block = user["user"]["exec"]
            exec_block["args"] = kubelogin_exec_args([str(arg) for arg in exec_block.get("args") or []], mode)
    return yaml.safe_dump(config, sort_keys=False)
