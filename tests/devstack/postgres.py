"""A PostgreSQL database of a benchmark's own on a shared server: created empty, dropped after,
so its rows are all the run's and nothing else on the server is touched."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql


def with_database(server_url: str, name: str) -> str:
    """``server_url`` (any database on the server) pointed at the database ``name``."""
    return urlsplit(server_url)._replace(path="/" + quote(name)).geturl()


def _admin(server_url: str) -> psycopg.Connection[tuple[object, ...]]:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    return psycopg.connect(with_database(server_url, "postgres"), autocommit=True, connect_timeout=10)


@contextmanager
def own_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database named ``prefix`` plus a random suffix; yields its URL. Dropped on
    exit, connections still open to it included (a worker killed mid-query leaves some)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with _admin(server_url) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_url, name)
    finally:
        with _admin(server_url) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
