"""Deterministic IFC GlobalIds: uuid5 of a stable name, compressed to the 22-character IFC form."""

from __future__ import annotations

import uuid

import ifcopenshell.guid

# Changing this namespace changes every GlobalId of the demo hall (and so every ifc_guid in site.yaml).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/halltwin/halltwin/demo-hall")


def stable_guid(name: str) -> str:
    """The GlobalId of the element called ``name`` (e.g. ``space:1F-ENT``), the same on every run."""
    compressed: str = ifcopenshell.guid.compress(uuid.uuid5(NAMESPACE, name).hex)
    return compressed
