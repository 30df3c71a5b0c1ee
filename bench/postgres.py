"""A fresh PostgreSQL schema for one benchmark run, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def reachable(url: str) -> bool:
    """True when a PostgreSQL server answers at ``url``."""
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        engine.connect().close()
    except Exception:  # any failure means "not there"
        return False
    finally:
        engine.dispose()
    return True


@contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """A database URL whose search path is a new, empty schema."""
    name = "bench_" + secrets.token_hex(6)
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {name}"))
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        admin.dispose()
