"""QR codes per device and room (segno, SVG): each opens the maintenance page on that device or room; the sheet
is one printable HTML page of labelled codes (A4, 4 per row)."""

from __future__ import annotations

import html
import io
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

import segno

from twin.site.model import SiteConfig

Kind = Literal["device", "room"]


@dataclass(frozen=True)
class Label:
    kind: Kind
    id: str
    name_zh: str
    name_en: str
    zone: str | None


def labels(site: SiteConfig, kind: Kind | Literal["all"] = "all") -> list[Label]:
    """Every device and room (zone) of the site, rooms first."""
    found: list[Label] = []
    if kind in ("room", "all"):
        found += [Label("room", z.id, z.name.zh, z.name.en, z.id) for z in site.zones]
    if kind in ("device", "all"):
        found += [Label("device", d.id, d.name.zh, d.name.en, d.zone) for d in site.devices]
    return found


def target_url(base_url: str, kind: Kind, item_id: str) -> str:
    """The maintenance page on one device or room, e.g. http://hall:8000/maintenance?device=ups-1."""
    return f"{base_url.rstrip('/')}/maintenance?{kind}={quote(item_id, safe='')}"


def qr_svg(data: str, scale: int = 4) -> str:
    """An SVG QR code (error correction M: a label may get scratched), without the XML declaration."""
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=scale, border=2, xmldecl=False, svgns=True)
    return buffer.getvalue().decode("utf-8")


def sheet_html(site: SiteConfig, base_url: str, kind: Kind | Literal["all"] = "all") -> str:
    """The printable sheet: one cell per label with its QR code, Chinese and English names and the id."""
    cells = []
    for label in labels(site, kind):
        url = target_url(base_url, label.kind, label.id)
        kind_zh = "房间" if label.kind == "room" else "设备"
        cells.append(
            f'<figure class="label" data-kind="{label.kind}" data-id="{html.escape(label.id)}">'
            f"{qr_svg(url)}<figcaption><b>{html.escape(label.name_zh)}</b><br>{html.escape(label.name_en)}"
            f'<br><code>{kind_zh} {html.escape(label.id)}</code></figcaption></figure>'
        )
    title = f"{html.escape(site.site.name.zh)} 设备与房间二维码 / QR codes of devices and rooms"
    return (
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        f"<title>{title}</title><style>"
        "@page{size:A4;margin:10mm}body{font-family:sans-serif;margin:0}"
        "h1{font-size:14pt;margin:0 0 4mm}main{display:grid;grid-template-columns:repeat(4,1fr);gap:4mm}"
        ".label{break-inside:avoid;border:1px dashed #999;margin:0;padding:2mm;text-align:center;font-size:8pt}"
        ".label svg{width:32mm;height:32mm}code{font-size:7pt}"
        "</style></head><body>"
        f"<h1>{title}</h1><main>{''.join(cells)}</main></body></html>"
    )
