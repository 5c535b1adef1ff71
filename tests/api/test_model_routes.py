"""/api/model, /api/model/elements, /api/zones and the static viewer, against the real app under uvicorn."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from api.routes_model import model_service
from tests.api.server import FZK_IFC, FZK_OFFICE_SPACE, make_runtime, running_app, write_fzk_site
from tests.peers import wait_until

TIMEOUT = httpx.Timeout(60.0)  # the first request converts the IFC (a few seconds on two busy cores)
ERDGESCHOSS = "2eyxpyOx95m90jmsXLOuR0"


def glb_nodes(body: bytes) -> list[dict[str, object]]:
    magic, version, _length, chunk_length, chunk_type = struct.unpack("<4sIII4s", body[:20])
    assert (magic, version, chunk_type) == (b"glTF", 2, b"JSON")
    nodes: list[dict[str, object]] = json.loads(body[20 : 20 + chunk_length])["nodes"]
    return nodes


async def test_model_and_elements_describe_the_same_building(fzk_site: Path, tmp_path: Path, model_cache: Path) -> None:
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        model = await client.get("/api/model")
        elements = await client.get("/api/model/elements")

    assert model.status_code == 200
    assert model.headers["content-type"] == "model/gltf-binary"
    assert model.content[:4] == b"glTF"
    assert model.headers["cache-control"] == "no-cache"
    assert model.headers["etag"].startswith('"')
    assert elements.status_code == 200
    assert elements.headers["content-type"].startswith("application/json")
    assert elements.headers["etag"] != model.headers["etag"]

    document = elements.json()
    assert {"schema", "up_axis", "storeys", "spaces", "elements"} <= set(document)
    assert [(s["name"], s["elevation"]) for s in document["storeys"]] == [("Erdgeschoss", 0.0), ("Dachgeschoss", 2.7)]
    spaces = {space["guid"]: space for space in document["spaces"]}
    assert len(spaces) == 7
    office = spaces[FZK_OFFICE_SPACE]
    assert (office["name"], office["long_name"], office["storey"]) == ("2", "Buero", ERDGESCHOSS)
    for element in document["elements"]:
        assert {"guid", "ifc_class", "name", "predefined_type", "storey", "space", "position"} <= set(element)
    # The viewer maps every GLB node to its metadata by GlobalId: none may be missing.
    described = set(spaces) | {element["guid"] for element in document["elements"]}
    node_names = {str(node["name"]) for node in glb_nodes(model.content)}
    assert node_names <= described
    assert FZK_OFFICE_SPACE in node_names


async def test_unchanged_model_answers_304_to_its_etag(fzk_site: Path, tmp_path: Path, model_cache: Path) -> None:
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        for path in ("/api/model", "/api/model/elements"):
            first = await client.get(path)
            etag = first.headers["etag"]
            again = await client.get(path, headers={"If-None-Match": etag})
            listed = await client.get(path, headers={"If-None-Match": f'"other", W/{etag}'})
            stale = await client.get(path, headers={"If-None-Match": '"an-older-model"'})
            assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
            assert listed.status_code == 304
            assert (stale.status_code, stale.content) == (200, first.content)


async def test_concurrent_first_requests_share_one_conversion(fzk_site: Path, tmp_path: Path) -> None:
    runtime = make_runtime(fzk_site, tmp_path / "data")
    app = create_app(runtime)
    async with running_app(runtime, app) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        paths = ["/api/model", "/api/model/elements"] * 4
        responses = await asyncio.gather(*(client.get(path) for path in paths))
        assert [r.status_code for r in responses] == [200] * len(paths)
        assert len({r.headers["etag"] for r in responses}) == 2
        assert model_service(app).conversions == 1
        assert len(list(runtime.cache_dir.glob("*.glb"))) == 1
        # Served from memory afterwards: no further conversion.
        assert (await client.get("/api/model")).status_code == 200
        assert model_service(app).conversions == 1


async def test_a_server_converts_the_model_at_start_in_a_child_process(
    fzk_site: Path, tmp_path: Path, model_cache: Path
) -> None:
    """`serve` and `demo` convert before the first visitor asks, and not in the server's process: ifcopenshell
    holds the GIL, and a conversion in a thread stalled every device poll (bench/bench_bim.py measures it)."""
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    app = create_app(runtime, prepare_model=True)
    async with running_app(runtime, app) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        service = model_service(app)
        await wait_until(lambda: service._files is not None, 60.0, "the model converted without a request")
        assert service._files is not None and service._files.converter_pid != os.getpid()
        assert (await client.get("/api/model")).status_code == 200
        assert service.conversions == 1


async def test_a_broken_ifc_gets_503_with_the_reason_until_it_is_fixed(tmp_path: Path, model_cache: Path) -> None:
    if not FZK_IFC.is_file():
        pytest.skip(f"{FZK_IFC} is not present (../shared)")
    ifc = tmp_path / "hall.ifc"
    ifc.write_text("this is not a STEP file\n", encoding="utf-8")
    site = write_fzk_site(tmp_path, ifc=ifc)
    runtime = make_runtime(site, tmp_path / "data", check_guids=False, cache_dir=model_cache)
    app = create_app(runtime)
    async with running_app(runtime, app) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        model = await client.get("/api/model")
        elements = await client.get("/api/model/elements")
        assert model.status_code == 503
        body = model.json()
        assert body["error"] == "model_unavailable"
        assert f"cannot convert the building model {ifc}" in body["detail"]
        assert model.headers["retry-after"] == "5"
        assert (elements.status_code, elements.json()) == (503, body)
        # The failure is remembered for this version of the file: no retry storm.
        assert model_service(app).conversions == 1

        shutil.copyfile(FZK_IFC, ifc)  # the file is fixed: the next request converts it again
        fixed = await client.get("/api/model")
        assert (fixed.status_code, fixed.content[:4]) == (200, b"glTF")
        assert model_service(app).conversions == 2


async def test_a_missing_ifc_gets_503_naming_the_file(tmp_path: Path, model_cache: Path) -> None:
    if not FZK_IFC.is_file():
        pytest.skip(f"{FZK_IFC} is not present (../shared)")
    ifc = tmp_path / "moved.ifc"
    shutil.copyfile(FZK_IFC, ifc)
    site = write_fzk_site(tmp_path, ifc=ifc)
    runtime = make_runtime(site, tmp_path / "data", cache_dir=model_cache)
    os.remove(ifc)  # removed after the site was loaded: a running hall must say so, not crash
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        response = await client.get("/api/model")
        assert response.status_code == 503
        assert response.json()["detail"] == f"the building model {ifc} does not exist (site.ifc in {site})"
        shutil.copyfile(FZK_IFC, ifc)
        assert (await client.get("/api/model")).status_code == 200


async def test_zones_lists_the_site_zones_and_pa_zones(fzk_site: Path, tmp_path: Path, model_cache: Path) -> None:
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        response = await client.get("/api/zones")
    assert response.status_code == 200
    body = response.json()
    assert body["zones"][0] == {
        "id": "office",
        "name": {"zh": "办公区", "en": "Office"},
        "zone_type": "office",
        "ifc_guid": FZK_OFFICE_SPACE,
    }
    assert [zone["zone_type"] for zone in body["zones"]] == ["office", "waiting"]
    assert body["pa_zones"] == [
        {
            "id": "ground",
            "name": {"zh": "一层", "en": "Ground floor"},
            "zones": ["office", "waiting"],
            "speakers": [],
            "multicast": None,
        }
    ]


async def test_viewer_and_three_are_served_but_not_the_npm_tooling(
    fzk_site: Path, tmp_path: Path, model_cache: Path
) -> None:
    runtime = make_runtime(fzk_site, tmp_path / "data", cache_dir=model_cache)
    async with running_app(runtime) as url, httpx.AsyncClient(base_url=url, timeout=TIMEOUT) as client:
        index = await client.get("/")
        assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
        assert '"three": "/vendor/three/build/three.module.js"' in index.text
        assert index.headers["cache-control"] == "no-cache"
        for path in ("/src/main.js", "/vendor/three/build/three.module.js",
                     "/vendor/three/examples/jsm/loaders/GLTFLoader.js"):  # fmt: skip
            response = await client.get(path)
            assert response.status_code == 200, path
            assert "javascript" in response.headers["content-type"], path
        texts = [(await client.get(f"/i18n/{lang}.json")).json() for lang in ("zh", "en")]
        assert set(texts[0]) == set(texts[1]), "every text exists in Chinese and in English"
        for hidden in ("/package.json", "/node_modules/three/package.json", "/vendor/three/package.json"):
            assert (await client.get(hidden)).status_code == 404, hidden
        # An unknown API path is a JSON 404, never the viewer's HTML.
        missing = await client.get("/api/no-such-thing")
        assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
