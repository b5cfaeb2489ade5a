"""A small Python client for a Gatehouse API (standard library only).

>>> from gatehouse_client import GatehouseClient
>>> api = GatehouseClient("http://127.0.0.1:8000")
>>> api.login("demo", password)                      # doctest: +SKIP
>>> api.post("/notes", json={"text": "hi"}).json()   # doctest: +SKIP

Requests carry the bearer token; a 401 with ``error="invalid_token"`` is
refreshed once and retried once, and threads that need a refresh at the same
time share one (refresh tokens are single-use).  The device token of every
password grant is kept and sent with the next login of that user, so that
someone guessing the password elsewhere cannot lock this device out.  The
account's own calls (``register``, ``verify_email``, ``change_email``,
``forgot_password``, ``reset_password``, ``delete_account``) raise
:class:`GatehouseError` with the API's stable ``code`` when refused.
An account with a second factor makes ``login`` raise :class:`MfaRequired`;
``login_with_otp(challenge, code)`` or ``login_with_recovery_code`` finish it.
``start_totp``, ``confirm_totp``, ``new_recovery_codes`` and ``remove_totp``
manage the factor.  ``python -m gatehouse_client`` is the command-line front end.
"""

from gatehouse_client.client import GatehouseClient, GatehouseError, MfaRequired, Reply, Tokens
from gatehouse_client.tokenfile import TokenFile

__all__ = ["GatehouseClient", "GatehouseError", "MfaRequired", "Reply", "TokenFile", "Tokens"]
