"""`halltwin user|db|audit`: accounts, migrations, backup/restore and the audit log, on the node's store.

Every command takes ``--db URL`` (or HALLTWIN_DB_URL); without either it uses ``halltwin.sqlite`` in
``--data-dir`` (default ./halltwin-data, where `halltwin serve site.yaml` keeps it for a site in the current
folder), and prints which database it used."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import socket
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from store import DatabaseUrlError, Role, Store, UserError, default_url
from store.url import async_url, display, sqlite_path

DEFAULT_DATA_DIR = Path("halltwin-data")
MIN_PASSWORD = 8
Action = Callable[[Store, argparse.Namespace], Awaitable[int]]


def db_url(args: argparse.Namespace) -> str:
    """--db, else HALLTWIN_DB_URL, else the SQLite file of --data-dir."""
    return args.db or os.environ.get("HALLTWIN_DB_URL") or default_url(args.data_dir or DEFAULT_DATA_DIR)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="sqlite:///file or postgresql://user@host/db (or HALLTWIN_DB_URL)")
    parser.add_argument("--data-dir", type=Path, help=f"without --db: DIR/halltwin.sqlite (default {DEFAULT_DATA_DIR})")


def _cli_actor() -> tuple[str, str]:
    """Who acts from the command line (the OS account) and from where, for the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"cli:{user}"[:64], f"cli@{socket.gethostname()}"[:255]


async def _audit(store: Store, action: str, target: str, arguments: dict[str, object] | None = None) -> None:
    actor, client = _cli_actor()
    await store.audit.append(action=action, actor=actor, role=None, client=client, target=target,
                             arguments=arguments, result="ok")  # fmt: skip


