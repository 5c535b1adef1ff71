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
# Start and stop broadcasts (the service lets only security start or stop emergency and evacuation broadcasts);
# the broadcast log is the security desk's, page audio is played back by security staff only (GB 50116 4.8.10).
BROADCASTERS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.SECURITY})
SECURITY_DESK: Final = frozenset({Role.ADMIN, Role.SECURITY})
SECURITY: Final = frozenset({Role.SECURITY})
# Acknowledge, shelve, reset and take alarms out of service (the alarm engine adds per-alarm rules: an emergency
# button is reset by security staff only); managers and maintenance crews watch alarms (and comment on them).
ALARM_OPERATORS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.SECURITY})
ALARM_COMMENTERS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.SECURITY, Role.MAINTENANCE})
# Work orders: anyone but managers opens one and comments; admin and facility dispatch (assign, close, reopen);
# maintenance does the work (the service further keeps a worker to orders that are theirs or nobody's).
WORK_ORDER_USERS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.SECURITY, Role.MAINTENANCE})
WORKERS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.MAINTENANCE})
PLAN_STEPPERS: Final = frozenset({Role.ADMIN, Role.SECURITY})  # the security desk works through emergency plans
DRILL_LEADERS: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.SECURITY})
WS: Final = "WS"  # the "method" of a WebSocket route

