"""Settings from the environment, where any variable X may instead name a file in X_FILE.

django-environ's FileAwareEnv reads Docker and Kubernetes secret files; this adds one thing:
the trailing newline that ``echo`` and editors leave in such a file is not part of the value
(a DATABASE_URL or an API key pepper with a newline in it would silently differ).
"""

from __future__ import annotations

import environ
from environ.fileaware_mapping import FileAwareMapping


class _TrimmedFiles(FileAwareMapping):
    def __getitem__(self, key: str) -> str:
        value: str = super().__getitem__(key)
        return value.rstrip("\r\n") if self.env.get(key + "_FILE") else value


def file_aware_env() -> environ.Env:
    env = environ.FileAwareEnv()
    env.ENVIRON = _TrimmedFiles()
    return env
