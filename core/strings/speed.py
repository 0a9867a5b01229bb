"""Messages of the training speed switches and of warming the model cache."""

STRINGS = {
    "train.bad_switch": (
        "“{name}” must be on or off (true or false); got {value}.",
        "“{name}” 값은 켜기 또는 끄기(true 또는 false)여야 합니다. 입력값: {value}.",
    ),
    "warm.done": (
        "{name}: ready in {seconds:.1f} s ({folder}).",
        "{name}: {seconds:.1f}초 만에 준비됨 ({folder}).",
    ),
}
