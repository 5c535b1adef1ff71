"""/api/health: is the service up, how far along is start-up, and what the public pages show before login."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

router = APIRouter()


class LocalName(BaseModel):
    zh: str
    en: str


class Health(BaseModel):
    status: str = Field(description='"ok" while the service answers')
    site: str = Field(description="the site's id")
    name: LocalName = Field(description="the hall's name, shown by the login and visitor pages")
    demo: bool = Field(description="true under `halltwin demo`: the login page lists the demo accounts")
    public_url: str | None = Field(
        description="site.public_url: where phones reach this server (the visitor page's QR codes); null: unset"
    )
    tasks: list[str] = Field(description="the running background tasks")


@router.get("/api/health")
async def health(request: Request) -> Health:
    runtime = request.app.state.runtime
    site = runtime.site.site
    return Health(
        status="ok",
        site=site.id,
        name=LocalName(zh=site.name.zh, en=site.name.en),
        demo=bool(getattr(request.app.state, "demo", False)),
        public_url=site.public_url,
        tasks=sorted(runtime.task_names()),
    )
