"""The Analyze page."""

STRINGS = {
    "analyzepage.title": ("What did the adapter learn?", "어댑터는 무엇을 배웠나?"),
    "analyzepage.intro": (
        "Embeddings before and after (t-SNE or PCA, with scores computed in the original space), and the anatomy of every ΔW = scaling·B·A.",
        "적용 전후 임베딩(t-SNE 또는 PCA, 점수는 원래 공간에서 계산)과 모든 ΔW = scaling·B·A의 구조를 봅니다.",
    ),
    "analyzepage.source": ("Adapter", "어댑터"),
    "analyzepage.src_job": ("Trained in this session", "이 세션에서 학습한 어댑터"),
    "analyzepage.src_upload": ("Upload an adapter (.zip)", "어댑터 업로드 (.zip)"),
    "analyzepage.no_job": ("No finished run yet: train one on the Train page, or upload an adapter.", "아직 완료된 학습이 없습니다. 학습 페이지에서 학습하거나 어댑터를 업로드하세요."),
    "analyzepage.upload": ("Adapter zip (adapter_config.json + adapter_model.safetensors)", "어댑터 zip (adapter_config.json + adapter_model.safetensors)"),
    "analyzepage.loading": ("Loading the base model and the adapter…", "기본 모델과 어댑터를 불러오는 중…"),
    "analyzepage.loaded": ("Loaded a LoRA adapter on {base} ({task}).", "{base}({task})에 LoRA 어댑터를 불러왔습니다."),
    "analyzepage.emb": ("Embeddings before and after", "적용 전후 임베딩"),
    "analyzepage.data": ("Texts to embed", "임베딩할 텍스트"),
    "analyzepage.sample": ("Sample size", "샘플 크기"),
    "analyzepage.method": ("Projection", "투영 방법"),
    "analyzepage.perplexity": ("Perplexity", "퍼플렉시티"),
    "analyzepage.seed": ("Seed", "시드"),
    "analyzepage.layer": ("Layer (-1 = last)", "층 (-1 = 마지막)"),
    "analyzepage.pooling": ("Pooling", "풀링"),
    "analyzepage.compute": ("Compute embeddings", "임베딩 계산"),
    "analyzepage.computing": ("Embedding the sample with and without the adapter…", "어댑터 적용 전후로 샘플을 임베딩하는 중…"),
    "analyzepage.silhouette": ("Silhouette", "실루엣 점수"),
    "analyzepage.knn": ("k-NN label accuracy", "k-NN 레이블 정확도"),
    "analyzepage.before": ("before", "적용 전"),
    "analyzepage.after": ("after", "적용 후"),
    "analyzepage.delta": ("ΔW anatomy", "ΔW 구조"),
    "analyzepage.pick_module": ("Module for the spectrum", "스펙트럼을 볼 모듈"),
    "analyzepage.table_csv": ("Download the ΔW table (CSV)", "ΔW 표 내려받기 (CSV)"),
    "analyzepage.heat_html": ("Download the ‖ΔW‖/‖W‖ heatmap (HTML)", "‖ΔW‖/‖W‖ 히트맵 내려받기 (HTML)"),
    "analyzepage.erank_html": ("Download the effective-rank chart (HTML)", "유효 랭크 차트 내려받기 (HTML)"),
    "analyzepage.scatter_html": ("Download the embeddings chart (HTML)", "임베딩 차트 내려받기 (HTML)"),
    "analyzepage.reproduce": ("Reproduce in a notebook (PEFT, scikit-learn, plotly)", "노트북에서 재현하기 (PEFT, scikit-learn, plotly)"),
    "analyzepage.reproduce_howto": (
        "Unzip the adapter, put this script and the sample next to adapter_config.json, and run it: it prints the "
        "ΔW table and the scores and writes the t-SNE pictures. Same sample, same adapter: silhouette within "
        "{tol}, k-NN accuracy within one text (1/n). t-SNE pictures match only with the same seed and "
        "scikit-learn version. The adapter zip from the Train page already holds analysis.py and its sample.",
        "어댑터 zip을 풀고 이 스크립트와 샘플을 adapter_config.json 옆에 두고 실행하세요. ΔW 표와 점수를 출력하고 "
        "t-SNE 그림을 저장합니다. 같은 샘플과 같은 어댑터라면 실루엣 점수는 {tol} 이내, k-NN 정확도는 텍스트 "
        "하나(1/n) 이내로 같습니다. t-SNE 그림은 시드와 scikit-learn 버전이 같을 때만 같습니다. 학습 페이지의 "
        "어댑터 zip에는 analysis.py와 샘플이 이미 들어 있습니다.",
    ),
    "analyzepage.dl_script": ("Download analysis.py", "analysis.py 내려받기"),
    "analyzepage.dl_sample": ("Download the sample (JSONL)", "샘플 내려받기 (JSONL)"),
    "analyzepage.explain": ("What do these numbers mean?", "이 숫자들은 무엇을 뜻하나요?"),
    "analyzepage.explain_scores": (
        "**Silhouette** (−1 to 1): for each text, how much closer it is to texts with its own label than to the "
        "nearest other label (cosine distance), averaged. Near 1: labels form tight, separate groups; near 0: "
        "they overlap; below 0: texts sit nearer another label.\n\n"
        "**k-NN accuracy**: each text is given the majority label of its k = 5 nearest other texts (leave-one-out); "
        "the share it gets right. Chance is about one over the number of labels.\n\n"
        "Both are measured in the full embedding space, never on the 2-D picture.",
        "**실루엣 점수** (−1~1): 각 텍스트가 가장 가까운 다른 레이블보다 같은 레이블의 텍스트에 얼마나 더 가까운지"
        "(코사인 거리)의 평균입니다. 1에 가까우면 레이블이 뚜렷이 나뉜 묶음을 이루고, 0 근처면 겹치며, 0보다 작으면 "
        "텍스트가 다른 레이블 쪽에 더 가깝습니다.\n\n"
        "**k-NN 정확도**: 각 텍스트에 자신을 뺀 가장 가까운 5개 텍스트의 다수 레이블을 붙였을 때 맞힌 비율입니다. "
        "우연히 맞힐 확률은 대략 1 / 레이블 수입니다.\n\n"
        "두 점수 모두 2차원 그림이 아니라 원래 임베딩 공간에서 계산합니다.",
    ),
    "analyzepage.explain_erank": (
        "**Effective rank** of ΔW = exp(entropy of its normalised singular values), at most r. Near 1: the "
        "update uses essentially one direction; near r: it spreads over all r directions LoRA allows, so a "
        "larger r might help. **‖ΔW‖/‖W‖**: the size of the update relative to the frozen weight.",
        "ΔW의 **유효 랭크** = 정규화한 특잇값의 엔트로피의 지수(최대 r). 1에 가까우면 업데이트가 사실상 한 방향만 "
        "쓰고, r에 가까우면 LoRA가 허용한 r개 방향을 모두 쓰므로 r을 키우면 도움이 될 수 있습니다. "
        "**‖ΔW‖/‖W‖**: 고정된 가중치에 대한 업데이트의 상대적 크기.",
    ),
    "analyzepage.png_hint": ("Each chart's camera icon saves it as PNG.", "각 차트의 카메라 아이콘으로 PNG를 저장할 수 있습니다."),
    "analyzepage.pp": ("{d} pp", "{d}%p"),
    "analyzepage.scores_csv": ("Download scores (CSV)", "점수 내려받기 (CSV)"),
}
