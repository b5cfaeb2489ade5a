"""The two SSM parameters that hold the keys.

* the signing-key parameter (SecureString): the private JWKs, newest first,
  read by the API handler only;
* the JWKS parameter (String): their public halves, which CloudFormation
  copies into both functions' GATEHOUSE_JWKS on each deploy.

Writes go private first, then public.  If the second write fails, the new
key is stored but not published, and the API handler never signs with an
unpublished key: a half-done rotation breaks nothing and can be re-run or
retired.  One operator at a time: SSM has no conditional put, so two
concurrent rotations could lose a key (a lost key has not been deployed
yet, so no token depends on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatehouse.admin import keyring
from gatehouse.storage.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_ssm.client import SSMClient


DEFAULT_KMS_KEY = "alias/aws/ssm"


def jwks_parameter_for(signing_key_param: str) -> str:
    """The default JWKS parameter: a sibling of the signing-key one (``/gatehouse/prod/jwks``)."""
    parent = signing_key_param.rsplit("/", 1)[0]
    return f"{parent}/jwks"


class KeyStoreError(Exception):
    """The signing-key parameter cannot be read or written; the message says why.

    Not a :class:`~gatehouse.errors.GatehouseError`: a refusal of the admin CLI, printed as its
    one line; it never reaches the HTTP edge.
    """


@dataclass
class KeyStore:
    ssm: SSMClient
    signing_key_param: str
    jwks_param: str
    kms_key_id: str | None = None

    def exists(self) -> bool:
        try:
            self.ssm.get_parameter(Name=self.signing_key_param, WithDecryption=False)
        except Exception as exc:
            if error_code(exc) == "ParameterNotFound":
                return False
            raise
        return True

    def load(self) -> list[keyring.PrivateJwk]:
        try:
            answer = self.ssm.get_parameter(Name=self.signing_key_param, WithDecryption=True)
        except Exception as exc:
            if error_code(exc) == "ParameterNotFound":
                raise KeyStoreError(
                    f"No signing keys in {self.signing_key_param!r}: run create-signing-key first."
                ) from None
            raise
        return keyring.parse(answer["Parameter"]["Value"])

    def published(self) -> str | None:
        """The JWKS parameter's current value (None when it does not exist)."""
        try:
            return self.ssm.get_parameter(Name=self.jwks_param)["Parameter"]["Value"]
        except Exception as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise

    def save(self, keys: list[keyring.PrivateJwk]) -> str:
        """Write both parameters; returns the public JWKS written."""
        self.ssm.put_parameter(
            Name=self.signing_key_param,
            Value=keyring.dump(keys),
            Type="SecureString",
            # The account's AWS managed key for SSM unless a customer managed one is named.
            KeyId=self.kms_key_id or DEFAULT_KMS_KEY,
            Overwrite=True,
            Description="Gatehouse private signing keys (JWK, newest first). Managed by gatehouse.admin.",
        )
        public = keyring.public_document(keys)
        self.ssm.put_parameter(
            Name=self.jwks_param,
            Value=public,
            Type="String",
            Overwrite=True,
            Description="Gatehouse public JWKS. Managed by python -m gatehouse.admin.",
        )
        return public
