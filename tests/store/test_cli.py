"""`halltwin user|db|audit` run as subprocesses against SQLite and PostgreSQL; backup/restore of a SQLite file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from store import Role, Store
from store.migrate import head_revision
from tests.peers import REPO_ROOT

PASSWORD = "cli-password-1"


def halltwin(
    *args: str, db: str | None = None, password: str | None = PASSWORD, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HALLTWIN_DB_URL", "HALLTWIN_PASSWORD")}
    if db is not None:
        env["HALLTWIN_DB_URL"] = db
    if password is not None:
        env["HALLTWIN_PASSWORD"] = password
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        cwd=cwd or REPO_ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_user_lifecycle_is_stored_and_audited(db_url: str) -> None:
    added = halltwin("user", "add", "alice", "--role", "security", db=db_url)
    assert added.returncode == 0, added.stderr
    assert "added alice (security)" in added.stdout
    assert "database: " in added.stderr and ("sqlite:///" in added.stderr or "postgresql://" in added.stderr)
    again = halltwin("user", "add", "alice", "--role", "admin", db=db_url)
    assert again.returncode == 2 and "user 'alice' already exists" in again.stderr
    short = halltwin("user", "add", "bob", "--role", "admin", db=db_url, password="short")
    assert short.returncode == 2 and "shorter than 8" in short.stderr
    nopass = halltwin("user", "add", "bob", "--role", "admin", db=db_url, password=None)
    assert nopass.returncode == 2 and "HALLTWIN_PASSWORD" in nopass.stderr
    bad_role = halltwin("user", "add", "bob", "--role", "visitor", db=db_url)
    assert bad_role.returncode == 2 and "invalid choice: 'visitor'" in bad_role.stderr

    assert halltwin("user", "disable", "alice", db=db_url).returncode == 0
    listing = halltwin("user", "list", db=db_url)
    assert listing.returncode == 0 and "alice" in listing.stdout and "disabled" in listing.stdout
    assert halltwin("user", "enable", "alice", db=db_url).returncode == 0
    assert halltwin("user", "passwd", "alice", db=db_url, password="another-password").returncode == 0
    assert halltwin("user", "role", "alice", "manager", db=db_url).returncode == 0
    missing = halltwin("user", "disable", "nobody", db=db_url)
    assert missing.returncode == 2 and "no user 'nobody'" in missing.stderr

    async def check() -> None:
        store = await Store.open(db_url)
        try:
            user = await store.users.verify_password("alice", "another-password")
            assert user is not None and user.role is Role.MANAGER and not user.disabled
            actions = [e.action for e in await store.audit.query(newest_first=False)]
            assert actions == ["user.add", "user.disable", "user.enable", "user.passwd", "user.role"]
            entry = (await store.audit.query(limit=1))[0]
            assert entry.actor is not None and entry.actor.startswith("cli:") and entry.target == "alice"
        finally:
            await store.close()

    asyncio.run(check())
    logged = halltwin("audit", "list", "--action", "user.add", db=db_url)
    assert logged.returncode == 0 and "user.add" in logged.stdout and "alice" in logged.stdout
    assert "user.disable" not in logged.stdout


def test_audit_verify_exits_1_naming_the_edited_and_the_deleted_row(db_url: str) -> None:
    for name in ("u1", "u2", "u3", "u4"):
        assert halltwin("user", "add", name, "--role", "facility", db=db_url).returncode == 0
    intact = halltwin("audit", "verify", db=db_url)
    assert intact.returncode == 0 and "audit log intact: 4 row(s)" in intact.stdout

    async def tamper(statement: str) -> None:
        store = await Store.open(db_url)
        try:
            async with store.engine.begin() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await store.close()

    asyncio.run(tamper("UPDATE audit_log SET target = 'someone' WHERE id = 2"))
    edited = halltwin("audit", "verify", db=db_url)
    assert edited.returncode == 1 and "row 2 was changed" in edited.stderr
    asyncio.run(tamper("DELETE FROM audit_log WHERE id = 2"))
    deleted = halltwin("audit", "verify", db=db_url)
    assert deleted.returncode == 1 and "row 2 was removed" in deleted.stderr


def test_db_upgrade_migrates_and_reports_the_revision(db_url: str) -> None:
    result = halltwin("db", "upgrade", db=db_url)
    assert result.returncode == 0 and f"revision {head_revision()} (newest)" in result.stdout


def test_default_database_is_the_data_dir_file(tmp_path: Path) -> None:
    result = halltwin("user", "add", "root", "--role", "admin", "--data-dir", str(tmp_path / "node"))
    assert result.returncode == 0, result.stderr
    assert f"database: sqlite:///{tmp_path / 'node' / 'halltwin.sqlite'}" in result.stderr
    assert (tmp_path / "node" / "halltwin.sqlite").is_file()
    relative = halltwin("user", "list", cwd=tmp_path)
    assert relative.returncode == 0 and f"sqlite:///{tmp_path / 'halltwin-data' / 'halltwin.sqlite'}" in relative.stderr
    bad = halltwin("user", "list", "--db", "mysql://x@y/z")
    assert bad.returncode == 2 and "unsupported database 'mysql'" in bad.stderr


def test_backup_and_restore_a_sqlite_store_while_it_is_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'live.sqlite'}"
    backup = tmp_path / "backup.sqlite"

    async def scenario() -> None:
        store = await Store.open(url)  # stays open, as a running node's would, during backup and restore
        try:
            await store.users.add("kept", Role.ADMIN, "pw")
            result = await asyncio.to_thread(halltwin, "db", "backup", str(backup), db=url)
            assert result.returncode == 0, result.stderr
            await store.users.add("later", Role.FACILITY, "pw")
            exists = await asyncio.to_thread(halltwin, "db", "backup", str(backup), db=url)
            assert exists.returncode == 2 and "exists" in exists.stderr
            restored = await asyncio.to_thread(halltwin, "db", "restore", str(backup), db=url)
            assert restored.returncode == 0, restored.stderr
            assert "audit log intact" in restored.stdout
            assert [u.name for u in await store.users.list()] == ["kept"]  # the open store sees the restored data
            assert [e.action for e in await store.audit.query()] == ["db.restore"]
        finally:
            await store.close()

    asyncio.run(scenario())
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    refused = halltwin("db", "restore", str(junk), db=url)
    assert refused.returncode == 2 and "not a" in refused.stderr


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    result = halltwin("db", "backup", str(tmp_path / "x"), db="postgresql://postgres@127.0.0.1/none")
    assert result.returncode == 2 and "pg_dump" in result.stderr


def test_serve_refuses_a_bad_database_url_before_starting() -> None:
    from bim_models.demo_hall import SITE_PATH, ensure_demo_hall

    ensure_demo_hall()
    result = halltwin("serve", str(SITE_PATH), "--db", "mysql://user@host/db")
    assert result.returncode == 2 and "halltwin serve: database URL 'mysql://user@host/db'" in result.stderr