# (method, path template exactly as the route declares it) -> who. HEAD is checked as GET. Mounts (static file
# folders) are keyed by their mount path.
ROUTES: Final[dict[tuple[str, str], Access]] = {
    # visitor information and the pages themselves: public
    ("GET", "/api/health"): PUBLIC,
    ("GET", "/api/model"): PUBLIC,
    ("GET", "/api/model/elements"): PUBLIC,
    ("GET", "/api/zones"): PUBLIC,
    ("GET", "/api/destinations"): PUBLIC,  # wayfinding (api/routes_wayfinding.py): visitors have no account
    ("GET", "/api/route"): PUBLIC,
    ("GET", "/api/kiosks"): PUBLIC,
    ("GET", "/api/emergency"): PUBLIC,  # the visitor page polls it (no /ws for visitors)
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/docs/assets"): PUBLIC,
    ("GET", "/vendor/three/build"): PUBLIC,
    ("GET", "/vendor/three/examples/jsm"): PUBLIC,
    ("GET", "/vendor/three/build/{_path:path}"): PUBLIC,  # "three.js is missing" answer (no npm ci yet)
    ("GET", "/vendor/three/examples/jsm/{_path:path}"): PUBLIC,
    ("GET", "/vendor/three-mesh-bvh/src"): PUBLIC,  # BVH picking of the viewer
    ("GET", "/vendor/three-mesh-bvh/src/{_path:path}"): PUBLIC,
    ("GET", "/vendor/echarts/dist"): PUBLIC,  # charts of the security desk's alarm KPIs
    ("GET", "/vendor/echarts/dist/{_path:path}"): PUBLIC,
    ("GET", "/vendor/qrcode-generator/dist"): PUBLIC,  # the visitor page's QR code (route to a phone)
    ("GET", "/vendor/qrcode-generator/dist/{_path:path}"): PUBLIC,
    # accounts
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): STAFF,
    ("GET", "/api/auth/me"): STAFF,
    ("GET", "/api/audit"): ADMIN,
    ("GET", "/api/audit/verify"): ADMIN,
    # live data: every staff role, never visitors
    ("GET", "/api/points"): STAFF,
    ("GET", "/api/devices"): STAFF,
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
    # public address (issue 10)
    ("GET", "/api/broadcast"): STAFF,
    ("POST", "/api/broadcast"): BROADCASTERS,
    ("POST", "/api/broadcast/audio"): BROADCASTERS,
    ("POST", "/api/broadcast/{broadcast_id}/stop"): BROADCASTERS,
    ("POST", "/api/broadcast/queue-call"): BROADCASTERS,
    ("GET", "/api/broadcast/recordings"): SECURITY_DESK,
    ("GET", "/api/broadcast/recordings/{broadcast_id}/audio"): SECURITY,
    # people-counting cameras (issue 12): a still only for the security desk, and only where the site allows it
    ("GET", "/api/cameras/{camera_id}/snapshot"): SECURITY_DESK,
    # alarms (ISA-18.2): every staff role sees them; operators act on them
    ("GET", "/api/alarms"): STAFF,
    ("GET", "/api/alarms/kpis"): STAFF,
    ("GET", "/api/alarms/{alarm_id:int}"): STAFF,  # :int: /api/alarms/ack is another resource (405 for GET)
    ("POST", "/api/alarms/ack"): ALARM_OPERATORS,
    ("POST", "/api/alarms/{alarm_id}/ack"): ALARM_OPERATORS,
    ("POST", "/api/alarms/{alarm_id}/shelve"): ALARM_OPERATORS,
    ("POST", "/api/alarms/{alarm_id}/unshelve"): ALARM_OPERATORS,
    ("POST", "/api/alarms/{alarm_id}/reset"): ALARM_OPERATORS,
    ("POST", "/api/alarms/{alarm_id}/out-of-service"): ALARM_OPERATORS,
    ("POST", "/api/alarms/{alarm_id}/in-service"): ALARM_OPERATORS,
    ("POST", "/api/alarms/{alarm_id}/comment"): ALARM_COMMENTERS,
    # alarm follow-up: work orders, emergency plans, pages, drills, inspection rounds, QR labels
    ("GET", "/api/workorders"): STAFF,
    ("POST", "/api/workorders"): WORK_ORDER_USERS,
    ("GET", "/api/workorders/{order_id}"): STAFF,
    ("POST", "/api/workorders/{order_id}/assign"): OPERATORS,
    ("POST", "/api/workorders/{order_id}/acknowledge"): WORKERS,
    ("POST", "/api/workorders/{order_id}/start"): WORKERS,
    ("POST", "/api/workorders/{order_id}/resolve"): WORKERS,
    ("POST", "/api/workorders/{order_id}/close"): OPERATORS,
    ("POST", "/api/workorders/{order_id}/reopen"): OPERATORS,
    ("POST", "/api/workorders/{order_id}/comment"): WORK_ORDER_USERS,
    ("POST", "/api/workorders/{order_id}/photo"): WORKERS,
    ("GET", "/api/workorders/{order_id}/photo"): STAFF,
    ("GET", "/api/plans"): STAFF,
    ("GET", "/api/alarms/{alarm_id}/plan"): STAFF,
    ("POST", "/api/alarms/{alarm_id}/plan/steps/{n}/done"): PLAN_STEPPERS,
    ("GET", "/api/alarms/{alarm_id}/linkage"): STAFF,
    ("GET", "/api/pages"): STAFF,
    ("POST", "/api/pages/{page_id}/ack"): STAFF,
    ("GET", "/api/drills"): STAFF,
    ("POST", "/api/drills/start"): DRILL_LEADERS,
    ("POST", "/api/drills/{drill_id}/end"): DRILL_LEADERS,
    ("GET", "/api/drills/{drill_id}/report"): STAFF,
    ("GET", "/api/rounds"): STAFF,
    ("GET", "/api/rounds/today"): STAFF,
    ("GET", "/api/rounds/{run_id}"): STAFF,
    ("POST", "/api/rounds/{run_id}/items/{n}"): WORKERS,
    ("GET", "/api/qr/sheet"): STAFF,
    ("GET", "/api/qr/{kind}/{item_id}"): STAFF,
    # queues (T/ZAS 4012 7.1.3): visitors see waiting, expected waits and the numbers called; staff the full
    # figures and advice; the queue system posts its ticket events signed with the site's secret (HMAC, checked
    # by the route: a machine has no session)
    ("GET", "/api/queues"): PUBLIC,
    ("GET", "/api/queues/detail"): STAFF,
    ("POST", "/api/queues/events"): PUBLIC,
    ("GET", "/api/heatmap"): STAFF,  # crowd grids on the twin's floor (counts only: no person is identifiable)
    ("GET", "/api/bigscreen"): STAFF,  # the overview's figures: any staff (the page itself is the managers')
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


# The crews' work orders and rounds; facility staff dispatch the orders and are paged when one is overdue
# (workorders.escalate_to), so the page with the orders and their pages is theirs too.
MAINTENANCE_PAGE: Final = frozenset({Role.ADMIN, Role.FACILITY, Role.MAINTENANCE})
BIG_SCREEN: Final = frozenset({Role.ADMIN, Role.MANAGER})  # the operations big screen (T/ZAS 4012 7.3.2)

# Later issues add the big screen here.
PAGES: Final[tuple[Page, ...]] = (
    Page("twin", "/", "数字孪生", "Digital twin", STAFF),
    Page("security", "/security", "安防值守", "Security desk", SECURITY_DESK),
    Page("maintenance", "/maintenance", "运维工单", "Maintenance", MAINTENANCE_PAGE),
    Page("bigscreen", "/bigscreen", "运营大屏", "Operations screen", BIG_SCREEN),
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
