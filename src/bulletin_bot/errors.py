"""Every exception the project raises on purpose; front ends turn them into one clear line.

One base, `BulletinError`: a front end that catches it shows the message, which says what went
wrong and what to do (which file, which setting). Anything else is a bug.
"""

from __future__ import annotations


class BulletinError(Exception):
    """Something a user or admin can act on; the message says what."""


# ---------------------------------------------------------------- settings and models


class ConfigError(BulletinError):
    """A setting is missing or malformed; the message names it."""


class BotConfigError(ConfigError):
    """The Telegram bot cannot start with these settings (the token is never echoed)."""


class ChannelConfigError(ConfigError):
    """A chat channel cannot start with these settings; the message names the setting to fix."""


class EmbedderError(BulletinError):
    """An embedding model cannot be loaded; the message says how to get it."""


class StaticModelError(BulletinError):
    """The default static model cannot be built."""


# ---------------------------------------------------------------- files


class ParseError(BulletinError):
    """A file that could not be read as a bulletin. `str()` names the file and why."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(file, reason)
        self.file = file
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


class SandboxError(BulletinError):
    """No process could be started to parse files in (see sandbox.py)."""


class UploadTooLarge(BulletinError):
    """An upload's body is over the size limit (the web app answers 413)."""


class Busy(BulletinError):
    """A question refused because too many are in the server: `status` 429 (this client has
    its share) or 503 (the server is full); the web app answers with that status."""

    def __init__(self, status: int, retry_after: int = 1, yielding: bool = False) -> None:
        super().__init__(f"busy ({status})")
        # yielding: this client's last piece just ended and another client is waiting for its turn
        self.status, self.retry_after, self.yielding = status, retry_after, yielding


class QuestionFileError(BulletinError):
    """An evaluation question file is malformed; the message names the file and line."""


# ---------------------------------------------------------------- the index


class IndexMissing(BulletinError):
    """No usable index yet."""


class IndexInvalid(BulletinError):
    """An index version failed validation (corrupt file, truncated table, other model/format)."""


class IndexBusy(BulletinError):
    """Another build holds the index lock."""


# ---------------------------------------------------------------- front ends


class UsageError(BulletinError):
    """A command was given arguments it cannot use (printed as `bulletin-bot: error: …`)."""


class CallbackRejected(BulletinError):
    """A platform callback failed its signature, token or decryption check: it is refused unanswered."""


class ChannelApiError(BulletinError):
    """A chat platform's API refused a call (bad credentials, a message it would not take)."""


# ---------------------------------------------------------------- following and dossiers


class FollowRefused(BulletinError):
    """A follow the subscriptions store will not take (over the limit, an empty or too long topic)."""


class Blocked(BulletinError):
    """A follower can no longer be written to (Telegram 403 Forbidden, a user who left): drop them."""


class DossierError(BulletinError):
    """A compile request that cannot be met (a bad period, an empty topic); the message says why."""
