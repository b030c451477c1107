"""One-line, user-facing errors. Everything the user can cause raises a GenloomError subclass."""
from __future__ import annotations


class GenloomError(Exception):
    """An error whose message is a single line the user can act on."""

    def __str__(self) -> str:  # always one line
        text = super().__str__() or self.__class__.__name__
        return " ".join(text.split())


class BadInput(GenloomError):
    """The request, a setting or an input file is not acceptable."""


class ModelError(GenloomError):
    """A model file or folder is missing, corrupt or does not fit its kind."""


class StorageError(GenloomError):
    """A file could not be written or read (full disk, no permission, ...)."""


class Cancelled(Exception):
    """Raised inside a job when the user cancelled it."""


def one_line(exc: BaseException) -> str:
    """The message to show for any exception, squeezed to one line."""
    if isinstance(exc, GenloomError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "Out of memory: try a smaller size, batch or model."
    if isinstance(exc, OSError):
        if getattr(exc, "errno", None) == 28:
            return "The disk is full: free some space and try again."
        name = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return " ".join(f"{exc.strerror or exc}{name}".split())
    text = " ".join(str(exc).split())
    kind = exc.__class__.__name__
    if not text:
        return kind
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{kind}: {text}"
