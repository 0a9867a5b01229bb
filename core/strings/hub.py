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
}
