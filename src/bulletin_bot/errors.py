"""Exceptions the core raises; front ends turn them into one clear line for the user."""

from __future__ import annotations


class BulletinError(Exception):
    """Something a user or admin can act on; the message says what."""


class IndexMissing(BulletinError):
    """No usable index yet."""


class IndexInvalid(BulletinError):
    """An index version failed validation (corrupt file, truncated table, other model/format)."""


class IndexBusy(BulletinError):
    """Another build holds the index lock."""


class SandboxError(BulletinError):
    """No process could be started to parse files in (see sandbox.py)."""
