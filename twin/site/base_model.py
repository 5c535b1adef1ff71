"""What every site.yaml model shares: strict frozen models, ids, IFC GlobalIds and bilingual names."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[a-z0-9][a-z0-9_.\-]*$"
Ident = Annotated[str, Field(pattern=ID_PATTERN, max_length=96)]
# IFC GlobalIds are 22 characters of the IFC base-64 alphabet.
IfcGuid = Annotated[str, Field(pattern=r"^[0-9A-Za-z_$]{22}$")]


class Strict(BaseModel):
    """Unknown keys and loose types are errors: a typo in a site file fails at start-up, never at 3 a.m."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Names(Strict):
    """A user-facing name, Chinese first."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
