"""What every `vidoro` command shares: one clear line for an error a person can act on, the configured
database with its key store, and the check that an instance is ready."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

import click
from alembic.util.exc import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from cases import Database
from cases.crypto.keys import FileKeyStore
from cases.errors import KeyMaterialError
from policies import PolicyError
from web.errors import BadInput
from workflow import VidoroError

__all__ = ["check_ready", "friendly", "open_database", "shown", "targets"]


def friendly(command):
    """Turn the errors a person can act on into one clear line instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BadInput as exc:
            refusal = click.ClickException(str(exc))
            refusal.exit_code = 2  # bad input, as a UsageError would say, without its usage lines
            raise refusal from None
        except PolicyError as exc:
            raise click.ClickException(f"the flowchart definition is broken: {exc}") from None
        except KeyMaterialError as exc:
            raise click.ClickException(str(exc)) from None
        except (VidoroError, CommandError) as exc:
            raise click.UsageError(str(exc)) from None
        except OperationalError as exc:
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            raise click.ClickException(
                f"cannot use the database ({reason}); check VIDORO_DATABASE_URL, or run `vidoro init`"
            ) from None
        except ArgumentError as exc:
            raise click.ClickException(f"VIDORO_DATABASE_URL is not a usable database URL ({exc})") from None
        except OSError as exc:
            raise click.ClickException(f"{exc.filename or 'a file'}: {exc.strerror or exc}") from None

    return wrapper


@contextmanager
def open_database(config, *, keys: str = "required") -> Iterator[Database]:
    """The configured database with its key store (`keys`: required, optional, create, none), disposed of
    (connections and key files closed) however the command ends."""
    folder = config["VIDORO_KEYS"]
    store = None
    if keys == "create":
        store = FileKeyStore.create(folder)
    elif keys == "required" or (keys == "optional" and folder.exists()):
        store = FileKeyStore(folder)  # a folder with missing or broken key files stops here, naming them
    database = Database(config["VIDORO_DATABASE_URL"], keys=store)
    try:
        yield database
    finally:
        database.dispose()


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def check_ready(database: Database, *, keys: bool = True) -> None:
    """The schema is current and (unless `keys` is false: the audit commands read no case data) the key
    store is there: what every command that touches cases needs."""
    current, head = database.current_revision(), database.head_revision()
    if current != head:
        raise click.ClickException(
            f"the database at {shown(database.url)} is not ready "
            f"(schema {current or 'empty'}, needs {head}); run `vidoro init`"
        )
    if keys and database.keys is None:
        raise click.ClickException("there is no key material for this instance; run `vidoro init`")


def targets(configured: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The checkpoint targets in VIDORO_CHECKPOINT_TARGETS and options (one target each, spaces and all),
    or one line saying what is wrong."""
    from cases.audit.checkpoints import check_target, parse_targets

    try:
        return [*parse_targets(configured), *(check_target(t) for t in extra)]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
