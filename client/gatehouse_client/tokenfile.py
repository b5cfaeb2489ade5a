"""Where the command line keeps its session: a JSON file only its owner can read.

``$GATEHOUSE_TOKEN_FILE``, else ``$XDG_CONFIG_HOME/gatehouse/tokens.json``,
else ``~/.config/gatehouse/tokens.json``.  The file is mode 0600 in a 0700
directory, written whole (a new file renamed over the old), and refused when
group or others may read it, as ssh does with keys.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gatehouse_client.client import Tokens

ENV_VAR = "GATEHOUSE_TOKEN_FILE"


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

    def load(self) -> Saved | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as error:
            raise TokenFileError(f"cannot read {self.path}: {error.strerror}") from None
        with os.fdopen(fd, encoding="utf-8") as file:
            mode = os.fstat(file.fileno()).st_mode
            if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise TokenFileError(f"{self.path} may be read by others: chmod 600 it, or log in again")
            try:
                data = json.load(file)
                return Saved(
                    str(data["base_url"]),
                    Tokens(str(data["access_token"]), str(data["refresh_token"]), float(data["expires_at"])),
                )
            except (ValueError, KeyError, TypeError):
                raise TokenFileError(f"{self.path} is not a Gatehouse token file; log in again") from None

    def save(self, base_url: str, tokens: Tokens) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        data = {
            "base_url": base_url,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
        }
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        # Created 0600 from the start: never readable by others, not even briefly.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump(data, file)
            os.replace(temporary, self.path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
