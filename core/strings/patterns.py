"""Per-module rank and alpha, exclusions, target parameters and init methods: budget sentences and warnings."""

STRINGS = {
    "budget.params_need_model": (
        "target_parameters need the model structure; load the model first.",
        "target_parameters에는 모델 구조가 필요합니다. 먼저 모델을 불러오세요.",
    ),
    "budget.param_and_module": (
        "'{name}' is a parameter of '{module}', which the targets already adapt as a module; PEFT refuses to wrap "
        "both. Drop one of them.",
        "'{name}'은(는) 대상이 이미 모듈로 적용하는 '{module}'의 파라미터라 PEFT가 둘 다 감싸기를 거부합니다. "
        "둘 중 하나를 빼세요.",
    ),
    "budget.param_dims": (
        "'{name}' is a {dims}-dimensional parameter; PEFT adapts only 2-D and 3-D parameters (weights, fused experts).",
        "'{name}'은(는) {dims}차원 파라미터입니다. PEFT는 2차원과 3차원 파라미터(가중치, 병합된 전문가)만 적용합니다.",
    ),
    "budget.init_dora": (
        "init_lora_weights '{init}' cannot be combined with DoRA (PEFT refuses the pair); turn DoRA off or use the "
        "default init.",
        "init_lora_weights '{init}'은(는) DoRA와 함께 쓸 수 없습니다(PEFT가 거부합니다). DoRA를 끄거나 기본 초기화를 "
        "쓰세요.",
    ),
    "budget.init_unsupported": (
        "init_lora_weights '{init}' does not run on '{name}' ({kind}): PEFT offers it for linear layers only. "
        "Use the default or gaussian init, or leave this layer out.",
        "init_lora_weights '{init}'은(는) '{name}'({kind})에서 동작하지 않습니다. PEFT는 선형 층에서만 지원합니다. "
        "기본 또는 gaussian 초기화를 쓰거나 이 층을 대상에서 빼세요.",
    ),
    "budget.init_embedding": (
        "init_lora_weights '{init}' does not initialize the embedding '{name}': PEFT starts it as plain LoRA and "
        "drops it when it converts the trained adapter for the original base. Leave embeddings out or use the "
        "default init.",
        "init_lora_weights '{init}'은(는) 임베딩 '{name}'을(를) 초기화하지 않습니다. PEFT는 이를 일반 LoRA로 시작하고, "
        "학습된 어댑터를 원래 기반 모델용으로 변환할 때 빠뜨립니다. 임베딩을 대상에서 빼거나 기본 초기화를 쓰세요.",
    ),
    "budget.init_transposed": (
        "init_lora_weights '{init}' cannot initialize '{name}', a weight stored transposed (GPT-2's Conv1D): PEFT's "
        "OLoRA ignores the layout and the adapted layer stops computing its base. Use PiSSA or the default init.",
        "init_lora_weights '{init}'은(는) 전치되어 저장된 가중치(GPT-2의 Conv1D)인 '{name}'을(를) 초기화할 수 없습니다. "
        "PEFT의 OLoRA는 이 배치를 무시해 적용된 층이 원래 출력을 내지 못합니다. PiSSA나 기본 초기화를 쓰세요.",
    ),
    "budget.init_even_r": (
        "Orthogonal init needs an even rank, but '{name}' gets r={r}.",
        "orthogonal 초기화에는 짝수 랭크가 필요한데 '{name}'의 r은 {r}입니다.",
    ),
    "budget.init_mica_r": (
        "MiCA init needs r ≤ {max} for '{name}' (the smaller side of its weight), but it gets r={r}.",
        "MiCA 초기화는 '{name}'에서 r ≤ {max}(가중치의 작은 쪽 크기)이어야 하는데 r은 {r}입니다.",
    ),
    "budget.warn_param_in_modules": (
        "{names} are parameters, not modules: in target_modules PEFT adapts nothing for them. "
        "Choose them as target_parameters.",
        "{names}은(는) 모듈이 아니라 파라미터라서 target_modules에 두면 PEFT가 아무것도 적용하지 않습니다. "
        "target_parameters로 고르세요.",
    ),
    "budget.warn_pattern_unmatched": (
        "{field} keys {names} match no adapted module, so PEFT ignores them silently.",
        "{field} 키 {names}은(는) 적용되는 어떤 모듈과도 일치하지 않아 PEFT가 조용히 무시합니다.",
    ),
    "budget.warn_pattern_shadowed": (
        "{field} keys {names} change nothing: every module they match takes an earlier key first (PEFT uses the "
        "first key that matches).",
        "{field} 키 {names}은(는) 아무것도 바꾸지 않습니다. 일치하는 모든 모듈이 앞선 키를 먼저 씁니다(PEFT는 처음 "
        "일치하는 키를 씁니다).",
    ),
    "budget.warn_exclude_unmatched": (
        "exclude_modules {names} remove none of the targets, so PEFT applies nothing differently for them.",
        "exclude_modules {names}은(는) 어떤 대상도 제외하지 않아 PEFT의 적용 결과가 달라지지 않습니다.",
    ),
    "budget.warn_params_unmatched": (
        "target_parameters {names} match no parameter of this model, so PEFT adapts nothing for them.",
        "target_parameters {names}은(는) 이 모델의 어떤 파라미터와도 일치하지 않아 PEFT가 아무것도 적용하지 않습니다.",
    ),
    "plan.init_rslora_patterns": (
        "init_lora_weights '{init}' with rsLoRA and a rank or alpha pattern cannot be converted to a plain LoRA "
        "adapter after training (PEFT refuses); turn rsLoRA off or drop the patterns.",
        "init_lora_weights '{init}'을(를) rsLoRA 및 rank/alpha 패턴과 함께 쓰면 학습 후 일반 LoRA 어댑터로 변환할 수 "
        "없습니다(PEFT가 거부합니다). rsLoRA를 끄거나 패턴을 빼세요.",
    ),
    "memory.note_params_untraced": (
        "LoRA on fused expert parameters is left out of the traced activations (PEFT's ParamWrapper cannot run "
        "without real weights); its small rank-sized intermediates are not counted.",
        "병합된 전문가 파라미터의 LoRA는 추적한 활성값에서 빠졌습니다(PEFT의 ParamWrapper는 실제 가중치 없이 실행되지 "
        "않습니다). 랭크 크기의 작은 중간값은 포함되지 않습니다.",
    ),
    "cli.bad_pair": (
        "{option} takes NAME=NUMBER pairs (q_proj=16); '{value}' is not one.",
        "{option}에는 NAME=숫자 쌍(q_proj=16)을 넣어야 합니다. '{value}'은(는) 그 형식이 아닙니다.",
    ),
    "plan.init_bias": (
        "init_lora_weights '{init}' with bias='{bias}' cannot be converted to a plain LoRA adapter after training "
        "(PEFT's conversion refuses trained biases); set bias to none or use the default init.",
        "init_lora_weights '{init}'을(를) bias='{bias}'와 함께 쓰면 학습 후 일반 LoRA 어댑터로 변환할 수 없습니다"
        "(PEFT의 변환이 학습된 bias를 거부합니다). bias를 none으로 하거나 기본 초기화를 쓰세요.",
    ),
}
