"""Analysis strings: ΔW anatomy, embeddings before/after, adapter upload, the analyze CLI."""

STRINGS = {
    # ΔW anatomy.
    "analysis.no_lora_modules": (
        "This adapter has no LoRA weights (no lora_A/lora_B tensors), so there is nothing to analyse.",
        "이 어댑터에는 LoRA 가중치(lora_A/lora_B 텐서)가 없어 분석할 내용이 없습니다.",
    ),
    "analysis.unsupported_layer": (
        "The adapted module “{module}” is a {kind} layer, which the ΔW analysis does not support yet.",
        "어댑터가 적용된 모듈 “{module}”은(는) {kind} 레이어라서 아직 ΔW 분석을 지원하지 않습니다.",
    ),
    "analysis.incomplete_adapter": (
        "The adapter is incomplete: module “{module}” has only one of its two LoRA matrices (A and B).",
        "어댑터가 불완전합니다. 모듈 “{module}”에 LoRA 행렬 A와 B 중 하나만 들어 있습니다.",
    ),
    "analysis.wrong_base": (
        (
            "This adapter was not trained on this base model: “{module}” does not fit ({detail}). "
            "Check base_model_name_or_path in adapter_config.json."
        ),
        (
            "이 어댑터는 이 기반 모델로 학습된 것이 아닙니다. “{module}”이(가) 맞지 않습니다 ({detail}). "
            "adapter_config.json의 base_model_name_or_path를 확인해 주세요."
        ),
    ),
    "analysis.config_mismatch": (
        "adapter_config.json does not target modules the weights file contains (for example {modules}).",
        "adapter_config.json의 대상 모듈이 가중치 파일에 든 모듈과 다릅니다 (예: {modules}).",
    ),
    # Charts.
    "analysis.chart.heatmap_title": ("How big is each update? ‖ΔW‖ / ‖W‖", "업데이트 크기: ‖ΔW‖ / ‖W‖"),
    "analysis.chart.block": ("Block", "블록"),
    "analysis.chart.module_group": ("Module group", "모듈 그룹"),
    "analysis.chart.outside_blocks": ("outside blocks", "블록 밖"),
    "analysis.chart.spectrum_title": (
        "Singular values of ΔW (effective rank {erank} of r = {r})<br>{module}",
        "ΔW의 특잇값 (유효 랭크 {erank} / r = {r})<br>{module}",
    ),
    "analysis.chart.singular_index": ("Index i", "순번 i"),
    "analysis.chart.singular_value": ("Singular value σᵢ", "특잇값 σᵢ"),
    "analysis.chart.energy": ("cumulative energy", "누적 에너지"),
    "analysis.chart.erank_title": ("How many directions does each module group use?", "모듈 그룹별로 몇 개의 방향을 쓰나요?"),
    "analysis.chart.effective_rank": ("Effective rank", "유효 랭크"),
    "analysis.chart.before": ("Before (base model)", "적용 전 (기반 모델)"),
    "analysis.chart.after": ("After (with adapter)", "적용 후 (어댑터 포함)"),
    "analysis.chart.tsne_title": ("Sentence embeddings, t-SNE", "문장 임베딩, t-SNE"),
    "analysis.chart.pca_title": ("Sentence embeddings, PCA", "문장 임베딩, PCA"),
    "analysis.chart.label": ("Label", "레이블"),
    "analysis.tsne_howto": (
        (
            "**What t-SNE can show**: which texts are near neighbours, and whether texts with one label sit "
            "together. **What it cannot**: the distances between groups, their sizes or densities mean little, and "
            "another perplexity or seed can move the groups around. Trust the silhouette and k-NN scores, which are "
            "measured in the original embedding space, for a verdict; use the picture for examples."
        ),
        (
            "**t-SNE로 알 수 있는 것**: 어떤 텍스트끼리 가까운 이웃인지, 같은 레이블의 텍스트가 모여 있는지. "
            "**알 수 없는 것**: 묶음 사이의 거리나 묶음의 크기·밀도에는 큰 의미가 없고, perplexity나 시드를 바꾸면 "
            "묶음의 위치가 달라질 수 있습니다. 판단은 원래 임베딩 공간에서 계산한 실루엣 점수와 k-NN 정확도로, "
            "그림은 예시를 보는 데 쓰세요."
        ),
    ),
    # Embeddings.
    "analysis.sample_too_large": (
        "Cannot take a sample of {n}: the dataset has only {total} examples.",
        "표본 {n}개를 뽑을 수 없습니다. 데이터셋에 예제가 {total}개뿐입니다.",
    ),
    "analysis.sample_too_small": (
        "A sample of {n} is too small to compare embeddings; use at least 3 examples.",
        "표본 {n}개로는 임베딩을 비교하기에 너무 적습니다. 최소 3개 이상 사용해 주세요.",
    ),
    "analysis.bad_layer": (
        "Layer {layer} does not exist: choose from 0 (token embeddings) to {max} (last block), or -1 for the last.",
        "{layer}번 레이어는 없습니다. 0(토큰 임베딩)부터 {max}(마지막 블록) 사이, 또는 마지막 레이어를 뜻하는 -1을 골라 주세요.",
    ),
    "analysis.bad_pooling": (
        "Unknown pooling “{pooling}”; use one of: {options}.",
        "알 수 없는 풀링 방식 “{pooling}”입니다. 다음 중 하나를 사용해 주세요: {options}.",
    ),
    "analysis.cls_needs_encoder": (
        "[CLS] pooling needs an encoder model with a [CLS] token (such as BERT); use mean pooling for this model.",
        "[CLS] 풀링은 [CLS] 토큰이 있는 인코더 모델(예: BERT)에서만 쓸 수 있습니다. 이 모델에는 평균 풀링을 사용해 주세요.",
    ),
    "analysis.not_peft_model": (
        "Before/after embeddings need a model with a LoRA adapter attached (a PeftModel).",
        "적용 전/후 임베딩을 비교하려면 LoRA 어댑터가 붙은 모델(PeftModel)이 필요합니다.",
    ),
    "analysis.bad_projection": (
        "Unknown projection “{method}”; use one of: {options}.",
        "알 수 없는 투영 방식 “{method}”입니다. 다음 중 하나를 사용해 주세요: {options}.",
    ),
    "analysis.bad_perplexity": (
        "Perplexity must be greater than 0 and smaller than the number of points ({n}); got {perplexity}.",
        "perplexity는 0보다 크고 점의 개수({n})보다 작아야 합니다. 입력한 값: {perplexity}.",
    ),
    "analysis.no_labels": (
        "Scores need a label for every example, and some examples have none.",
        "점수를 계산하려면 모든 예제에 레이블이 있어야 하는데, 레이블이 없는 예제가 있습니다.",
    ),
    "analysis.label_count": (
        "There are {n} embeddings but {labels} labels; they must match one to one.",
        "임베딩은 {n}개인데 레이블은 {labels}개입니다. 개수가 서로 같아야 합니다.",
    ),
    "analysis.need_two_labels": (
        "Scores need at least 2 different labels and fewer labels than examples; found {classes} labels in {n} examples.",
        "점수를 계산하려면 서로 다른 레이블이 2개 이상이고 예제 수보다 적어야 합니다. 예제 {n}개에 레이블 {classes}개가 있습니다.",
    ),
    # Adapter upload.
    "analysis.many_adapters": (
        "The zip holds {count} adapter_config.json files; upload one adapter at a time.",
        "zip 파일에 adapter_config.json이 {count}개 있습니다. 어댑터는 한 번에 하나씩 올려 주세요.",
    ),
    "analysis.no_folder": ("There is no adapter folder at “{path}”.", "“{path}”에 어댑터 폴더가 없습니다."),
    "analysis.no_config": (
        "No adapter_config.json found. Upload the folder PEFT's save_pretrained() wrote, zipped.",
        "adapter_config.json이 없습니다. PEFT의 save_pretrained()가 만든 폴더를 zip으로 묶어 올려 주세요.",
    ),
    "analysis.bad_config": (
        "adapter_config.json could not be read ({detail}).",
        "adapter_config.json을 읽을 수 없습니다 ({detail}).",
    ),
    "analysis.not_lora": (
        "This is a “{peft_type}” adapter, not LoRA. LoRA Lens analyses LoRA adapters only (prefix tuning, IA³ and others are not supported).",
        "이 어댑터는 LoRA가 아니라 “{peft_type}” 방식입니다. LoRA Lens는 LoRA 어댑터만 분석합니다 (프리픽스 튜닝, IA³ 등은 지원하지 않습니다).",
    ),
    "analysis.unsupported_task": (
        "The adapter's task type “{task}” is not supported; use causal language modelling, sequence classification or feature extraction.",
        "어댑터의 작업 유형 “{task}”은(는) 지원하지 않습니다. 인과 언어 모델링, 문장 분류, 특징 추출 어댑터를 사용해 주세요.",
    ),
    "analysis.no_weights": (
        "No adapter_model.safetensors found next to adapter_config.json.",
        "adapter_config.json 옆에 adapter_model.safetensors 파일이 없습니다.",
    ),
    "analysis.bad_safetensors": (
        "adapter_model.safetensors is damaged or not a safetensors file ({detail}).",
        "adapter_model.safetensors 파일이 손상되었거나 safetensors 형식이 아닙니다 ({detail}).",
    ),
    "analysis.bad_bin": (
        "adapter_model.bin was refused: it holds more than plain tensors or is damaged ({detail}). Save the adapter as safetensors.",
        "adapter_model.bin을 거부했습니다. 순수 텐서 외의 내용이 있거나 손상되었습니다 ({detail}). 어댑터를 safetensors로 저장해 주세요.",
    ),
    "analysis.no_base": (
        "adapter_config.json does not name its base model (base_model_name_or_path is empty).",
        "adapter_config.json에 기반 모델 이름(base_model_name_or_path)이 비어 있습니다.",
    ),
    "analysis.base_unavailable": (
        "The base model “{name}” is not available here. Adapters for these models can be analysed: {options}.",
        "기반 모델 “{name}”은(는) 여기서 쓸 수 없습니다. 다음 모델용 어댑터를 분석할 수 있습니다: {options}.",
    ),
    "analysis.base_load_failed": (
        "The base model “{name}” could not be loaded ({detail}).",
        "기반 모델 “{name}”을(를) 불러오지 못했습니다 ({detail}).",
    ),
    # CLI.
    "analysis.cli.modules": ("ΔW per adapted module", "어댑터 적용 모듈별 ΔW"),
    "analysis.cli.scores": (
        "Label separation on {n} examples of {data} (layer {layer}, {pooling} pooling)",
        "{data}의 예제 {n}개에서 본 레이블 분리도 (레이어 {layer}, {pooling} 풀링)",
    ),
    "analysis.cli.no_scores": ("No scores: {reason}", "점수 없음: {reason}"),
    "analysis.cli.bad_data": (
        "“{name}” is neither a bundled dataset ({available}) nor a readable file.",
        "“{name}”은(는) 내장 데이터셋({available})도 아니고 읽을 수 있는 파일도 아닙니다.",
    ),
}
