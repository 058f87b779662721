"""bulletin_bot: answers questions over Chinese work bulletins with verbatim, cited quotes."""

__version__ = "0.1.0"
