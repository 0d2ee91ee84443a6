"""A file of new tokens (CSV ``user,token``) that only its owner can read, written whole or not at all.

The file is created (mode 600, never over an existing one) when there are tokens to write, before the
transaction commits, so a file that cannot be written stops the import before anything changes; if the
import fails afterwards, the file is removed again, so no token in it belongs to a user who does not
exist. With no new token nothing is written, and an existing file is left alone.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO

from grader.service.errors import Conflict, Invalid


class TokensFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def __enter__(self) -> TokensFile:
        return self

    def _open(self) -> IO[str]:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise Conflict(f"{self.path} exists: it may hold tokens not yet handed out; move it away or name "
                           "another file with --tokens") from None
        except OSError as exc:
            raise Invalid(f"cannot create {self.path}: {exc.strerror or exc}") from None
        os.fchmod(fd, 0o600)  # whatever the umask
        self._file = os.fdopen(fd, "w", encoding="utf-8", newline="")
        return self._file

    def write(self, rows: Iterable[tuple[str, str]]) -> None:
        rows = list(rows)
        if not rows:
            return
        file = self._open()
        out = csv.writer(file, lineterminator="\n")  # one token a line, no CR to paste along
        out.writerow(("user", "token"))
        out.writerows(rows)
        file.flush()
        os.fsync(file.fileno())

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._file is None:
            return
        self._file.close()
        if kind is not None:  # a failed import: no token in the file may be handed out
            with contextlib.suppress(OSError):
                self.path.unlink()
