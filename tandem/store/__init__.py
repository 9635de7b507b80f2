"""Durable update log + snapshots. The store never imports Tornado."""

from .base import DocumentHistory, DocumentStore, StaleEpoch
from .sqlite import SQLiteStore

__all__ = ["DocumentHistory", "DocumentStore", "SQLiteStore", "StaleEpoch"]
