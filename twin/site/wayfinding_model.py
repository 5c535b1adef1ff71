"""The visitor-facing sections of site.yaml: numbered service windows, the service catalogue and the kiosks
(T/ZAS 4012 7.1.5: guidance to the right zone or window; GB/T 40756 9.4.4.5: the distribution of windows)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from twin.site.model import Ident, IfcGuid, Names, Strict
from twin.site.queue_model import WindowNumber

Keyword = Annotated[str, Field(min_length=1, max_length=40)]


class ServiceWindow(Strict):
    """A numbered service window (its counter in the building model): where a visitor is sent for window N."""

    number: WindowNumber
    ifc_guid: IfcGuid = Field(description="The counter (or the window's own element) in the building model")
    zone: Ident = Field(description="The window service zone the counter stands in")
    name: Names | None = Field(default=None, description="Default: N号窗口 / Window N")


class Keywords(Strict):
    """Words visitors type for a service, besides its name (pinyin is derived from the Chinese)."""

    zh: list[Keyword] = Field(default_factory=list, max_length=40)
    en: list[Keyword] = Field(default_factory=list, max_length=40)


class ServiceCategory(Strict):
    """A group of services the visitor page offers to pick from (户籍, 社保, 税务 ...)."""

    id: Ident
    name: Names


class ServiceItem(Strict):
    """One item of the service catalogue and where it is handled: a window group, some windows or a zone."""

    id: Ident
    name: Names
    category: Ident = Field(description="A service_categories id")
    keywords: Keywords = Field(default_factory=Keywords)
    window_group: Ident | None = Field(default=None, description="A queues.groups id: the windows that serve it")
    windows: list[WindowNumber] | None = Field(default=None, min_length=1, description="Numbered windows")
    zone: Ident | None = Field(default=None, description="A zone (self-service, convenience ...) without windows")
    ticket_service: Ident | None = Field(default=None, description="The queues.services id of its ticket")
    note: Names | None = Field(default=None, description="What to bring, opening hours ... shown with the route")

    @model_validator(mode="after")
    def _one_place(self) -> ServiceItem:
        given = [k for k in ("window_group", "windows", "zone") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a service is handled at exactly one of window_group:, windows: or zone: "
                             f"(given: {', '.join(given) or 'none'})")
        return self


class KioskPoint(Strict):
    """A point on a storey (IFC world metres); ``storey`` is the storey's name or GlobalId."""

    x: float = Field(ge=-100_000, le=100_000, allow_inf_nan=False)
    y: float = Field(ge=-100_000, le=100_000, allow_inf_nan=False)
    storey: str = Field(min_length=1)


class Kiosk(Strict):
    """A guidance kiosk: its routes start where it stands ("you are here")."""

    id: Ident
    name: Names
    device: Ident | None = Field(default=None, description="The kiosk's device in devices:, if it has one")
    zone: Ident | None = Field(default=None, description="Where it stands, as a zone (its room's walkable centre)")
    point: KioskPoint | None = Field(default=None, description="Where the visitor stands in front of it")

    @model_validator(mode="after")
    def _located(self) -> Kiosk:
        if self.zone is None and self.point is None:
            raise ValueError("a kiosk needs zone: or point: (where a visitor stands in front of it)")
        return self

