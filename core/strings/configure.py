"""The Configure page."""

STRINGS = {
    "configure.title": ("Configure LoRA", "LoRA 설정"),
    "configure.intro": (
        "Tick target modules or pick a preset; every number below updates instantly and equals what PEFT reports.",
        "대상 모듈을 고르거나 프리셋을 선택하세요. 아래 숫자는 즉시 갱신되며 PEFT가 보고하는 값과 같습니다.",
    ),
    "configure.preset": ("Preset", "프리셋"),
    "configure.preset_qv": ("q + v (classic)", "q + v (고전적 선택)"),
    "configure.preset_attention": ("All attention", "어텐션 전체"),
    "configure.preset_mlp": ("All MLP", "MLP 전체"),
    "configure.preset_all-linear": ("all-linear", "all-linear (모든 선형층)"),
    "configure.preset_custom": ("Custom", "직접 선택"),
    "configure.preset_regex": ("Regex", "정규식"),
    "configure.preset_empty": ("This model has no modules for that preset.", "이 모델에는 해당 프리셋에 맞는 모듈이 없습니다."),
    "configure.preset_empty_kept": (
        "This model has no modules for the preset “{preset}”, so nothing was changed.",
        "이 모델에는 “{preset}” 프리셋에 맞는 모듈이 없어 아무것도 바꾸지 않았습니다.",
    ),
    "configure.advanced": ("Exclusions and initialisation", "제외 모듈과 초기화"),
    "configure.init": ("init_lora_weights", "init_lora_weights"),
    "configure.help_init": (
        "How PEFT starts A and B. PiSSA and OLoRA start from the base weight's main directions and change the base "
        "in place (the saved adapter is converted back for the original model); MiCA trains A only.",
        "PEFT가 A와 B를 초기화하는 방법입니다. PiSSA와 OLoRA는 기본 가중치의 주요 방향에서 시작하며 기본 가중치를 "
        "직접 바꿉니다(저장할 때 원래 모델용 어댑터로 변환). MiCA는 A만 학습합니다.",
    ),
    "configure.init_default": ("default (B = 0: starts as the base)", "기본값 (B = 0: 기본 모델과 같게 시작)"),
    "configure.init_gaussian": ("gaussian", "gaussian (가우시안)"),
    "configure.init_pissa": ("PiSSA (principal singular vectors)", "PiSSA (주 특이벡터)"),
    "configure.init_olora": ("OLoRA (QR of the base weight)", "OLoRA (기본 가중치의 QR 분해)"),
    "configure.init_orthogonal": ("orthogonal", "orthogonal (직교)"),
    "configure.init_mica": ("MiCA (B frozen, A trains)", "MiCA (B 고정, A만 학습)"),
    "configure.exclude": ("exclude_modules (never adapted)", "exclude_modules (적용하지 않을 모듈)"),
    "configure.help_exclude": (
        "PEFT skips a module whose name equals one of these or ends with “.name”, e.g. layers.0.self_attn.q_proj. "
        "Type a name and press Enter to add one that is not in the list.",
        "이름이 이 값과 같거나 “.이름”으로 끝나는 모듈은 PEFT가 건너뜁니다(예: layers.0.self_attn.q_proj). "
        "목록에 없는 이름은 입력한 뒤 Enter를 누르면 추가됩니다.",
    ),
    "targets.title": ("Target modules, by group", "대상 모듈 (그룹별)"),
    "targets.col_adapt": ("Adapt", "적용"),
    "targets.col_group": ("Group", "그룹"),
    "targets.col_shape": ("in→out", "입력→출력"),
    "targets.col_count": ("Count", "개수"),
    "targets.col_blocks": ("Blocks", "블록"),
    "targets.col_r": ("r (this group)", "r (이 그룹)"),
    "targets.col_alpha": ("α (this group)", "α (이 그룹)"),
    "targets.help_adapt": ("Tick the groups LoRA adapts.", "LoRA를 적용할 그룹을 고르세요."),
    "targets.help_r": (
        "Leave blank to use the global r; a number here becomes PEFT's rank_pattern for this group.",
        "비워 두면 전체 r을 씁니다. 숫자를 넣으면 이 그룹의 PEFT rank_pattern이 됩니다.",
    ),
    "targets.help_alpha": (
        "Leave blank to use the global lora_alpha; a number here becomes PEFT's alpha_pattern for this group.",
        "비워 두면 전체 lora_alpha를 씁니다. 숫자를 넣으면 이 그룹의 PEFT alpha_pattern이 됩니다.",
    ),
    "targets.caption": (
        "An empty r or α cell (None) uses the value above; delete a number to go back to it. With a regex or "
        "all-linear the ticks follow what it matches.",
        "비어 있는(흐리게 표시된) r·α 칸은 위의 값을 씁니다. 숫자를 지우면 다시 위의 값을 따릅니다. 정규식이나 all-linear에서는 "
        "체크 표시가 일치하는 모듈을 따릅니다.",
    ),
    "targets.bad_r": (
        "{group}: r must be a whole number from 1 to {max}; got {r}. Fix it or clear the cell.",
        "{group}: r은 1부터 {max}까지의 정수여야 합니다. 입력값: {r}. 고치거나 칸을 비우세요.",
    ),
    "targets.bad_alpha": (
        "{group}: α must be a finite number greater than 0; got {alpha}. Fix it or clear the cell.",
        "{group}: α는 0보다 큰 유한한 수여야 합니다. 입력값: {alpha}. 고치거나 칸을 비우세요.",
    ),
    "configure.groups": ("Target modules (by group)", "대상 모듈 (그룹별)"),
    "configure.regex": ("Regex (PEFT full-matches it against each module's full name)", "정규식 (PEFT가 각 모듈의 전체 이름과 완전 일치로 비교)"),
    "configure.r": ("r (rank)", "r (랭크)"),
    "configure.alpha": ("lora_alpha", "lora_alpha"),
    "configure.dropout": ("lora_dropout", "lora_dropout"),
    "configure.bias": ("bias", "bias"),
    "configure.rslora": ("rsLoRA (scale by α/√r)", "rsLoRA (α/√r로 스케일)"),
    "configure.dora": ("DoRA (adds a magnitude vector per module)", "DoRA (모듈마다 크기 벡터 추가)"),
    "configure.restrict": ("Only some blocks (layers_to_transform)", "일부 블록만 (layers_to_transform)"),
    "configure.blocks": ("Blocks", "블록"),
    "configure.mts": ("modules_to_save (trained fully and saved with the adapter)", "modules_to_save (전체 학습 후 어댑터와 함께 저장)"),
    "configure.trainable": ("Trainable parameters", "학습 파라미터"),
    "configure.share": ("Share of the model", "모델 대비 비율"),
    "configure.size_fp32": ("Adapter size (fp32)", "어댑터 크기 (fp32)"),
    "configure.size_bf16": ("Adapter size (bf16)", "어댑터 크기 (bf16)"),
    "configure.scaling": ("Scaling applied", "적용 스케일"),
    "configure.scaling_help": ("α/r = {a}/{r}", "α/r = {a}/{r}"),
    "configure.scaling_help_rs": ("α/√r = {a}/√{r}", "α/√r = {a}/√{r}"),
    "configure.scaling_mixed": (
        " for the plan's own r and α; groups with their own r or α (rank/alpha patterns) scale as shown.",
        " (전체 r과 α 기준). 자체 r이나 α가 있는 그룹(rank/alpha 패턴)은 표시된 값으로 스케일됩니다.",
    ),
    "configure.by_group": ("By module group", "모듈 그룹별"),
    "configure.by_block": ("By block", "블록별"),
    "configure.code": ("The exact PEFT config", "정확한 PEFT 설정 코드"),
    "configure.save_name": ("Save this plan as", "이 계획을 저장할 이름"),
    "configure.save": ("Save plan for Compare", "비교용으로 계획 저장"),
    "configure.saved": ("Saved {name}. Open Compare to see it side by side.", "{name}을(를) 저장했습니다. 비교 페이지에서 나란히 볼 수 있습니다."),
    "configure.saved_renamed": (
        "Saved as {name}, next to the existing {asked}.",
        "기존 {asked}은(는) 그대로 두고 {name}(으)로 저장했습니다.",
    ),
    "configure.name_exists": (
        "A plan named {name} already exists. Overwrite it, or keep both?",
        "{name}이라는 계획이 이미 있습니다. 덮어쓸까요, 둘 다 둘까요?",
    ),
    "configure.overwrite": ("Overwrite", "덮어쓰기"),
    "configure.keep_both": ("Keep both", "둘 다 두기"),
    "configure.cancel": ("Cancel", "취소"),
    "configure.not_computed": (
        "The budget is not computed until the values above are fixed.",
        "위의 값을 고칠 때까지 파라미터 수를 계산하지 않습니다.",
    ),
    "configure.modules_csv": ("Download adapted modules (CSV)", "적용된 모듈 내려받기 (CSV)"),
    "configure.help_r": ("Rank of A (r×in) and B (out×r). Budget grows linearly with r.", "A(r×in)와 B(out×r)의 랭크. 파라미터 수는 r에 비례합니다."),
    "configure.help_alpha": ("The update is scaled by α/r (α/√r with rsLoRA).", "업데이트는 α/r(rsLoRA는 α/√r)로 스케일됩니다."),
    "configure.help_bias": (
        "none: no biases train. all: every bias in the model trains. lora_only: biases of adapted layers train.",
        "none: bias를 학습하지 않음. all: 모델의 모든 bias 학습. lora_only: 적용된 층의 bias만 학습.",
    ),
}
