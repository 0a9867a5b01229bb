"""Generic error messages."""

STRINGS = {
    "err.unexpected": (
        "Something went wrong: {detail}",
        "문제가 발생했습니다: {detail}",
    ),
}
