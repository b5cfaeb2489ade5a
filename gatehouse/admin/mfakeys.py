"""The SSM parameter that holds the MFA data keys (SecureString, read only by the auth function).

``create-mfa-key`` writes the first key, ``rotate-mfa-key`` puts a new one in
front (it seals from the next cold start; secrets sealed under the older keys
still open), ``list-mfa-keys`` names them.  No key is ever printed.  The local
stack makes one the same way at every start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatehouse.accounts.factor_key import dump_keys, entries_of, new_data_key
from gatehouse.admin.keystore import DEFAULT_KMS_KEY, KeyStoreError
from gatehouse.storage.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_ssm.client import SSMClient


@dataclass
class MfaKeyStore:
    ssm: SSMClient
    parameter: str
    kms_key_id: str | None = None

    def load(self) -> list[dict[str, str]] | None:
        """The stored key entries, newest first; None when the parameter does not exist."""
        try:
            answer = self.ssm.get_parameter(Name=self.parameter, WithDecryption=True)
        except Exception as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
        return entries_of(answer["Parameter"]["Value"])

    def save(self, entries: list[dict[str, str]]) -> None:
        self.ssm.put_parameter(
            Name=self.parameter,
            Value=dump_keys(entries),
            Type="SecureString",
            KeyId=self.kms_key_id or DEFAULT_KMS_KEY,
            Overwrite=True,
            Description="Gatehouse MFA data keys (AES-256-GCM, newest first). Managed by gatehouse.admin.",
        )

    def create(self, now: int, *, force: bool = False) -> str:
        """The first key; refuses to replace existing ones (that would make every factor unreadable)."""
        if self.load() is not None and not force:
            raise KeyStoreError(
                f"{self.parameter!r} already holds MFA keys: use rotate-mfa-key "
                "(--force replaces them, and every enrolled factor stops working)."
            )
        entry = new_data_key(now)
        self.save([entry])
        return entry["kid"]

    def rotate(self, now: int) -> str:
        entries = self.load()
        if entries is None:
            raise KeyStoreError(f"No MFA keys in {self.parameter!r}: run create-mfa-key first.")
        entry = new_data_key(now)
        self.save([entry, *entries])
        return entry["kid"]
