"""The Inspect page."""

STRINGS = {
    "inspect.title": ("Inspect a model", "모델 살펴보기"),
    "inspect.intro": (
        "Pick a model: LoRA Lens lists every layer LoRA can adapt and explains what each does. "
        "Only the config is read — no weights are downloaded.",
        "모델을 고르면 LoRA를 적용할 수 있는 모든 층과 각 층의 역할을 보여 줍니다. "
        "설정 파일(config.json)만 읽으며 가중치는 내려받지 않습니다.",
    ),
    "inspect.source": ("Source", "출처"),
    "inspect.src_embedded": ("Embedded (real weights, offline)", "내장 모델 (실제 가중치, 오프라인)"),
    "inspect.src_catalog": ("Catalog (configs)", "카탈로그 (설정)"),
    "inspect.src_hub": ("Hugging Face Hub id", "Hugging Face Hub ID"),
    "inspect.src_local": ("Local folder", "로컬 폴더"),
    "inspect.pick_catalog": ("Model", "모델"),
    "inspect.hub_id": ("Hub id (owner/name)", "Hub ID (owner/name)"),
    "inspect.token": ("Access token (for gated models; kept in memory for this session only)", "액세스 토큰 (gated 모델용, 이 세션의 메모리에만 보관)"),
    "inspect.local_path": ("Folder with config.json", "config.json이 있는 폴더"),
    "inspect.task": ("Task", "작업"),
    "inspect.task_auto": ("auto (from config)", "자동 (설정 파일 기준)"),
    "inspect.load": ("Inspect", "살펴보기"),
    "inspect.loading": ("Building the model on the meta device…", "메타 디바이스에 모델 구조를 만드는 중…"),
    "inspect.total_params": ("Total parameters", "전체 파라미터"),
    "inspect.blocks": ("Blocks", "블록 수"),
    "inspect.hidden": ("Hidden size", "히든 크기"),
    "inspect.adaptable": ("Adaptable modules", "적용 가능한 모듈"),
    "inspect.groups": ("Module groups: what each does", "모듈 그룹과 역할"),
    "inspect.towers": ("Towers: the sub-models this model is made of", "타워: 이 모델을 이루는 하위 모델"),
    "inspect.where": ("Where the adaptable parameters live", "적용 가능한 파라미터의 분포"),
    "inspect.all_layers": ("Every adaptable module ({n})", "적용 가능한 모든 모듈 ({n}개)"),
    "inspect.download_csv": ("Download the layer table (CSV)", "층 표 내려받기 (CSV)"),
    "inspect.note": ("About this model", "이 모델에 대해"),
    "inspect.empty_input": ("Enter a value first.", "먼저 값을 입력하세요."),
}
