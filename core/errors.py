"""User-facing errors: a translation key plus parameters, never a traceback."""

from __future__ import annotations

from core.i18n import t


class LensError(Exception):
    """An error whose message a user can act on, in English or Korean.

    ``key`` names a string in the translation table; ``params`` fill it.
    """

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        """Always one line: a parameter that carries a library's multi-line text is folded into it."""
        return " ".join(t(self.key, lang, **self.params).split())
