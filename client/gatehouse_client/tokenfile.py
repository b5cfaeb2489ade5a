"""Where the command line keeps its session and device tokens: a JSON file only its owner can read.

``$GATEHOUSE_TOKEN_FILE``, else ``$XDG_CONFIG_HOME/gatehouse/tokens.json``,
else ``~/.config/gatehouse/tokens.json``.  The file is mode 0600 in a 0700
directory, written whole (a new file renamed over the old), and refused when
group or others may read it, as ssh does with keys.

It holds at most one session (``base_url``, the tokens, who logged in) and the
device tokens, kept per server and per user under ``device_tokens``.  Device
tokens outlive the session: logging out removes the session only, so the next
login from this machine still counts as this device's.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatehouse_client.client import Tokens

ENV_VAR = "GATEHOUSE_TOKEN_FILE"
_SESSION_KEYS = ("base_url", "access_token", "refresh_token", "expires_at")
_DEVICE_TOKENS = "device_tokens"


class TokenFileError(Exception):
    pass


@dataclass(frozen=True)
class Saved:
    base_url: str
    tokens: Tokens


class TokenFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def default(cls, env: Mapping[str, str] = os.environ) -> TokenFile:
        if env.get(ENV_VAR):
            return cls(Path(env[ENV_VAR]).expanduser())
        config_home = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        return cls(config_home / "gatehouse" / "tokens.json")

    # -- reading ---------------------------------------------------------------------

    def load(self) -> Saved | None:
        """The session, or ``None`` when there is none (no file, or logged out)."""
        data = self._read()
        if not any(key in data for key in _SESSION_KEYS):
            return None
        try:
            username = data.get("username")
            if username is not None and not isinstance(username, str):
                raise TypeError(username)
            return Saved(
                str(data["base_url"]),
                Tokens(
                    str(data["access_token"]),
                    str(data["refresh_token"]),
                    float(data["expires_at"]),
                    username,
                ),
            )
        except (ValueError, KeyError, TypeError):
            raise self._not_ours() from None

    def device_tokens(self, base_url: str) -> dict[str, str]:
        """This device's tokens for the server at ``base_url``, by user."""
        return dict(self._device_tokens(self._read()).get(base_url, {}))

    # -- writing -----------------------------------------------------------------------

    def save(self, base_url: str, tokens: Tokens) -> None:
        """Keep this session (replacing any other); the device tokens stay."""
        data: dict[str, Any] = {
            "base_url": base_url,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
        }
        if tokens.username is not None:
            data["username"] = tokens.username
        devices = self._device_tokens(self._readable())
        if devices:
            data[_DEVICE_TOKENS] = devices
        self._write(data)

    def save_device_token(self, base_url: str, key: str, token: str | None) -> None:
        """Keep (or with ``None`` forget) one user's device token for one server."""
        data = self._readable()
        devices = self._device_tokens(data)
        server = dict(devices.get(base_url, {}))
        if token is None:
            server.pop(key, None)
        else:
            server[key] = token
        devices = {url: tokens for url, tokens in {**devices, base_url: server}.items() if tokens}
        self._keep(data, devices)

    def forget_session(self) -> None:
        """Log out: remove the session, keep the device tokens (they belong to this machine)."""
        self._keep({}, self._device_tokens(self._readable()))

    def delete(self) -> None:
        """Remove everything, device tokens included."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as error:
            raise TokenFileError(f"cannot delete {self.path}: {error.strerror}") from None

    # -- internals -----------------------------------------------------------------------

    def _not_ours(self) -> TokenFileError:
        return TokenFileError(f"{self.path} is not a Gatehouse token file; log in again")

    def _read(self) -> dict[str, Any]:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise TokenFileError(f"cannot read {self.path}: {error.strerror}") from None
        with os.fdopen(fd, encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise TokenFileError(f"{self.path} may be read by others: chmod 600 it, or log in again")
            try:
                data = json.load(file)
            except ValueError:
                raise self._not_ours() from None
        # Never written without a session or device tokens: anything else is another file.
        if not isinstance(data, dict) or not any(key in data for key in (*_SESSION_KEYS, _DEVICE_TOKENS)):
            raise self._not_ours()
        return data

    def _readable(self) -> dict[str, Any]:
        # Before a write: a file that cannot be used (unreadable, not ours, or
        # readable by others, so its tokens may be known) is replaced, not kept.
        try:
            data = self._read()
            self._device_tokens(data)
        except TokenFileError:
            return {}
        return data

    def _device_tokens(self, data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
        devices = data.get(_DEVICE_TOKENS, {})
        if not isinstance(devices, dict) or not all(
            isinstance(url, str)
            and isinstance(tokens, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in tokens.items())
            for url, tokens in devices.items()
        ):
            raise self._not_ours()
        return devices

    def _keep(self, data: Mapping[str, Any], devices: dict[str, dict[str, str]]) -> None:
        session = {key: value for key, value in data.items() if key != _DEVICE_TOKENS}
        if not session and not devices:
            self.delete()
            return
        self._write({**session, _DEVICE_TOKENS: devices} if devices else session)

    def _write(self, data: Mapping[str, Any]) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created 0600 from the start: never readable by others, not even briefly.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as error:
            raise TokenFileError(f"cannot write {self.path}: {error.strerror}") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file)
            os.replace(temporary, self.path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise TokenFileError(f"cannot write {self.path}: {error.strerror}") from None
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
