"""Login cost: the Argon2 hash per login on this machine and HTTP login throughput, against baselines measured in
the same run (a bare argon2-cffi verify with the same parameters; a public request without any session lookup).

Figures: bare Argon2 verify ms; UserRepository.verify_password ms (the same hash in a worker thread, plus the
user lookup); POST /api/auth/login latency p50/p99 one at a time, and logins/s with 4 in flight (two cores: the
hash runs in threads, so two logins can hash at once); per-request cost of the session check (GET /api/auth/me
with a bearer token vs the public GET /api/health).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_latency import bench_site, percentile, serve

PASSWORD = "bench-password-1"
HASHES = 12
LOGINS = 24
CONCURRENT_LOGINS = 32
IN_FLIGHT = 4
REQUESTS = 400


def _bare_argon2_ms(encoded: str) -> float:
    """The baseline: argon2-cffi's verify with pwdlib's default parameters, nothing else."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher()  # pwdlib's Argon2Hasher uses these defaults
    started = time.perf_counter()
    for _ in range(HASHES):
        hasher.verify(encoded, PASSWORD)
    return (time.perf_counter() - started) / HASHES * 1000


async def _store_verify_ms(runtime: Any) -> float:
    started = time.perf_counter()
    for _ in range(HASHES):
        assert await runtime.store.users.verify_password("bench", PASSWORD) is not None
    return (time.perf_counter() - started) / HASHES * 1000


async def _login(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    response = await client.post("/api/auth/login", json={"username": "bench", "password": PASSWORD})
    response.raise_for_status()
    return time.perf_counter() - started


async def _requests_per_s(client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS):
        (await client.get(path, headers=headers)).raise_for_status()
    return REQUESTS / (time.perf_counter() - started)


async def _main() -> None:
    from api.runtime import HallRuntime
    from store import Role

    with tempfile.TemporaryDirectory(prefix="halltwin-bench-") as tmp:
        folder = Path(tmp)
        runtime = HallRuntime(bench_site(1883), folder / "site.yaml", folder / "data", poll_devices=False)
        async with serve(runtime) as url, httpx.AsyncClient(base_url=url, timeout=60.0) as client:
            await runtime.store.users.add("bench", Role.FACILITY, PASSWORD)
            stored = await runtime.store.users.hash(PASSWORD)
            bare = await asyncio.to_thread(_bare_argon2_ms, stored)
            in_store = await _store_verify_ms(runtime)
            print(f"Argon2 verify (argon2-cffi, {stored.split('$')[3]}): {bare:7.1f} ms   <- baseline")
            print(f"UserRepository.verify_password (thread + lookup):  {in_store:7.1f} ms   {in_store / bare:.2f}x")

            await _login(client)  # warm-up: the dummy hash, connection pool
            latencies = [await _login(client) for _ in range(LOGINS)]
            p50, p99 = statistics.median(latencies) * 1000, percentile(latencies, 0.99) * 1000
            print(f"POST /api/auth/login one at a time: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms "
                  f"({1000 / p50:.1f} logins/s; {p50 / bare:.2f}x the bare hash)")  # fmt: skip

            semaphore = asyncio.Semaphore(IN_FLIGHT)

            async def limited() -> float:
                async with semaphore:
                    return await _login(client)

            started = time.perf_counter()
            await asyncio.gather(*(limited() for _ in range(CONCURRENT_LOGINS)))
            rate = CONCURRENT_LOGINS / (time.perf_counter() - started)
            print(f"POST /api/auth/login, {IN_FLIGHT} in flight:  {rate:6.1f} logins/s")

            token = (await client.post("/api/auth/login", json={"username": "bench", "password": PASSWORD})).json()
            bearer = {"Authorization": f"Bearer {token['token']}"}
            public = await _requests_per_s(client, "/api/health")
            checked = await _requests_per_s(client, "/api/auth/me", bearer)
            extra_ms = (1 / checked - 1 / public) * 1000
            print(f"GET /api/health (public, no lookup): {public:7.0f} req/s   <- baseline")
            print(f"GET /api/auth/me (session checked):  {checked:7.0f} req/s   (+{extra_ms:.2f} ms a request)")


def main() -> None:
    asyncio.run(_main())


if __name__ == "__main__":
    main()
