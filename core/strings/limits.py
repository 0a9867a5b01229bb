"""Messages for the caps and time limits (core/limits.py), hosted mode and translated library errors."""

STRINGS = {
    "limits.ref_too_long": (
        "The model name or path is {n} characters long; at most {max} are accepted. Enter a shorter Hub id or folder.",
        "모델 이름 또는 경로가 {n}자입니다. 최대 {max}자까지 받습니다. 더 짧은 Hub ID나 폴더를 입력하세요.",
    ),
    "limits.config_type": (
        "config.json: '{field}' must be a whole number; got {value}. Fix that value in config.json.",
        "config.json: '{field}'은(는) 정수여야 합니다. 입력값: {value}. config.json에서 이 값을 고치세요.",
    ),
    "limits.config_range": (
        "config.json: '{field}' is {value}; this app accepts {low} to {high}. Fix that value in config.json.",
        "config.json: '{field}'이(가) {value}입니다. 이 앱은 {low}부터 {high}까지 받습니다. config.json에서 이 값을 고치세요.",
    ),
    "limits.too_many_params": (
        "This config describes {n} parameters; this app inspects models up to {max}. Check the sizes in config.json.",
        "이 설정은 파라미터 {n}개를 기술합니다. 이 앱은 {max}개까지의 모델만 살펴봅니다. config.json의 크기 값을 확인하세요.",
    ),
    "limits.too_slow": (
        "Building this model's structure took longer than {seconds} s, so it was stopped. Check the sizes in config.json.",
        "이 모델의 구조를 만드는 데 {seconds}초가 넘게 걸려 중단했습니다. config.json의 크기 값을 확인하세요.",
    ),
    "limits.regex_too_long": (
        "The target regex is {n} characters long; at most {max} are accepted. Shorten it.",
        "대상 정규식이 {n}자입니다. 최대 {max}자까지 받습니다. 줄여 주세요.",
    ),
    "limits.regex_nested": (
        "The target regex '{regex}' repeats a group that itself repeats or alternates, which can take minutes to "
        "match. Write it without a nested repetition, e.g. .*\\.(q|v)_proj.",
        "대상 정규식 '{regex}'은(는) 반복하거나 분기하는 그룹을 다시 반복하여 일치 검사에 몇 분이 걸릴 수 있습니다. "
        "중첩 반복 없이 작성하세요(예: .*\\.(q|v)_proj).",
    ),
    "limits.unknown_type": (
        "config.json: model_type '{model_type}' is not a model type transformers knows. "
        "Fix model_type (e.g. llama, gpt2, bert) or pick a supported model.",
        "config.json: model_type '{model_type}'은(는) transformers가 아는 모델 유형이 아닙니다. "
        "model_type을 고치거나(예: llama, gpt2, bert) 지원되는 모델을 고르세요.",
    ),
    "limits.no_model_type": (
        "config.json has no model_type, so transformers cannot tell which architecture it is. Add model_type.",
        "config.json에 model_type이 없어 transformers가 어떤 구조인지 알 수 없습니다. model_type을 추가하세요.",
    ),
    "limits.config_field": (
        "config.json: '{field}' is invalid ({detail}). Fix that value in config.json.",
        "config.json: '{field}' 값이 올바르지 않습니다({detail}). config.json에서 이 값을 고치세요.",
    ),
    "limits.config_inconsistent": (
        "config.json is inconsistent: {detail} Fix these values in config.json.",
        "config.json의 값이 서로 맞지 않습니다: {detail} config.json에서 이 값들을 고치세요.",
    ),
    "limits.bad_config": (
        "The config.json of {name} cannot be read: {detail} Fix the file or pick another model.",
        "{name}의 config.json을 읽을 수 없습니다: {detail} 파일을 고치거나 다른 모델을 고르세요.",
    ),
    "limits.local_off": (
        "Local folders are off on this hosted app. Pick a catalog or embedded model, or enter a Hub id.",
        "이 호스팅된 앱에서는 로컬 폴더를 쓸 수 없습니다. 카탈로그나 내장 모델을 고르거나 Hub ID를 입력하세요.",
    ),
    "limits.out_not_folder": (
        "The output '{path}' is not a folder that can be created (a file is in the way). Choose another --out.",
        "출력 위치 '{path}'에 폴더를 만들 수 없습니다(같은 이름의 파일이 있습니다). 다른 --out을 고르세요.",
    ),
    "limits.out_unwritable": (
        "The output '{path}' is not writable. Choose a folder you can write to.",
        "출력 위치 '{path}'에 쓸 수 없습니다. 쓰기 권한이 있는 폴더를 고르세요.",
    ),
    "limits.os_permission": (
        "Permission denied for '{path}'. Choose a file or folder you can read and write.",
        "'{path}'에 대한 권한이 없습니다. 읽고 쓸 수 있는 파일이나 폴더를 고르세요.",
    ),
    "limits.disk_full": (
        "The disk is full, so nothing was written. Free some space (or delete old runs) and try again.",
        "디스크가 가득 차 아무것도 쓰지 못했습니다. 공간을 확보(또는 이전 실행 삭제)한 뒤 다시 시도하세요.",
    ),
    "limits.os_error": (
        "A file operation failed ({reason}) for '{path}'. Check the path and try again.",
        "'{path}'에 대한 파일 작업이 실패했습니다({reason}). 경로를 확인하고 다시 시도하세요.",
    ),
    "limits.unexpected": (
        "Something went wrong ({kind}): {detail}",
        "문제가 발생했습니다({kind}): {detail}",
    ),
    "limits.not_found_hosted": (
        "'{name}' cannot be loaded as a model. Pick a catalog or embedded model, or enter a Hub id.",
        "'{name}'을(를) 모델로 불러올 수 없습니다. 카탈로그나 내장 모델을 고르거나 Hub ID를 입력하세요.",
    ),
    "budget.warn_partial": (
        "'{name}' exists in only {n} of {of} blocks, so PEFT adapts it there and nowhere else (no '{name}' in "
        "blocks {missing}).",
        "'{name}'은(는) {of}개 블록 중 {n}개에만 있어 PEFT는 그곳에만 적용합니다('{name}'이(가) 없는 블록: {missing}).",
    ),
    "limits.config_names": (
        "config.json: '{field}' must be a list of class names such as [\"LlamaForCausalLM\"]; got {value}. "
        "Fix that value in config.json.",
        "config.json: '{field}'은(는) [\"LlamaForCausalLM\"]처럼 클래스 이름의 목록이어야 합니다. 입력값: {value}. "
        "config.json에서 이 값을 고치세요.",
    ),
}
