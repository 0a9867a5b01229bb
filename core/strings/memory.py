"""Messages of the training-memory estimate."""

STRINGS = {
    "memory.bad_precision": (
        "Unknown precision '{precision}'. Choose one of: {choices}.",
        "알 수 없는 정밀도 '{precision}'입니다. 다음 중에서 고르세요: {choices}.",
    ),
    "memory.bad_optimizer": (
        "Unknown optimizer '{optimizer}'. Choose one of: {choices}.",
        "알 수 없는 옵티마이저 '{optimizer}'입니다. 다음 중에서 고르세요: {choices}.",
    ),
    "memory.bad_device": (
        "Unknown device '{device}'. Choose one of: {choices}.",
        "알 수 없는 장치 '{device}'입니다. 다음 중에서 고르세요: {choices}.",
    ),
    "memory.bad_batch": (
        "Batch size must be a whole number of at least 1 (got {value}).",
        "배치 크기는 1 이상의 정수여야 합니다(입력값: {value}).",
    ),
    "memory.bad_seq_len": (
        "Sequence length must be a whole number of at least 1 (got {value}).",
        "시퀀스 길이는 1 이상의 정수여야 합니다(입력값: {value}).",
    ),
    "memory.too_many_tokens": (
        "Batch size × sequence length is {tokens:,} tokens per step; the limit is {max:,}. Lower one of them.",
        "배치 크기 × 시퀀스 길이가 스텝당 {tokens:,} 토큰입니다. 한도는 {max:,}입니다. 둘 중 하나를 줄이세요.",
    ),
    "memory.seq_too_long": (
        "Sequence length {seq_len:,} is longer than the model's maximum of {max:,} positions.",
        "시퀀스 길이 {seq_len:,}이(가) 모델의 최대 위치 수 {max:,}보다 깁니다.",
    ),
    "memory.unknown_gpu": (
        "Unknown GPU '{gpu}'. Known: {choices}.",
        "알 수 없는 GPU '{gpu}'입니다. 지원 목록: {choices}.",
    ),
    "memory.note_cuda_only": (
        "{precision} needs bitsandbytes on a CUDA GPU: the estimate is valid, but this app cannot train it on CPU.",
        "{precision}은(는) CUDA GPU에서 bitsandbytes가 있어야 합니다. 추정은 유효하지만 이 앱은 CPU에서 학습할 수 없습니다.",
    ),
    "memory.note_bf16": (
        "bf16 needs an Ampere or newer GPU (A10G, L4, A100, H100); a T4 has no bf16, use fp16 there.",
        "bf16은 Ampere 이상 GPU(A10G, L4, A100, H100)가 필요합니다. T4는 bf16을 지원하지 않으니 fp16을 쓰세요.",
    ),
    "memory.note_fp16": (
        "fp16 training needs loss scaling (the Trainer's fp16=True does it) and can overflow; prefer bf16 where the GPU has it.",
        "fp16 학습에는 손실 스케일링이 필요하며(Trainer의 fp16=True가 처리) 오버플로가 날 수 있습니다. 지원되면 bf16을 쓰세요.",
    ),
    "memory.note_no_config": (
        "The model config is unknown, so the activation estimate is rough.",
        "모델 설정을 알 수 없어 활성화 메모리 추정이 대략적입니다.",
    ),
    "memory.note_rough": (
        "This architecture could not be traced on the meta device, so the activation estimate uses a per-block formula.",
        "이 아키텍처는 meta 장치에서 추적할 수 없어 활성화 추정에 블록 단위 공식을 사용합니다.",
    ),
    "memory.comp.weights": ("Base weights", "기본 가중치"),
    "memory.comp.adapter": ("Trainable weights", "학습 가중치"),
    "memory.comp.gradients": ("Gradients", "그래디언트"),
    "memory.comp.optimizer": ("Optimizer states", "옵티마이저 상태"),
    "memory.comp.activations": ("Activations", "활성화"),
    "memory.comp.loss": ("Logits and loss buffers", "로짓·손실 버퍼"),
    "memory.comp.overhead": ("CUDA context and overhead", "CUDA 컨텍스트·오버헤드"),
    "memory.chart.title": ("Estimated training memory", "예상 학습 메모리"),
    "memory.chart.estimate": ("Estimate", "추정"),
    "memory.cli.bad_layers": (
        "--layers takes block numbers separated by commas, like 0,2,5 (got '{value}').",
        "--layers에는 쉼표로 구분한 블록 번호를 넣으세요. 예: 0,2,5 (입력값: '{value}').",
    ),
    "memory.cli.bad_target": (
        "--target takes short names (q_proj v_proj), one regex, or all-linear — not a regex mixed with names.",
        "--target에는 짧은 이름(q_proj v_proj), 정규식 하나, 또는 all-linear를 넣으세요. 정규식과 이름을 섞을 수 없습니다.",
    ),
}
