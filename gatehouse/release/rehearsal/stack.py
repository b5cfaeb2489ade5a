"""The AWS side of the rehearsal: a moto server and what a deployment puts in it.

What ``docs/DEPLOY.md`` has a user do before and during the first deploy,
against moto instead of an account: the signing key with the admin CLI
(``python -m gatehouse.admin create-signing-key``, the same code path), the
template's tables, the SES identity of ``MailIdentity``, each function's role
with its inline policies (its credentials come from ``sts:AssumeRole``, as a
Lambda execution environment's do), and the first admin, again with the
admin CLI.
"""

from __future__ import annotations

import io
import os
import socket
from collections.abc import Mapping
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

from gatehouse.release.rehearsal.cfn import Resolver, TemplateError, resources_of

# Table properties the DynamoDB API takes as they are written in the template.
_TABLE_PROPERTIES = (
    "TableName",
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "ProvisionedThroughput",
    "SSESpecification",
    "Tags",
    "TableClass",
    "DeletionProtectionEnabled",
)
# What moto cannot show or the functions never see: a backup setting, stream to nowhere.
_TABLE_IGNORED = (
    "PointInTimeRecoverySpecification",
    "ContributorInsightsSpecification",
    "StreamSpecification",
)
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"}


class SetupError(Exception):
    """A deployment step failed in the rehearsal; the message says which.

    Not a :class:`~gatehouse.errors.GatehouseError`: a build step's refusal, never a request's.
    """


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """moto's server on a free loopback port, in this process (its backends stay readable here)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.port = free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
        self._server.start()

    def stop(self) -> None:
        self._server.stop()


@dataclass
class Aws:
    """Clients for the operator's side of the rehearsal (the deployer, not a function)."""

    endpoint: str
    region: str

    def client(self, service: str) -> Any:
        import boto3

        session: Any = boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=self.region,
        )
        return session.client(service, endpoint_url=self.endpoint)

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """An operator's shell aimed at moto: no Gatehouse settings of the developer leak in."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEHOUSE_", "AWS_"))}
        env.update(CREDENTIALS)
        env.update({"AWS_DEFAULT_REGION": self.region, "AWS_ENDPOINT_URL": self.endpoint})
        env.update(extra or {})
        return env

    def ssm_value(self, name: str) -> str:
        try:
            value: str = self.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
        except Exception as error:
            raise SetupError(f"SSM parameter {name} (a template parameter's value): {error}") from None
        return value


def admin_cli(aws: Aws, arguments: list[str], env: Mapping[str, str] | None = None) -> str:
    """``python -m gatehouse.admin ARGS`` as an operator runs it, aimed at moto.

    Its ``main`` in this process (a second interpreter would cost seconds of
    imports): the CLI's code path, with the environment an operator's shell
    would have for the call, restored afterwards.
    """
    from gatehouse.admin.cli import main

    full = aws.environment(env)
    touched = {k for k in {*os.environ, *full} if k.startswith(("AWS_", "GATEHOUSE_"))}
    saved = {k: os.environ.get(k) for k in touched}
    out, err = io.StringIO(), io.StringIO()
    try:
        for key in touched:
            if key in full:
                os.environ[key] = full[key]
            else:
                os.environ.pop(key, None)
        with redirect_stdout(out), redirect_stderr(err):
            status = main(arguments, env=full, stdin=io.StringIO())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    if status != 0:
        said = (err.getvalue().strip() or out.getvalue().strip()).splitlines()
        raise SetupError(f"gatehouse.admin {arguments[0]} failed: {said[-1] if said else status}")
    return out.getvalue()


def create_signing_key(aws: Aws, template: Mapping[str, Any], values: Mapping[str, str]) -> None:
    """Step 1 of docs/DEPLOY.md: the key pair in SSM, made by the admin CLI."""
    spec = template.get("Parameters", {}).get("SigningKeyParameterName")
    if spec is None:
        raise TemplateError("the template has no SigningKeyParameterName parameter")
    name = values.get("SigningKeyParameterName", spec.get("Default", ""))
    admin_cli(aws, ["create-signing-key"], {"GATEHOUSE_SIGNING_KEY_PARAM": name})


def create_tables(aws: Aws, resolver: Resolver) -> dict[str, str]:
    """Every table of the template, as CloudFormation creates it; logical id -> table name."""
    client = aws.client("dynamodb")
    made = {}
    for logical, resource in resources_of(resolver.template, "AWS::DynamoDB::Table").items():
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        properties = resolver.resolve(resource.get("Properties", {}), f"Resources.{logical}.Properties")
        unknown = sorted(set(properties) - {*_TABLE_PROPERTIES, *_TABLE_IGNORED, "TimeToLiveSpecification"})
        if unknown:
            raise TemplateError(
                f"{logical}: table properties the rehearsal cannot create: {', '.join(unknown)}"
            )
        request = {key: value for key, value in properties.items() if key in _TABLE_PROPERTIES}
        request["TableName"] = resolver.physical_id(logical)
        if "SSESpecification" in request:  # CloudFormation's SSEEnabled is the API's Enabled
            sse = dict(request["SSESpecification"])
            sse["Enabled"] = sse.pop("SSEEnabled", False)
            request["SSESpecification"] = sse
        try:
            client.create_table(**request)
        except Exception as error:
            raise SetupError(
                f"{logical}: the table cannot be created as the template says: {error}"
            ) from None
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            client.update_time_to_live(
                TableName=request["TableName"],
                TimeToLiveSpecification={
                    "Enabled": ttl.get("Enabled", True),
                    "AttributeName": ttl["AttributeName"],
                },
            )
        made[logical] = request["TableName"]
    return made


def create_mail_identity(aws: Aws, identity: str) -> None:
    """The SES identity ``MailIdentity`` names (verified: moto verifies what it creates)."""
    if identity:
        aws.client("sesv2").create_email_identity(EmailIdentity=identity)


def assume_role(
    aws: Aws, role_name: str, document: Mapping[str, Any], policies: list[Any], session: str
) -> dict[str, str]:
    """The role in moto's IAM, and credentials of a session of it, as Lambda gets them."""
    import json

    iam = aws.client("iam")
    try:
        role = iam.get_role(RoleName=role_name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(document))["Role"]
        for item in policies:
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName=item["PolicyName"],
                PolicyDocument=json.dumps(item["PolicyDocument"]),
            )
    credentials = aws.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName=session)["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }
