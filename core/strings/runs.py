"""A visitor's runs as every page lists them."""

STRINGS = {
    "runs.label": ("#{n} · {model} · {data} · {steps}", "#{n} · {model} · {data} · {steps}"),
    "runs.over_quota": (
        "Your runs and uploads already use the {mib} MiB this Space allows each visitor, and none of them can be "
        "freed while it is running. Delete a run, or wait for it to finish.",
        "실행 기록과 업로드가 방문자당 허용된 {mib} MiB를 이미 쓰고 있고, 진행 중인 실행은 지울 수 없습니다. "
        "실행을 하나 지우거나 끝날 때까지 기다려 주세요.",
    ),
    "runs.delete": ("Delete this run", "이 실행 삭제"),
    "runs.deleted": ("Deleted run #{n} and its files.", "실행 #{n}과(와) 그 파일을 삭제했습니다."),
    "runs.unavailable": ("Run #{n} cannot be opened: {reason}", "실행 #{n}을(를) 열 수 없습니다: {reason}"),
}
