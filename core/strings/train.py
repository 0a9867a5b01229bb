"""Training, jobs, playground, export and safe-zip strings."""

STRINGS = {
    # Run status, for the UI.
    "train.status.queued": ("Waiting in line", "대기 중"),
    "train.status.running": ("Training", "학습 중"),
    "train.status.done": ("Finished", "완료"),
    "train.status.stopped": ("Stopped (adapter kept)", "중지됨 (어댑터 보존)"),
    "train.status.failed": ("Failed", "실패"),
    # Settings.
    "train.bad_setting": (
        "“{name}” must be a number from {low} to {high}; got {value}.",
        "“{name}” 값은 {low}부터 {high} 사이의 숫자여야 합니다. 입력값: {value}.",
    ),
    "train.bad_lr": (
        "The learning rate must be above 0 and at most 1; got {value}.",
        "학습률은 0보다 크고 1 이하여야 합니다. 입력값: {value}.",
    ),
    "train.bad_precision": (
        "Unknown precision “{value}”. Choose one of: {options}.",
        "알 수 없는 정밀도 “{value}”입니다. 다음 중에서 골라 주세요: {options}.",
    ),
    "train.precision_needs_gpu": (
        "{value} training needs a CUDA GPU; this machine has none. Use “auto” or “fp32”.",
        "{value} 학습에는 CUDA GPU가 필요한데 이 컴퓨터에는 없습니다. “auto” 또는 “fp32”를 사용해 주세요.",
    ),
    "train.bf16_unsupported": (
        "This GPU does not support bf16. Use “auto” or “fp16”.",
        "이 GPU는 bf16을 지원하지 않습니다. “auto” 또는 “fp16”을 사용해 주세요.",
    ),
    # Model and data.
    "train.no_weights": (
        "“{name}” has no weights here (the catalog holds configs only). Train an embedded model, a local folder with weights, or a Hub model.",
        "“{name}”에는 여기서 쓸 수 있는 가중치가 없습니다(카탈로그에는 설정 파일만 있습니다). 내장 모델, 가중치가 있는 로컬 폴더, 또는 Hub 모델로 학습해 주세요.",
    ),
    "train.no_tokenizer": (
        "Could not load a tokenizer for “{name}”: {detail}",
        "“{name}”의 토크나이저를 불러오지 못했습니다: {detail}",
    ),
    "train.no_pad_token": (
        "The tokenizer of “{name}” has no padding, end or unknown token to pad batches with.",
        "“{name}” 토크나이저에 배치 패딩에 쓸 pad, eos, unk 토큰이 없습니다.",
    ),
    "train.task_unsupported": (
        "Training supports “causal-lm” and “seq-cls”, not “{task}”.",
        "학습은 “causal-lm”과 “seq-cls” 작업만 지원합니다. “{task}”는 지원하지 않습니다.",
    ),
    "train.task_mismatch": (
        "The model was chosen for “{model_task}” but the LoRA plan is for “{task}”.",
        "모델은 “{model_task}” 작업으로 선택되었는데 LoRA 계획은 “{task}” 작업용입니다.",
    ),
    "train.load_failed": (
        "Could not load the weights of “{name}”: {detail}",
        "“{name}”의 가중치를 불러오지 못했습니다: {detail}",
    ),
    "train.need_two_labels": (
        "Classification needs at least two different labels; the data has {count}.",
        "분류 학습에는 서로 다른 레이블이 두 개 이상 필요한데, 데이터에는 {count}개뿐입니다.",
    ),
    "train.missing_response": (
        "Some rows of “{name}” have no response; text generation needs a prompt and a response in every row.",
        "“{name}”의 일부 행에 응답이 없습니다. 텍스트 생성 학습에는 모든 행에 프롬프트와 응답이 필요합니다.",
    ),
    "train.missing_label": (
        "Some rows of “{name}” have no label; classification needs a label in every row.",
        "“{name}”의 일부 행에 레이블이 없습니다. 분류 학습에는 모든 행에 레이블이 필요합니다.",
    ),
    "train.too_few_rows": (
        "There are only {count} usable training rows; at least 2 are needed.",
        "사용할 수 있는 학습 행이 {count}개뿐입니다. 최소 2개가 필요합니다.",
    ),
    "train.peft_failed": (
        "PEFT could not apply this LoRA plan to the model: {detail}",
        "PEFT가 이 LoRA 계획을 모델에 적용하지 못했습니다: {detail}",
    ),
    "train.no_data_file": (
        "“{name}” is neither a bundled dataset ({bundled}) nor an existing file.",
        "“{name}”은(는) 내장 데이터셋({bundled})도 아니고 존재하는 파일도 아닙니다.",
    ),
    "train.no_column": (
        "Could not find a {wanted} column. Columns in the file: {available}. Name them with --text-col / --target-col.",
        "{wanted} 열을 찾지 못했습니다. 파일의 열: {available}. --text-col / --target-col로 지정해 주세요.",
    ),
    # Failures during a run.
    "train.oom": (
        "Out of memory. Try a smaller batch (now {batch}), a shorter sequence length (now {seq_len}) or a smaller rank r (now {r}).",
        "메모리가 부족합니다. 배치 크기(현재 {batch}), 시퀀스 길이(현재 {seq_len}) 또는 랭크 r(현재 {r})을 줄여 보세요.",
    ),
    "train.diverged": (
        "Training diverged at step {step} (the loss became NaN or infinite). Lower the learning rate and try again.",
        "{step}단계에서 학습이 발산했습니다(손실이 NaN 또는 무한대가 됨). 학습률을 낮춰 다시 시도해 주세요.",
    ),
    # Jobs.
    "train.no_owner": ("A training job needs an owner session.", "학습 작업에는 소유자 세션이 필요합니다."),
    "train.no_job": (
        "This training run does not exist or belongs to someone else.",
        "이 학습 실행은 존재하지 않거나 다른 사용자의 것입니다.",
    ),
    "train.job_busy": (
        "This run is still queued or training; stop it first.",
        "이 실행은 아직 대기 중이거나 학습 중입니다. 먼저 중지해 주세요.",
    ),
    "train.interrupted": (
        "The server restarted while this run was in progress; start it again.",
        "이 실행이 진행되는 동안 서버가 다시 시작되었습니다. 다시 시작해 주세요.",
    ),
    "train.bad_run_file": (
        "The saved files of this run are damaged or too large (“{name}”); it cannot be opened.",
        "이 실행의 저장 파일이 손상되었거나 너무 큽니다(“{name}”). 열 수 없습니다.",
    ),
    "train.save_failed": (
        "Could not write this run's files: {detail}",
        "이 실행의 파일을 쓰지 못했습니다: {detail}",
    ),
    "train.not_finished": (
        "This run has no adapter yet: wait until it finishes.",
        "이 실행에는 아직 어댑터가 없습니다. 학습이 끝날 때까지 기다려 주세요.",
    ),
    # Playground.
    "train.empty_prompt": ("Type some text first.", "먼저 텍스트를 입력해 주세요."),
    "train.prompt_too_long": (
        "The text is too long for the playground (at most {limit} characters).",
        "플레이그라운드에 넣기에는 텍스트가 너무 깁니다(최대 {limit}자).",
    ),
    "train.wrong_playground": (
        "This playground does not fit a “{task}” adapter.",
        "이 플레이그라운드는 “{task}” 어댑터에 맞지 않습니다.",
    ),
    # Export and the Hub.
    "train.merge_too_big": (
        "Merging is offered only up to {limit:,} parameters; this model has {params:,}. Download the adapter instead.",
        "병합은 파라미터 {limit:,}개까지만 제공됩니다. 이 모델은 {params:,}개입니다. 대신 어댑터를 내려받아 주세요.",
    ),
    "train.hub_bad_repo": (
        "“{repo_id}” is not a valid Hub repository id; use “user-or-org/name”.",
        "“{repo_id}”은(는) 올바른 Hub 저장소 ID가 아닙니다. “사용자-또는-조직/이름” 형식을 사용해 주세요.",
    ),
    "train.hub_no_token": (
        "Pushing to the Hub needs a write token.",
        "Hub에 올리려면 쓰기 권한 토큰이 필요합니다.",
    ),
    "train.hub_offline": (
        "The Hugging Face Hub cannot be reached from this server. Download the adapter zip and upload it yourself.",
        "이 서버에서는 Hugging Face Hub에 연결할 수 없습니다. 어댑터 zip을 내려받아 직접 올려 주세요.",
    ),
    "train.hub_unauthorized": (
        "The Hub refused the token for “{repo_id}”: check that it is a write token for that user or organization.",
        "Hub가 “{repo_id}”에 대한 토큰을 거부했습니다. 해당 사용자 또는 조직의 쓰기 권한 토큰인지 확인해 주세요.",
    ),
    "train.hub_failed": (
        "The Hub answered with error {status} while uploading to “{repo_id}”.",
        "“{repo_id}”에 올리는 중 Hub가 오류 {status}를 반환했습니다.",
    ),
    # Safe zip reading (core.adapters.zip_io).
    "zip.bad_zip": ("This is not a readable zip file ({detail}).", "읽을 수 있는 zip 파일이 아닙니다 ({detail})."),
    "zip.file_too_large": (
        "The zip file is {size}, larger than the {limit} limit.",
        "zip 파일 크기({size})가 제한({limit})을 넘습니다.",
    ),
    "zip.unsafe_path": (
        "The zip entry “{name}” points outside its folder (“..” or an absolute path); the file is refused.",
        "zip 항목 “{name}”이(가) 폴더 밖을 가리켜서(“..” 또는 절대 경로) 파일을 거부했습니다.",
    ),
    "zip.symlink": (
        "The zip entry “{name}” is a symbolic link; links are not allowed in an adapter upload.",
        "zip 항목 “{name}”은(는) 심볼릭 링크입니다. 어댑터 업로드에는 링크를 넣을 수 없습니다.",
    ),
    "zip.too_many_entries": (
        "The zip holds {count} files; an adapter needs only a few (the limit is {limit}).",
        "zip 파일에 파일이 {count}개 들어 있습니다. 어댑터에는 몇 개면 충분합니다 (제한: {limit}개).",
    ),
    "zip.too_large": (
        "The zip would unpack to more than {limit}; it is refused (possible zip bomb).",
        "zip 압축을 풀면 {limit}를 넘게 되어 거부했습니다 (압축 폭탄일 수 있습니다).",
    ),
    "zip.ratio": (
        "The zip entry “{name}” inflates more than {limit}× its packed size; it is refused (possible zip bomb).",
        "zip 항목 “{name}”은(는) 압축을 풀면 {limit}배 넘게 커져서 거부했습니다 (압축 폭탄일 수 있습니다).",
    ),
}
