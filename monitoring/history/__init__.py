"""Point history: HistoryStore interface, SQLite (default) and VictoriaMetrics stores, spool, recorder."""

from monitoring.history.base import (
    HistoryBackendUnavailable,
    HistoryBucket,
    HistoryRejected,
    HistoryResult,
    HistorySample,
    HistoryStore,
    HistoryStoreError,
    Resolution,
)
from monitoring.history.recorder import HistoryRecorder
from monitoring.history.sqlite_store import MaintenanceReport, RetentionPolicy, SQLiteHistoryStore
from monitoring.history.store_forward import StoreAndForward
from monitoring.history.victoria_store import VictoriaMetricsStore

__all__ = [
    "HistoryBackendUnavailable",
    "HistoryBucket",
    "HistoryRecorder",
    "HistoryRejected",
    "HistoryResult",
    "HistorySample",
    "HistoryStore",
    "HistoryStoreError",
    "MaintenanceReport",
    "Resolution",
    "RetentionPolicy",
    "SQLiteHistoryStore",
    "StoreAndForward",
    "VictoriaMetricsStore",
]
