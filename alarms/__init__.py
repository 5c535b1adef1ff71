"""Alarm engine, linkage actions, work orders and the audit log (later issues)."""
