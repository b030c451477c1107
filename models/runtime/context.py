"""The context a job runs in: registry, sessions, gallery, settings. One per worker thread or CLI run."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from . import settings as settings_file
from .registry import Registry
from .session import SessionCache


@dataclass
class Context:
    provider: str | None = None  # overrides settings["provider"]
    settings: dict = field(default_factory=settings_file.load)
    state: dict = field(default_factory=dict)  # per-family engine state kept between jobs (e.g. chat KV caches)

    @cached_property
    def registry(self) -> Registry:
        return Registry()

    @cached_property
    def sessions(self) -> SessionCache:
        threads = int(self.settings.get("threads") or 0) or None
        return SessionCache(self.provider or self.settings.get("provider", "auto"), threads)

    @cached_property
    def gallery(self):
        from models.gallery.store import GalleryStore

        return GalleryStore()
