"""Hub strings: gated or missing datasets, and the memory check that runs before any weights are downloaded."""

STRINGS = {
    "trainpage.data_hub_split": ("Split", "분할"),
    "data.hub_gated": (
        "Dataset “{dataset_id}” is gated: accept its conditions on the Hugging Face Hub, then enter a token that has access.",
        "“{dataset_id}” 데이터셋은 접근이 제한되어(gated) 있습니다. Hugging Face Hub에서 이용 조건에 동의한 뒤 권한이 있는 토큰을 입력해 주세요.",
    ),
    "data.hub_no_split": (
        "Dataset “{dataset_id}” has no such split: {detail}",
        "“{dataset_id}” 데이터셋에 그런 분할이 없습니다: {detail}",
    ),
    # Fit before download (core/training/preflight.py).
    "train.wont_fit": (
        "This run needs about {needed} of {device} memory but only {available} is free here: it fits with gradient checkpointing on, batch size {batch} and sequences of {seq_len} tokens (about {fit_needed}).",
        "이 학습에는 {device} 메모리가 약 {needed} 필요하지만 여기에는 {available}만 남아 있습니다. 그래디언트 체크포인팅을 켜고 배치 크기 {batch}, 시퀀스 길이 {seq_len} 토큰으로 줄이면 들어갑니다(약 {fit_needed}).",
    ),
    "train.wont_fit_model": (
        "This run needs about {needed} of {device} memory but only {available} is free here, and even with gradient checkpointing, batch size 1 and {seq_len}-token sequences it needs {least}: pick a smaller model.",
        "이 학습에는 {device} 메모리가 약 {needed} 필요하지만 여기에는 {available}만 남아 있고, 그래디언트 체크포인팅·배치 크기 1·시퀀스 {seq_len} 토큰으로도 {least}가 필요합니다. 더 작은 모델을 고르세요.",
    ),
    "train.wont_fit_model_nf4": (
        "This run needs about {needed} of {device} memory but only {available} is free here, and even with gradient checkpointing, batch size 1 and {seq_len}-token sequences it needs {least}: pick a smaller model, or train a 4-bit (nf4, QLoRA) base in your own setup (about {nf4_needed}).",
        "이 학습에는 {device} 메모리가 약 {needed} 필요하지만 여기에는 {available}만 남아 있고, 그래디언트 체크포인팅·배치 크기 1·시퀀스 {seq_len} 토큰으로도 {least}가 필요합니다. 더 작은 모델을 고르거나, 직접 4비트(nf4, QLoRA) 기반 모델로 학습하세요(약 {nf4_needed}).",
    ),
}
