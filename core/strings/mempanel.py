"""The memory planner panel."""

STRINGS = {
    "mempanel.title": ("Memory needed to train this plan", "이 계획을 학습하는 데 필요한 메모리"),
    "mempanel.precision": ("Base weights precision", "기본 가중치 정밀도"),
    "mempanel.precision_help": (
        "fp32/bf16/fp16 as loaded; int8 and nf4 (QLoRA) quantize the Linear weights with bitsandbytes (CUDA only).",
        "fp32/bf16/fp16은 그대로 불러오고, int8·nf4(QLoRA)는 bitsandbytes로 Linear 가중치를 양자화합니다(CUDA 전용).",
    ),
    "mempanel.batch": ("Batch size", "배치 크기"),
    "mempanel.seq": ("Sequence length", "시퀀스 길이"),
    "mempanel.seq_from_text": (
        "Tokens per example. Starts at {n}: the model's text positions (at most 512); a value you type is kept.",
        "예제 하나의 토큰 수입니다. 모델의 텍스트 위치 수(최대 512)에 따라 {n}에서 시작하며, 직접 입력한 값은 그대로 유지됩니다.",
    ),
    "mempanel.seq_from_patches": (
        "Tokens per example. Starts at {n}: the image patches the vision tower sees (image size / patch size, "
        "squared); a value you type is kept.",
        "예제 하나의 토큰 수입니다. 비전 타워가 보는 이미지 패치 수(이미지 크기 / 패치 크기의 제곱)에 따라 {n}에서 "
        "시작하며, 직접 입력한 값은 그대로 유지됩니다.",
    ),
    "mempanel.seq_from_default": (
        "Tokens per example. Starts at {n}, since the model's config states no maximum; a value you type is kept.",
        "예제 하나의 토큰 수입니다. 모델 설정에 최대 길이가 없어 {n}에서 시작하며, 직접 입력한 값은 그대로 유지됩니다.",
    ),
    "mempanel.ckpt": ("Gradient checkpointing", "그래디언트 체크포인팅"),
    "mempanel.total": ("Estimated peak", "예상 최대 메모리"),
    "mempanel.component": ("Component", "구성 요소"),
    "mempanel.bytes": ("Memory", "메모리"),
    "mempanel.gpu": ("GPU", "GPU"),
    "mempanel.gpu_memory": ("GPU memory", "GPU 메모리"),
    "mempanel.fits": ("fits", "가능"),
    "mempanel.no_fit": ("does not fit", "부족"),
    "mempanel.this_plan": ("This plan", "이 계획"),
    "mempanel.assumptions": (
        "Assumptions: LoRA weights, gradients and AdamW states in fp32 (PEFT's default); 500 MiB CUDA context. "
        "Weights, adapter, gradients and optimizer are exact; activations are what autograd saves for backward.",
        "가정: LoRA 가중치·그래디언트·AdamW 상태는 fp32(PEFT 기본값), CUDA 컨텍스트 500 MiB. "
        "가중치·어댑터·그래디언트·옵티마이저는 정확한 값이며, 활성화는 autograd가 역전파용으로 저장하는 텐서입니다.",
    ),
    "mempanel.assumed": (
        "Activations assume `{attention}` attention (`{kernel}` kernel on `{device}`: {saves}), saved in `{dtype}`, "
        "gradient checkpointing {ckpt}; {method}.",
        "활성화 가정: `{attention}` 어텐션(`{device}`의 `{kernel}` 커널: {saves}), 저장 자료형 `{dtype}`, "
        "그래디언트 체크포인팅 {ckpt}; {method}.",
    ),
    "mempanel.saves.scores": ("keeps the s×s probabilities per head", "헤드마다 s×s 확률 행렬을 저장"),
    "mempanel.saves.lse": ("keeps only output and `logsumexp`", "출력과 `logsumexp`만 저장"),
    "mempanel.ckpt.non-reentrant": (
        "on, non-reentrant (`use_reentrant=False`, as the Trainer runs it)",
        "켬, 비재진입 방식(`use_reentrant=False`, Trainer가 쓰는 방식)",
    ),
    "mempanel.ckpt.reentrant": ("on, reentrant (`use_reentrant=True`)", "켬, 재진입 방식(`use_reentrant=True`)"),
    "mempanel.off": ("off", "끔"),
    "mempanel.method.traced": (
        "counted from the model's own forward on the `meta` device (shapes only)",
        "모델 자체의 순전파로 계산(`meta` 장치, 모양만 사용)",
    ),
    "mempanel.method.rough": ("estimated with a per-block formula", "블록 단위 공식으로 추정"),
}
