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


class ChannelConfigError(BulletinError):
    """A chat channel cannot start with these settings; the message names the setting to fix."""


class CallbackRejected(BulletinError):
    """A platform callback failed its signature, token or decryption check: it is refused unanswered."""


class ChannelApiError(BulletinError):
    """A chat platform's API refused a call (bad credentials, a message it would not take)."""

class SandboxError(BulletinError):
    """No process could be started to parse files in (see sandbox.py)."""
