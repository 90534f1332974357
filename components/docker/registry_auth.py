"""Short-lived push credentials for ECR and ACR, obtained at deploy time and kept secret."""

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TypedDict

import pulumi

ACR_TOKEN_USERNAME = "00000000-0000-0000-0000-000000000000"
"""The user name ACR expects with a refresh token (the admin user stays disabled)."""

Post = Callable[[str, bytes], bytes]


class RegistryAuth(TypedDict):
    """Registry server plus credentials for `docker push` (a TypedDict: hosted components receive plain dicts)."""

    server: pulumi.Input[str]
    """Registry host, e.g. `123456789012.dkr.ecr.eu-central-1.amazonaws.com`."""
    username: pulumi.Input[str]
    """User name for the registry."""
    password: pulumi.Input[str]
    """Password or token; pass it as a secret."""


def ecr_registry_auth(repository_url: pulumi.Input[str], opts: pulumi.InvokeOptions | None = None) -> RegistryAuth:
    """Credentials for the ECR registry holding `repository_url` (valid 12 hours, fetched on every deployment).

    Imports pulumi_aws only when called, so `components.docker` stays free of cloud SDKs otherwise.
    """
    import pulumi_aws as aws  # the cloud SDK is loaded only for ECR users

    url = pulumi.Output.from_input(repository_url)
    registry_id = url.apply(lambda value: value.split(".", 1)[0])
    token = aws.ecr.get_authorization_token_output(registry_id=registry_id, opts=opts)
    return RegistryAuth(
        server=url.apply(lambda value: value.split("/", 1)[0]),
        username=token.user_name,
        password=pulumi.Output.secret(token.password),
    )


def exchange_for_acr_refresh_token(
    login_server: str, tenant_id: str, entra_token: str, post: Post | None = None
) -> str:
    """Exchange an Entra access token for an ACR refresh token (the flow `az acr login --expose-token` uses).

    Args:
        login_server: the registry's login server, e.g. `mlplatformprod.azurecr.io`.
        tenant_id: the Entra tenant of the caller.
        entra_token: an Entra access token for the caller.
        post: the HTTP POST function (injectable for tests); defaults to urllib over HTTPS.
    """
    body = urllib.parse.urlencode(
        {"grant_type": "access_token", "service": login_server, "tenant": tenant_id, "access_token": entra_token}
    ).encode()
    response = (post or _https_post)(f"https://{login_server}/oauth2/exchange", body)
    return str(json.loads(response)["refresh_token"])


def _https_post(url: str, body: bytes) -> bytes:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def acr_registry_auth(login_server: pulumi.Input[str], opts: pulumi.InvokeOptions | None = None) -> RegistryAuth:
    """Credentials for an ACR registry whose admin user is disabled: the deployer's Entra identity, exchanged.

    The deployer needs `AcrPush` on the registry. The exchange runs only during `pulumi up`; during a preview
    the password stays unset (nothing is pushed on preview) instead of calling the registry.
    """
    import pulumi_azure_native.authorization as authorization  # loaded only for ACR users

    client = authorization.get_client_config_output(opts=opts)
    token = authorization.get_client_token_output(opts=opts)

    def exchange(values: list[str]) -> str:
        server, tenant, entra_token = values
        return exchange_for_acr_refresh_token(server, tenant, entra_token)

    password = pulumi.Output.all(login_server, client.tenant_id, token.token).apply(
        lambda values: None if pulumi.runtime.is_dry_run() else exchange(values)
    )
    return RegistryAuth(server=login_server, username=ACR_TOKEN_USERNAME, password=pulumi.Output.secret(password))
