"""A small site with two window groups, three services and computed queue points, for the queue tests."""

from __future__ import annotations

from typing import Any

from twin.site.model import SiteConfig

GUID = "0" * 22


def queue_site(**queues: Any) -> SiteConfig:
    points = [
        {"id": f"qa.{svc}.{m}", "name": {"zh": m, "en": m}, "kind": "analog", "brick": "Duration_Sensor",
         "address": {"type": "computed", "measure": m, "ref": svc}}
        for svc in ("integrated", "pickup") for m in ("waiting", "wait_p90", "longest_wait")
    ] + [
        {"id": "qa.g1.windows_open", "name": {"zh": "窗口", "en": "windows"}, "kind": "analog", "brick": "Status",
         "address": {"type": "computed", "measure": "windows_open", "ref": "g1"}},
    ]  # fmt: skip
    data = {
        "site": {"id": "qsite", "name": {"zh": "测试", "en": "Test"}, "ifc": "none.ifc", "timezone": "Asia/Shanghai"},
        "zones": [
            {"id": "win", "name": {"zh": "窗口区", "en": "Windows"}, "zone_type": "window_service", "ifc_guid": GUID},
            {"id": "wait", "name": {"zh": "等候区", "en": "Waiting"}, "zone_type": "waiting", "ifc_guid": GUID},
        ],
        "devices": [{"id": "qa", "name": {"zh": "排队分析", "en": "Queue analytics"}, "kind": "queue_system",
                     "zone": "win", "ifc_guid": GUID, "connection": {"type": "computed", "source": "queues"},
                     "points": points}],
        "queues": {
            "groups": [
                {"id": "g1", "name": {"zh": "综合窗口", "en": "integrated windows"}, "zone": "win",
                 "waiting_zone": "wait", "windows": ["1", "2", "3", "4"], "target_wait_min": 10},
                {"id": "g2", "name": {"zh": "取件窗口", "en": "pick-up windows"}, "zone": "win",
                 "windows": ["9"]},
            ],
            "services": [
                {"id": "integrated", "name": {"zh": "综合", "en": "Integrated"}, "prefix": "A", "group": "g1"},
                {"id": "domain", "name": {"zh": "专业", "en": "Domain"}, "prefix": "B", "group": "g1"},
                {"id": "pickup", "name": {"zh": "取件", "en": "Pick-up"}, "prefix": "D", "group": "g2"},
            ],
            **queues,
        },
    }  # fmt: skip
    return SiteConfig.model_validate(data, strict=False)
