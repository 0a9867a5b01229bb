"""Will it serve? vLLM's LoRA rules: each verdict, what to change, and the checklist labels."""

STRINGS = {
    "serving.title": ("Will it serve? (vLLM {version})", "서빙할 수 있을까? (vLLM {version})"),
    "serving.ok": (
        "vLLM {version} serves this adapter with `--max-lora-rank` {max}.",
        "vLLM {version}은(는) 이 어댑터를 `--max-lora-rank` {max}로 서빙합니다.",
    ),
    "serving.not_ok_one": (
        "vLLM {version} would not serve this adapter as trained: one thing to change.",
        "vLLM {version}은(는) 이대로 학습한 어댑터를 서빙하지 못합니다. 바꿀 것이 1개 있습니다.",
    ),
    "serving.not_ok_other": (
        "vLLM {version} would not serve this adapter as trained: {n} things to change.",
        "vLLM {version}은(는) 이대로 학습한 어댑터를 서빙하지 못합니다. 바꿀 것이 {n}개 있습니다.",
    ),
    "serving.command": ("Command to copy", "복사할 명령"),
    "serving.change": ("Change: {fix}", "바꿀 점: {fix}"),
    "serving.source": (
        "Rules read from vLLM {version}'s source (`vllm/lora/`, `vllm/config/lora.py`, the model registry).",
        "vLLM {version} 소스(`vllm/lora/`, `vllm/config/lora.py`, 모델 레지스트리)에서 읽은 규칙입니다.",
    ),
    "serving.col_vllm": ("vLLM", "vLLM 서빙"),
    "serving.cell_ok": ("✅ --max-lora-rank {max}", "✅ --max-lora-rank {max}로 서빙"),
    "serving.cell_bad": ("❌ {fix}", "❌ {fix}"),
    "serving.cli_ok": ("vLLM {version}: serves it ({command})", "vLLM {version}: 서빙 가능 ({command})"),
    "serving.cli_bad": ("vLLM {version}: will not serve it: {message} Change: {fix}", "vLLM {version}: 서빙 불가: {message} 바꿀 점: {fix}"),
    # The checklist, one line per rule in core.planning.serving.RULES.
    "serving.rule.architecture": ("Model class with LoRA support in vLLM", "vLLM이 LoRA를 지원하는 모델 클래스"),
    "serving.rule.rank": ("Rank fits `--max-lora-rank` (at most 512)", "랭크가 `--max-lora-rank` 안에 듦 (최대 512)"),
    "serving.rule.dora": ("No DoRA", "DoRA 미사용"),
    "serving.rule.bias": ("bias = none", "bias는 none"),
    "serving.rule.init": ("An init that leaves the base weights unchanged", "기본 가중치를 바꾸지 않는 초기화"),
    "serving.rule.modules_to_save": ("modules_to_save: `classifier`/`score` only", "modules_to_save는 `classifier`/`score`만"),
    "serving.rule.head": ("A classification head vLLM can read", "vLLM이 읽을 수 있는 분류 헤드"),
    "serving.rule.embedding": ("Embeddings and lm_head only where vLLM takes them", "임베딩·lm_head는 vLLM이 받는 모델에서만"),
    "serving.rule.conv": ("No convolution targets", "합성곱 층 대상 없음"),
    "serving.rule.experts": ("MoE expert LoRA in the layout vLLM loads", "vLLM이 읽는 형식의 MoE 전문가 LoRA"),
    "serving.rule.renamed": ("Module paths vLLM names the same way", "vLLM과 이름이 같은 모듈 경로"),
    "serving.rule.tower": ("Only language-model modules (or the tower flag)", "언어 모델 모듈만 (또는 타워 플래그)"),
    # Verdicts ({...} filled by check_vllm) and what to change ("_fix").
    "serving.missing": (
        "vLLM has no implementation of {arch}, and its Transformers backend serves no {task} models.",
        "vLLM에는 {arch} 구현이 없고, Transformers 백엔드도 {task} 모델은 서빙하지 않습니다.",
    ),
    "serving.missing_fix": (
        "Serve it with transformers and PEFT, or pick a model vLLM implements.",
        "transformers와 PEFT로 서빙하거나, vLLM이 구현한 모델을 고르세요.",
    ),
    "serving.no_lora": (
        "vLLM implements {arch} ({file}) without LoRA support: vllm serve --enable-lora refuses to start.",
        "vLLM은 {arch}({file})를 LoRA 지원 없이 구현합니다. vllm serve --enable-lora가 시작을 거부합니다.",
    ),
    "serving.no_lora_fix": (
        "Merge the adapter into the base model and serve the merged weights without --enable-lora.",
        "어댑터를 기본 모델에 병합하고, 병합된 가중치를 --enable-lora 없이 서빙하세요.",
    ),
    "serving.backend": (
        "{arch} is not in vLLM's model registry: vLLM would serve it through its Transformers backend "
        "({backend}) if the model supports that backend, which is not checked here.",
        "{arch}은(는) vLLM 모델 레지스트리에 없습니다. 모델이 Transformers 백엔드({backend})를 지원하면 그 백엔드로 "
        "서빙되지만, 여기서는 그 지원 여부를 확인하지 않습니다.",
    ),
    "serving.unread": (
        "vLLM defines {arch} outside its models folder; its LoRA support was not read.",
        "vLLM은 {arch}를 모델 폴더 밖에서 정의하므로 LoRA 지원 여부를 읽지 못했습니다.",
    ),
    "serving.override": (
        "The model's config declares {declared}; the command makes vLLM build {arch}, the head this plan trains.",
        "모델 설정에는 {declared}로 선언되어 있어, 명령에서 이 계획이 학습하는 헤드인 {arch}를 만들도록 지정합니다.",
    ),
    "serving.rank": (
        "The adapter's largest rank is {rank} (r and every rank_pattern value, even one that matches nothing); "
        "vLLM's `--max-lora-rank` goes up to {max}.",
        "어댑터의 최대 랭크가 {rank}입니다(r과 모든 rank_pattern 값, 아무것도 매칭하지 않는 값 포함). "
        "vLLM의 `--max-lora-rank`는 최대 {max}입니다.",
    ),
    "serving.rank_fix": ("Lower r and every rank_pattern value to {max} or less.", "r과 모든 rank_pattern 값을 {max} 이하로 낮추세요."),
    "serving.dora": ("vLLM refuses DoRA adapters (use_dora=True).", "vLLM은 DoRA 어댑터(use_dora=True)를 거부합니다."),
    "serving.dora_fix": (
        "Turn DoRA off, or merge the adapter into the base model.",
        "DoRA를 끄거나, 어댑터를 기본 모델에 병합하세요.",
    ),
    "serving.bias": (
        "vLLM refuses adapters with bias='{bias}' (\"Adapter bias is not supported\").",
        "vLLM은 bias='{bias}'인 어댑터를 거부합니다(\"Adapter bias is not supported\").",
    ),
    "serving.bias_fix": ("Set bias to none.", "bias를 none으로 두세요."),
    "serving.init": (
        "init_lora_weights='{init}' changes the base weights when PEFT loads the adapter; vLLM refuses it.",
        "init_lora_weights='{init}'은(는) PEFT가 어댑터를 불러올 때 기본 가중치를 바꾸므로 vLLM이 거부합니다.",
    ),
    "serving.init_fix": (
        "Use the default, gaussian or orthogonal init, or save with PEFT's path_initial_model_for_weight_conversion: "
        "that gives a plain LoRA of rank {rank} (`--max-lora-rank` {max}).",
        "default, gaussian, orthogonal 초기화를 쓰거나, PEFT의 path_initial_model_for_weight_conversion으로 "
        "저장하세요. 그러면 랭크 {rank}의 일반 LoRA가 됩니다(`--max-lora-rank` {max}).",
    ),
    "serving.modules_to_save": (
        "vLLM takes modules_to_save only as the `classifier`/`score` head of a classification model; "
        "this plan also saves {names}.",
        "vLLM은 modules_to_save를 분류 모델의 `classifier`/`score` 헤드로만 받습니다. 이 계획은 {names}도 저장합니다.",
    ),
    "serving.modules_to_save_fix": (
        "Remove {names} from modules_to_save (target embeddings or lm_head with LoRA where vLLM takes them), "
        "or merge the adapter.",
        "modules_to_save에서 {names}를 빼세요(임베딩이나 lm_head는 vLLM이 받는 모델에서 LoRA 대상으로). "
        "또는 어댑터를 병합하세요.",
    ),
    "serving.head": (
        "vLLM reads one classification head saved as a single layer named classifier or score; "
        "this plan saves {names}.",
        "vLLM은 classifier 또는 score라는 단일 층으로 저장된 분류 헤드 하나만 읽습니다. 이 계획은 {names}를 저장합니다.",
    ),
    "serving.head_fix": (
        "Serve a model whose head is one linear layer (classifier or score), or merge the adapter.",
        "헤드가 선형 층 하나(classifier 또는 score)인 모델을 쓰거나, 어댑터를 병합하세요.",
    ),
    "serving.embedding": (
        "vLLM's {arch} takes LoRA on these embeddings only: {allowed}; this plan adapts {names}.",
        "vLLM의 {arch}는 임베딩 중 {allowed}에만 LoRA를 받습니다. 이 계획은 {names}를 적응시킵니다.",
    ),
    "serving.embedding_fix": ("Remove {names} from the targets.", "대상에서 {names}를 빼세요."),
    "serving.conv": (
        "vLLM applies LoRA to linear, MoE and embedding layers only; the convolutions {names} make it refuse the adapter.",
        "vLLM은 선형·MoE·임베딩 층에만 LoRA를 적용합니다. 합성곱 층 {names} 때문에 어댑터를 거부합니다.",
    ),
    "serving.conv_fix": ("Remove the convolutions ({names}) from the targets.", "대상에서 합성곱 층({names})을 빼세요."),
    "serving.experts_pair": (
        "vLLM loads expert LoRA (target_parameters) only when both experts.gate_up_proj and experts.down_proj "
        "are adapted; {names} has only {present}.",
        "vLLM은 experts.gate_up_proj와 experts.down_proj를 모두 적응시킨 경우에만 전문가 LoRA(target_parameters)를 "
        "읽습니다. {names}에는 {present}만 있습니다.",
    ),
    "serving.experts_pair_fix": (
        "Target both experts.gate_up_proj and experts.down_proj, or neither.",
        "experts.gate_up_proj와 experts.down_proj를 함께 대상으로 하거나, 둘 다 빼세요.",
    ),
    "serving.experts_flag": (
        "The expert LoRA is saved in PEFT's fused 3D layout; vLLM's {arch} converts it only with "
        "--enable-mixed-moe-lora-format and is_3d_lora_weight in --lora-modules (both in the command).",
        "전문가 LoRA는 PEFT의 3D 통합 형식으로 저장됩니다. vLLM의 {arch}는 --enable-mixed-moe-lora-format과 "
        "--lora-modules의 is_3d_lora_weight가 있어야 변환합니다(명령에 둘 다 넣었습니다).",
    ),
    "serving.renamed": (
        "vLLM calls transformers' '{old}' '{new}' and looks LoRA weights up by its own names, so {n} adapted "
        "module(s) ({names}) would be silently ignored.",
        "vLLM은 transformers의 '{old}'를 '{new}'라고 부르고 LoRA 가중치를 자기 이름으로 찾으므로, 적응시킨 모듈 "
        "{n}개({names})가 조용히 무시됩니다.",
    ),
    "serving.renamed_fix": (
        "Leave the '{old}' modules out of the targets (vLLM serves the rest), or merge the adapter.",
        "'{old}' 모듈을 대상에서 빼거나(나머지는 vLLM이 서빙합니다), 어댑터를 병합하세요.",
    ),
    "serving.tower": (
        "vLLM's {arch} applies LoRA to the language model only: {n} adapted module(s) outside it ({names}) "
        "would be silently ignored.",
        "vLLM의 {arch}는 언어 모델에만 LoRA를 적용합니다. 그 밖의 모듈 {n}개({names})는 조용히 무시됩니다.",
    ),
    "serving.tower_fix": ("Target the language model's modules only.", "언어 모델의 모듈만 대상으로 하세요."),
    "serving.tower_flag": (
        "{n} adapted module(s) lie in the vision/audio tower or connector ({names}): vLLM applies them only with "
        "--enable-tower-connector-lora (experimental in vLLM), which the command includes.",
        "적응시킨 모듈 {n}개가 비전/오디오 타워나 커넥터에 있습니다({names}). vLLM은 --enable-tower-connector-lora"
        "(vLLM에서 실험 기능)가 있어야 적용하며, 명령에 넣었습니다.",
    ),
}
