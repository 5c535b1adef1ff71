"""Who may use what: ONE table of routes (method + path template -> roles or PUBLIC) and ONE table of pages.

Enforced app-wide by api.auth_guard for every request and WebSocket: a route that is missing here is refused
with 403 (and a warning), and tests/api/test_access_matrix.py fails, so no route can be added unprotected."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from store.users import Role


class _Public:
    """Marker: no login needed."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC: Final = _Public()
Access = frozenset[Role] | _Public

STAFF: Final = frozenset(Role)  # every staff role; visitors have no account
ADMIN: Final = frozenset({Role.ADMIN})
OPERATORS: Final = frozenset({Role.ADMIN, Role.FACILITY})  # run the hall's equipment (and the demo's scenarios)
# May give device commands (managers watch, never act); the site's write_roles decide per point.
COMMANDERS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.SECURITY, Role.MAINTENANCE})
DOOR_OPERATORS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.SECURITY})  # the security desk opens doors
WS: Final = "WS"  # the "method" of a WebSocket route

# (method, path template exactly as the route declares it) -> who. HEAD is checked as GET. Mounts (static file
# folders) are keyed by their mount path.
ROUTES: Final[dict[tuple[str, str], Access]] = {
    # visitor information and the pages themselves: public
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/model"): PUBLIC,
    ("GET", "/api/model/elements"): PUBLIC,
    ("GET", "/api/zones"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/docs/assets"): PUBLIC,
    ("GET", "/vendor/three/build"): PUBLIC,
    ("GET", "/vendor/three/examples/jsm"): PUBLIC,
    ("GET", "/vendor/three/build/{_path:path}"): PUBLIC,  # "three.js is missing" answer (no npm ci yet)
    ("GET", "/vendor/three/examples/jsm/{_path:path}"): PUBLIC,
    # accounts
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): STAFF,
    ("GET", "/api/auth/me"): STAFF,
    ("GET", "/api/audit"): ADMIN,
    ("GET", "/api/audit/verify"): ADMIN,
    # live data: every staff role, never visitors
    ("GET", "/api/points"): STAFF,
    ("GET", "/api/points/{point_id}"): STAFF,
    ("GET", "/api/points/{point_id}/history"): STAFF,
    (WS, "/ws"): STAFF,
    # commands: the CommandRouter further checks the roles the site allows for each point (write_roles), so the
    # table admits every role a site may name there (all but managers, who watch and never act)
    ("POST", "/api/points/{point_id}/write"): COMMANDERS,
    ("POST", "/api/points/{point_id}/release"): COMMANDERS,
    ("GET", "/api/doors"): STAFF,
    ("POST", "/api/doors/{door_id}/unlock"): DOOR_OPERATORS,
    ("POST", "/api/doors/{door_id}/lock"): DOOR_OPERATORS,
    # `halltwin demo` only: the simulated incidents
    ("GET", "/api/demo/scenarios"): OPERATORS,
    ("POST", "/api/demo/scenarios/{name}/start"): OPERATORS,
    ("POST", "/api/demo/scenarios/{name}/clear"): OPERATORS,
}


@dataclass(frozen=True)
class Page:
    """A page of the web app: where it is, its title (zh, en) and who may open it."""

    id: str
    path: str
    title_zh: str
    title_en: str
    roles: Access

    def allows(self, role: Role | None) -> bool:
        return self.roles is PUBLIC or (role is not None and isinstance(self.roles, frozenset) and role in self.roles)

    def to_json(self) -> dict[str, object]:
        roles = "public" if isinstance(self.roles, _Public) else sorted(r.value for r in self.roles)
        return {"id": self.id, "path": self.path, "title": {"zh": self.title_zh, "en": self.title_en}, "roles": roles}


# Later issues add the security desk, maintenance and the big screen here.
PAGES: Final[tuple[Page, ...]] = (
    Page("twin", "/", "数字孪生", "Digital twin", STAFF),
    Page("visitor", "/visitor", "访客导引", "Visitor guide", PUBLIC),
)


def access_for(method: str, path: str) -> Access | None:
    """Who may call ``method path`` (None: the route is not in the table)."""
    return ROUTES.get(("GET" if method == "HEAD" else method, path))


def allows(access: Access, role: Role | None) -> bool:
    if isinstance(access, _Public):
        return True
    return role is not None and role in access


def pages_for(role: Role | None) -> list[dict[str, object]]:
    return [page.to_json() for page in PAGES if page.allows(role)]


def describe(access: Access) -> str:
    return "everyone" if isinstance(access, _Public) else ", ".join(sorted(r.value for r in access))
