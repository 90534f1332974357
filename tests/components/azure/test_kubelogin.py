"""kubelogin: the AKS user kubeconfig is rewritten to a non-interactive login mode, for every mode."""

from __future__ import annotations

import json

import pytest
import yaml

from components.azure._kubelogin import INTERACTIVE_MODES, KUBELOGIN_MODES, kubelogin_exec_args, with_kubelogin_mode

SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"
TENANT_ID = "11111111-1111-1111-1111-111111111111"
DEVICE_CODE_CLIENT = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"

AKS_USER_KUBECONFIG = f"""\
apiVersion: v1
kind: Config
clusters:
- name: gpu
  cluster:
    certificate-authority-data: LS0tLS1CRUdJTg==
    server: https://gpu-abc123.0f1e2d3c.privatelink.westeurope.azmk8s.io:443
contexts:
- name: gpu
  context:
    cluster: gpu
    user: clusterUser_rg_gpu
current-context: gpu
users:
- name: clusterUser_rg_gpu
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args:
      - get-token
      - --environment
      - AzurePublicCloud
      - --server-id
      - {SERVER_ID}
      - --client-id
      - {DEVICE_CODE_CLIENT}
      - --tenant-id
      - {TENANT_ID}
      - --login
      - devicecode
      env: null
      installHint: install kubelogin
      provideClusterInfo: false
"""
"""The shape of what AKS returns for `listClusterUserCredential` with `format=exec` (device code by default)."""


def _exec(kubeconfig: str) -> dict:
    (user,) = yaml.safe_load(kubeconfig)["users"]
    return user["user"]["exec"]


@pytest.mark.parametrize("mode", sorted(KUBELOGIN_MODES))
def test_every_mode_leaves_no_interactive_login_and_keeps_the_server_id(mode: str) -> None:
    rewritten = with_kubelogin_mode(AKS_USER_KUBECONFIG, mode)
    config = yaml.safe_load(rewritten)
    assert {"clusters", "contexts", "users", "current-context"} <= set(config), "the result is still a kubeconfig"
    args = _exec(rewritten)["args"]
    assert args[0] == "get-token", "kubelogin is still called as a client-go exec credential plugin"
    assert args[args.index("--login") + 1] == mode and args.count("--login") == 1
    assert not set(args) & set(INTERACTIVE_MODES), f"{mode}: a device-code or browser prompt would block pulumi up"
    assert args[args.index("--server-id") + 1] == SERVER_ID, "every kubelogin mode requests a token for the server ID"
    assert "--client-id" not in args, "the AKS public client ID serves interactive modes only; identities come from env"
    assert "--client-secret" not in args, "no secret is ever written into the kubeconfig"


def test_the_service_principal_mode_keeps_the_cluster_tenant_and_the_azure_cli_mode_uses_the_cli_tenant() -> None:
    spn = _exec(with_kubelogin_mode(AKS_USER_KUBECONFIG, "spn"))["args"]
    assert spn[spn.index("--tenant-id") + 1] == TENANT_ID, "the principal authenticates against the cluster's tenant"
    azurecli = _exec(with_kubelogin_mode(AKS_USER_KUBECONFIG, "azurecli"))["args"]
    assert "--tenant-id" not in azurecli, "kubelogin takes the tenant from `az login` in azurecli mode"


def test_the_rest_of_the_kubeconfig_is_untouched() -> None:
    original = yaml.safe_load(AKS_USER_KUBECONFIG)
    rewritten = yaml.safe_load(with_kubelogin_mode(AKS_USER_KUBECONFIG, "workloadidentity"))
    for key in ("clusters", "contexts", "current-context"):
        assert rewritten[key] == original[key], f"{key} must not change"
    exec_block = rewritten["users"][0]["user"]["exec"]
    assert exec_block["command"] == "kubelogin" and exec_block["apiVersion"] == "client.authentication.k8s.io/v1beta1"


def test_users_that_do_not_run_kubelogin_are_left_alone_and_json_comes_back_as_yaml() -> None:
    token_config = json.dumps(
        {"apiVersion": "v1", "kind": "Config", "users": [{"name": "offline", "user": {"token": "offline"}}]}
    )
    rewritten = with_kubelogin_mode(token_config, "azurecli")
    assert yaml.safe_load(rewritten) == json.loads(token_config)
    assert not rewritten.lstrip().startswith("{"), "the output is YAML, as AKS returns kubeconfigs"


def test_an_unknown_mode_or_a_kubeconfig_without_a_server_id_is_refused() -> None:
    with pytest.raises(ValueError, match="devicecode"):
        kubelogin_exec_args(["get-token", "--server-id", SERVER_ID], "devicecode")
    with pytest.raises(ValueError, match="--server-id"):
        kubelogin_exec_args(["get-token", "--login", "devicecode"], "azurecli")
    with pytest.raises(ValueError, match="not a kubeconfig"):
        with_kubelogin_mode("just text", "azurecli")