def _password(name: str) -> str:
    """HALLTWIN_PASSWORD, else asked twice at the terminal."""
    password = os.environ.get("HALLTWIN_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise UserError("no password: set HALLTWIN_PASSWORD or run at a terminal to be asked")
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is shorter than {MIN_PASSWORD} characters")
    return password


async def _user_add(store: Store, args: argparse.Namespace) -> int:
    user = await store.users.add(args.name, args.role, _password(args.name))
    await _audit(store, "user.add", user.name, {"role": user.role.value})
    print(f"added {user.name} ({user.role.value})")
    return 0


async def _user_list(store: Store, _args: argparse.Namespace) -> int:
    users = await store.users.list()
    if not users:
        print("no users (add the first admin: halltwin user add NAME --role admin)")
        return 0
    print(f"{'name':<24} {'role':<12} {'state':<9} created (UTC)")
    for user in users:
        created = datetime.fromtimestamp(user.created_at, UTC).strftime("%Y-%m-%d %H:%M")
        state = "disabled" if user.disabled else "enabled"
        print(f"{user.name:<24} {user.role.value:<12} {state:<9} {created}")
    return 0


async def _user_disable(store: Store, args: argparse.Namespace) -> int:
    await store.users.set_disabled(args.name, True)
    ended = await store.sessions.revoke_user(args.name)
    await _audit(store, "user.disable", args.name, {"sessions_ended": ended})
    print(f"disabled {args.name} ({ended} session(s) ended)")
    return 0


async def _user_enable(store: Store, args: argparse.Namespace) -> int:
    await store.users.set_disabled(args.name, False)
    await _audit(store, "user.enable", args.name)
    print(f"enabled {args.name}")
    return 0


async def _user_passwd(store: Store, args: argparse.Namespace) -> int:
    if await store.users.get(args.name) is None:
        raise UserError(f"no user {args.name!r}")
    await store.users.set_password(args.name, _password(args.name))
    ended = await store.sessions.revoke_user(args.name)
    await _audit(store, "user.passwd", args.name, {"sessions_ended": ended})
    print(f"password of {args.name} changed ({ended} session(s) ended)")
    return 0


async def _user_role(store: Store, args: argparse.Namespace) -> int:
    user = await store.users.set_role(args.name, args.role)
    await _audit(store, "user.role", user.name, {"role": user.role.value})
    print(f"{user.name} is now {user.role.value}")
    return 0


async def _audit_verify(store: Store, _args: argparse.Namespace) -> int:
    report = await store.audit.verify()
    if report.ok:
        print(f"audit log intact: {report.checked} row(s)")
        return 0
    print(f"audit log TAMPERED: {report.problem} ({report.checked} row(s) before it are intact)", file=sys.stderr)
    return 1


def _time(name: str, raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--{name} {raw!r} is neither epoch seconds nor an ISO 8601 time") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def _audit_list(store: Store, args: argparse.Namespace) -> int:
    entries = await store.audit.query(
        actor=args.actor,
        action=args.action,
        target=args.target,
        since=_time("since", args.since),
        until=_time("until", args.until),
        limit=args.limit,
    )
    for entry in reversed(entries):  # oldest first, like a log
        ts = datetime.fromtimestamp(entry.ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        who = f"{entry.actor or '-'}({entry.role or '-'})@{entry.client or '-'}"
        parts = [f"{entry.id:>6}", ts, who, entry.action, entry.target or "-", entry.result]
        if entry.arguments:
            parts.append(str(entry.arguments))
        if entry.detail:
            parts.append(entry.detail)
        print("  ".join(parts))
    return 0


async def _db_upgrade(store: Store, _args: argparse.Namespace) -> int:
    print(f"schema at revision {await store.revision()} (newest)")
    return 0


def _backup(source: Path, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while the node keeps writing."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    # sqlite3's context manager commits but does not close
    src.close()
    dst.close()


def _check_backup(path: Path) -> None:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise UserError(f"{path} is not a SQLite database: {exc}") from None
    if not {"alembic_version", "users"} <= tables:
        raise UserError(f"{path} is not a HallTwin database (no users / alembic_version table)")


def _sqlite_file(url: str, command: str) -> Path:
    path = sqlite_path(async_url(url))
    if path is None:
        raise UserError(f"db {command} works on SQLite files; for PostgreSQL use pg_dump / pg_restore")
    return path


def _db_backup(args: argparse.Namespace, url: str) -> int:
    source = _sqlite_file(url, "backup")
    if not source.is_file():
        raise UserError(f"{source}: no database there yet")
    target: Path = args.file
    if target.exists() and not args.force:
        raise UserError(f"{target} exists: choose another file or pass --force")
    target.unlink(missing_ok=True)
    _backup(source, target)
    print(f"backed up {source} to {target} ({target.stat().st_size} bytes)")
    return 0


async def _after_restore(store: Store, args: argparse.Namespace) -> int:
    await _audit(store, "db.restore", str(args.file))
    report = await store.audit.verify()
    state = "intact" if report.ok else f"TAMPERED: {report.problem}"
    print(f"restored {args.file}: revision {await store.revision()}, audit log {state}")
    return 0 if report.ok else 1


def _db_restore(args: argparse.Namespace, url: str) -> int:
    target = _sqlite_file(url, "restore")
    _check_backup(args.file)
    target.parent.mkdir(parents=True, exist_ok=True)
    _backup(args.file, target)  # into the live file: a running node sees the restored data on its next query
    return asyncio.run(_with_store(url, _after_restore, args))  # migrates an older backup to the newest schema


async def _with_store(url: str, action: Action, args: argparse.Namespace) -> int:
    store = await Store.open(url)
    try:
        return await action(store, args)
    finally:
        await store.close()


def _runner(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        url = db_url(args)
        try:
            print(f"database: {display(async_url(url))}", file=sys.stderr)
            return asyncio.run(_with_store(url, action, args))
        except (UserError, DatabaseUrlError, OSError) as exc:
            print(f"halltwin {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def _plain(action: Callable[[argparse.Namespace, str], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        url = db_url(args)
        try:
            print(f"database: {display(async_url(url))}", file=sys.stderr)
            return action(args, url)
        except (UserError, DatabaseUrlError, OSError, sqlite3.Error) as exc:
            print(f"halltwin {args.command}: {exc}", file=sys.stderr)
            return 2

    return run


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    roles = [r.value for r in Role]
    user = sub.add_parser("user", help="user accounts: add, list, disable, enable, passwd, role")
    users = user.add_subparsers(dest="user_command", required=True)
    add = users.add_parser("add", help="add a user (password from HALLTWIN_PASSWORD or asked)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=roles)
    add.set_defaults(func=_runner(_user_add))
    listing = users.add_parser("list", help="every user with role and state")
    listing.set_defaults(func=_runner(_user_list))
    for name, action, text in (
        ("disable", _user_disable, "disable a user and end their sessions"),
        ("enable", _user_enable, "enable a disabled user"),
        ("passwd", _user_passwd, "set a new password (HALLTWIN_PASSWORD or asked); ends their sessions"),
    ):
        command = users.add_parser(name, help=text)
        command.add_argument("name")
        command.set_defaults(func=_runner(action))
    role = users.add_parser("role", help="give a user another role")
    role.add_argument("name")
    role.add_argument("role", choices=roles)
    role.set_defaults(func=_runner(_user_role))
    for command in (add, listing, role, *[users.choices[n] for n in ("disable", "enable", "passwd")]):
        _common(command)

    db = sub.add_parser("db", help="the store's database: upgrade, backup, restore")
    dbs = db.add_subparsers(dest="db_command", required=True)
    upgrade = dbs.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.set_defaults(func=_runner(_db_upgrade))
    backup = dbs.add_parser("backup", help="copy the SQLite database to FILE (also while a node runs)")
    backup.add_argument("file", type=Path)
    backup.add_argument("--force", action="store_true", help="overwrite FILE")
    backup.set_defaults(func=_plain(_db_backup))
    restore = dbs.add_parser("restore", help="replace the SQLite database by FILE (a backup), then migrate it")
    restore.add_argument("file", type=Path)
    restore.set_defaults(func=_plain(_db_restore))
    for command in (upgrade, backup, restore):
        _common(command)

    audit = sub.add_parser("audit", help="the audit log: verify the hash chain, list entries")
    audits = audit.add_subparsers(dest="audit_command", required=True)
    verify = audits.add_parser("verify", help="check the hash chain; exit 1 naming the first changed or removed row")
    verify.set_defaults(func=_runner(_audit_verify))
    alist = audits.add_parser("list", help="entries, oldest first (filters: --actor --action --target --since)")
    alist.add_argument("--actor")
    alist.add_argument("--action")
    alist.add_argument("--target")
    alist.add_argument("--since", help="epoch seconds or ISO 8601")
    alist.add_argument("--until", help="epoch seconds or ISO 8601")
    alist.add_argument("--limit", type=int, default=100, help="newest N entries (default 100)")
    alist.set_defaults(func=_runner(_audit_list))
    for command in (verify, alist):
        _common(command)
