"""Workspace messages: saved plans, runs, preferences, visitor ids and disk limits."""

STRINGS = {
    "workspace.bad_visitor": (
        "This browser's workspace id is not valid; a new, empty workspace was started.",
        "이 브라우저의 작업 공간 ID가 올바르지 않아 비어 있는 새 작업 공간을 시작했습니다.",
    ),
    "workspace.name_empty": ("Give the plan a name.", "계획 이름을 입력하세요."),
    "workspace.name_too_long": (
        "A plan name can have at most {max} characters (this one has {n}).",
        "계획 이름은 최대 {max}자입니다(지금 {n}자).",
    ),
    "workspace.name_control": (
        "A plan name cannot contain line breaks or control characters.",
        "계획 이름에는 줄바꿈이나 제어 문자를 쓸 수 없습니다.",
    ),
    "workspace.name_taken": (
        "A plan named “{name}” already exists.",
        "“{name}” 이름의 계획이 이미 있습니다.",
    ),
    "workspace.no_plan": ("There is no saved plan named “{name}”.", "“{name}” 이름으로 저장된 계획이 없습니다."),
    "workspace.too_many_plans": (
        "You can keep at most {max} saved plans. Delete some to save more.",
        "저장된 계획은 최대 {max}개까지입니다. 더 저장하려면 일부를 삭제하세요.",
    ),
    "workspace.too_many_runs": (
        "You can keep at most {max} runs. Delete some finished runs to start more.",
        "실행 기록은 최대 {max}개까지입니다. 끝난 실행을 일부 삭제하면 더 시작할 수 있습니다.",
    ),
    "workspace.no_run": ("There is no run #{number}.", "#{number} 실행이 없습니다."),
    "workspace.run_active": (
        "Run #{number} is still queued or training; stop it before deleting it.",
        "#{number} 실행이 아직 대기 중이거나 학습 중입니다. 삭제하기 전에 중지하세요.",
    ),
    "workspace.bad_status": ("Unknown run status “{status}”.", "알 수 없는 실행 상태 “{status}”입니다."),
    "workspace.prefs_too_big": (
        "Your saved preferences are too large ({kib} KiB; the limit is {max_kib} KiB).",
        "저장할 환경설정이 너무 큽니다({kib} KiB, 한도 {max_kib} KiB).",
    ),
    "workspace.settings_too_big": (
        "The run's settings are too large ({kib} KiB; the limit is {max_kib} KiB).",
        "실행 설정이 너무 큽니다({kib} KiB, 한도 {max_kib} KiB).",
    ),
    "workspace.too_many_settings": (
        "At most {max} page settings can be remembered.",
        "페이지 설정은 최대 {max}개까지 기억할 수 있습니다.",
    ),
    "workspace.not_json": ("This value cannot be saved: {detail}", "이 값은 저장할 수 없습니다: {detail}"),
    "workspace.data_name_too_long": (
        "A dataset name can have at most {max} characters.",
        "데이터셋 이름은 최대 {max}자입니다.",
    ),
    "workspace.bad_language": ("Unknown language “{code}”.", "알 수 없는 언어 “{code}”입니다."),
    "workspace.bad_setting_key": (
        "A setting id must be 1–{max} characters of letters, digits, dots, dashes or underscores.",
        "설정 ID는 영문자, 숫자, 점, 대시, 밑줄로 된 1–{max}자여야 합니다.",
    ),
    "workspace.corrupt": (
        "The saved workspace could not be read ({detail}).",
        "저장된 작업 공간을 읽을 수 없습니다({detail}).",
    ),
    "workspace.write_failed": (
        "Your change could not be saved ({detail}). Nothing was changed; try again.",
        "변경 내용을 저장하지 못했습니다({detail}). 아무것도 바뀌지 않았으니 다시 시도하세요.",
    ),
    "workspace.bad_env": (
        "The setting {name}={value} is not a positive number.",
        "설정 {name}={value}은(는) 양수가 아닙니다.",
    ),
    "workspace.name_blocks": ("blocks {blocks}", "블록 {blocks}"),
    "workspace.name_more": ("+{n} more", "외 {n}개"),
}
