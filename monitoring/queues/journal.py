"""The queue event journal: every accepted event and every refused one (with its reason), one JSON line each, a
file per local day. Today's file rebuilds the analytics after a restart; past days make the weekday profile."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import IO, Any

from monitoring.queues.events import TicketEvent

log = logging.getLogger(__name__)


class EventJournal:
    """Append-only daily JSONL files under ``folder``: events-YYYY-MM-DD.jsonl and refused-YYYY-MM-DD.jsonl."""

    def __init__(self, folder: Path, local: tzinfo) -> None:
        self.folder = folder
        self.local = local
        self._files: dict[str, tuple[date, IO[str]]] = {}
        self.refused = 0

    def _file(self, kind: str, at: float) -> IO[str]:
        day = datetime.fromtimestamp(at, self.local).date()
        current = self._files.get(kind)
        if current is not None and current[0] == day:
            return current[1]
        if current is not None:
            current[1].close()
        self.folder.mkdir(parents=True, exist_ok=True)
        handle = open(self.path(kind, day), "a", encoding="utf-8")  # noqa: SIM115 - kept open for the day
        self._files[kind] = (day, handle)
        return handle

    def path(self, kind: str, day: date) -> Path:
        return self.folder / f"{kind}-{day.isoformat()}.jsonl"

    def append(self, event: TicketEvent, received_at: float) -> None:
        record = {**event.to_json(), "received_at": round(received_at, 3)}
        self._file("events", event.at).write(json.dumps(record, ensure_ascii=False) + "\n")

    def refuse(self, payload: object, reason: str, source: str, received_at: float) -> None:
        """Keep a refused event as it came (text or the parsed object), with why and where from."""
        self.refused += 1
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", errors="replace")
        record = {"received_at": round(received_at, 3), "source": source, "reason": reason, "payload": payload}
        self._file("refused", received_at).write(json.dumps(record, ensure_ascii=False, default=str) + "\n")

    def flush(self) -> None:
        for _, handle in self._files.values():
            handle.flush()

    def close(self) -> None:
        for _, handle in self._files.values():
            handle.close()
        self._files.clear()

    def read(self, kind: str, day: date) -> Iterator[dict[str, Any]]:
        """The records of one day (a damaged line, such as a half-written last one, is skipped with a warning)."""
        path = self.path(kind, day)
        if not path.exists():
            return
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    log.warning("%s:%d: unreadable journal line skipped", path, number)


def event_from_record(record: dict[str, Any]) -> TicketEvent:
    return TicketEvent(
        type=record["type"], at=float(record["at"]), ticket=record.get("ticket"), service=record.get("service"),
        window=record.get("window"), to_service=record.get("to_service"), rating=record.get("rating"),
        id=record.get("id"),
    )  # fmt: skip
