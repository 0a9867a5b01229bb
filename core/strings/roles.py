"""What each kind of module does (core.anatomy.roles): one sentence or two a practitioner can act on."""

STRINGS = {
    # attention
    "role.attn_query": (
        "Query projection: turns each token into what it is looking for in the other tokens. "
        "A classic LoRA target, usually together with the value projection.",
        "쿼리 프로젝션: 각 토큰을 '다른 토큰에서 무엇을 찾는지'로 바꿉니다. "
        "보통 밸류 프로젝션과 함께 고르는 대표적인 LoRA 대상입니다.",
    ),
    "role.attn_key": (
        "Key projection: what each token offers to be found by; queries are compared with keys to decide where attention goes.",
        "키 프로젝션: 각 토큰이 '무엇으로 찾아질지'를 내놓습니다. 쿼리를 키와 비교해 어디에 주의를 기울일지 정합니다.",
    ),
    "role.attn_value": (
        "Value projection: the content a token passes on once another token attends to it. "
        "A classic LoRA target, usually together with the query projection.",
        "밸류 프로젝션: 다른 토큰이 이 토큰에 주의를 기울일 때 실제로 전달되는 내용입니다. "
        "보통 쿼리 프로젝션과 함께 고르는 대표적인 LoRA 대상입니다.",
    ),
    "role.attn_output": (
        "Attention output projection: merges the heads' results back into the residual stream.",
        "어텐션 출력 프로젝션: 여러 헤드의 결과를 합쳐 잔차 스트림(residual stream)으로 되돌립니다.",
    ),
    "role.attn_fused_qkv": (
        "Fused query/key/value projection: one matrix computes Q, K and V at once. "
        "LoRA on it adapts all three with a single A/B pair (one shared rank), not three separate adapters.",
        "쿼리·키·밸류 결합 프로젝션: 하나의 행렬이 Q, K, V를 한 번에 계산합니다. "
        "여기에 LoRA를 걸면 셋을 따로가 아니라 A/B 한 쌍(하나의 공유 랭크)으로 함께 조정합니다.",
    ),
    # MLP
    "role.mlp_up": (
        "Up projection of the gated MLP: widens each token to the intermediate size; the result is multiplied by the gate.",
        "게이트형 MLP의 업 프로젝션: 각 토큰을 중간 차원으로 넓히고, 그 결과에 게이트 값을 곱합니다.",
    ),
    "role.mlp_gate": (
        "Gate projection of the gated MLP: after an activation (e.g. SiLU/GELU) it decides how much of each widened feature passes.",
        "게이트형 MLP의 게이트 프로젝션: 활성화 함수(SiLU/GELU 등)를 거쳐, 넓혀진 특징 각각을 얼마나 통과시킬지 정합니다.",
    ),
    "role.mlp_down": (
        "Down projection: narrows the MLP's intermediate features back to the hidden size and writes them into the residual stream.",
        "다운 프로젝션: MLP의 중간 특징을 다시 은닉 차원으로 줄여 잔차 스트림에 더합니다.",
    ),
    "role.mlp_widen": (
        "MLP widening layer: expands each token to the intermediate size before the activation; much of a model's stored knowledge sits in the MLP.",
        "MLP 확장 층: 활성화 함수 전에 각 토큰을 중간 차원으로 넓힙니다. 모델이 담은 지식의 상당 부분이 MLP에 있습니다.",
    ),
    "role.mlp_narrow": (
        "MLP narrowing layer: brings the intermediate features back to the hidden size and writes them into the residual stream.",
        "MLP 축소 층: 중간 특징을 다시 은닉 차원으로 줄여 잔차 스트림에 더합니다.",
    ),
    "role.mlp_plain": (
        "MLP layer: part of the feed-forward block that processes each token on its own.",
        "MLP 층: 각 토큰을 개별적으로 처리하는 피드포워드 블록의 일부입니다.",
    ),
    "role.mlp_fused_gate_up": (
        "Fused gate and up projection: one matrix computes both halves of the gated MLP. "
        "LoRA on it adapts gate and up together with a single A/B pair.",
        "게이트·업 결합 프로젝션: 하나의 행렬이 게이트형 MLP의 두 부분을 함께 계산합니다. "
        "여기에 LoRA를 걸면 게이트와 업을 A/B 한 쌍으로 함께 조정합니다.",
    ),
    # embeddings
    "role.embed_tokens": (
        "Token embedding: the lookup table that turns token ids into vectors. Adapting it is unusual: it changes how every "
        "token is represented, is vocabulary-sized, and is often tied to the output head; mainly useful when adding new tokens.",
        "토큰 임베딩: 토큰 ID를 벡터로 바꾸는 조회 표입니다. 이를 조정하는 일은 드뭅니다. 모든 토큰의 표현이 바뀌고, "
        "어휘 크기만큼 크며, 출력 헤드와 가중치를 공유하는 경우가 많습니다. 주로 새 토큰을 추가할 때 씁니다.",
    ),
    "role.embed_positions": (
        "Position embedding: a learned vector per position, added to the tokens. Rarely worth adapting unless the positions change.",
        "위치 임베딩: 위치마다 학습된 벡터로, 토큰 벡터에 더해집니다. 위치 체계가 바뀌지 않는 한 조정할 이유가 거의 없습니다.",
    ),
    "role.embed_token_types": (
        "Token-type (segment) embedding: tells sentence A from sentence B. Tiny, and rarely adapted.",
        "토큰 유형(세그먼트) 임베딩: 문장 A와 문장 B를 구분합니다. 매우 작으며 조정하는 경우가 드뭅니다.",
    ),
    "role.embed_relative_bias": (
        "Relative position bias: a small table added to attention scores according to the distance between tokens. Rarely adapted.",
        "상대 위치 편향: 토큰 사이 거리에 따라 어텐션 점수에 더하는 작은 표입니다. 조정하는 경우가 드뭅니다.",
    ),
    # heads
    "role.head_lm": (
        "Output head: turns the final hidden state into one score per vocabulary token. Adapting it is unusual and costly "
        "(vocabulary-sized); PEFT's all-linear leaves it out, and it is often tied to the token embedding.",
        "출력 헤드: 마지막 은닉 상태를 어휘의 토큰마다 하나의 점수로 바꿉니다. 어휘 크기만큼 커서 조정하는 일은 드물고 비쌉니다. "
        "PEFT의 all-linear도 이 층은 제외하며, 토큰 임베딩과 가중치를 공유하는 경우가 많습니다.",
    ),
    "role.head_cls": (
        "Classification head: new and randomly initialised for your labels, so it is trained in full (modules_to_save) rather "
        "than adapted with LoRA; PEFT does this by itself for sequence classification.",
        "분류 헤드: 여러분의 레이블에 맞춰 새로 무작위 초기화되므로, LoRA로 조정하기보다 통째로 학습합니다(modules_to_save). "
        "시퀀스 분류에서는 PEFT가 알아서 그렇게 합니다.",
    ),
    "role.head_qa": (
        "Question-answering head: scores where the answer starts and ends. Train it in full (modules_to_save) rather than with LoRA.",
        "질의응답 헤드: 답의 시작과 끝 위치에 점수를 매깁니다. LoRA보다는 통째로 학습하세요(modules_to_save).",
    ),
    "role.head_pooler": (
        "Pooler: a dense layer over the first ([CLS]) token that classification heads read. Part of the head, rarely adapted with LoRA.",
        "풀러: 첫 토큰([CLS])에 적용되는 밀집 층으로, 분류 헤드가 이 출력을 읽습니다. 헤드의 일부이며 LoRA로 조정하는 일은 드뭅니다.",
    ),
    "role.head_transform": (
        "Prediction-head transform: a dense layer just before the output head (masked-language-model head). Part of the head, rarely adapted.",
        "예측 헤드 변환: 출력 헤드 바로 앞의 밀집 층입니다(마스크 언어 모델 헤드). 헤드의 일부이며 조정하는 일은 드뭅니다.",
    ),
    # projections and convolutions
    "role.proj_clip": (
        "Projection into the shared image-text space (CLIP): adapting it changes how images and texts are compared, not what each encoder sees.",
        "이미지·텍스트 공유 공간으로의 프로젝션(CLIP): 조정하면 각 인코더가 보는 내용이 아니라 이미지와 텍스트를 비교하는 방식이 바뀝니다.",
    ),
    "role.proj_multimodal": (
        "Multimodal projector: maps the vision encoder's features into the language model's embedding space.",
        "멀티모달 프로젝터: 비전 인코더의 특징을 언어 모델의 임베딩 공간으로 옮깁니다.",
    ),
    "role.proj_generic": (
        "Projection: a linear map from one representation to another.",
        "프로젝션: 한 표현을 다른 표현으로 옮기는 선형 변환입니다.",
    ),
    "role.conv_patch": (
        "Patch embedding: a convolution that cuts the image into patches and turns each into a vector. Rarely adapted.",
        "패치 임베딩: 이미지를 패치로 자르고 각 패치를 벡터로 바꾸는 합성곱입니다. 조정하는 경우가 드뭅니다.",
    ),
    "role.conv_audio": (
        "Audio stem convolution: turns the log-mel spectrogram into frames for the encoder. Rarely adapted.",
        "오디오 입력부 합성곱: 로그 멜 스펙트로그램을 인코더가 읽을 프레임으로 바꿉니다. 조정하는 경우가 드뭅니다.",
    ),
    # mixture of experts
    "role.router": (
        "Router: scores the experts for each token and sends it to the top few. Tiny; adapting it changes which experts tokens reach.",
        "라우터: 토큰마다 전문가(expert)에 점수를 매겨 상위 몇 개로 보냅니다. 매우 작으며, 조정하면 토큰이 가는 전문가가 바뀝니다.",
    ),
    "role.experts_gate_up": (
        "Fused gate and up weights of all experts, stored as one tensor. PEFT adapts it as a parameter (target_parameters): "
        "every expert gets its own rank-r pair; lora_dropout must be 0 and DoRA is not available.",
        "모든 전문가의 게이트·업 가중치를 하나의 텐서로 합친 것입니다. PEFT는 이를 파라미터로 조정합니다(target_parameters). "
        "전문가마다 랭크 r의 A/B 쌍이 따로 생기며, lora_dropout은 0이어야 하고 DoRA는 쓸 수 없습니다.",
    ),
    "role.experts_down": (
        "Down weights of all experts, stored as one tensor. PEFT adapts it as a parameter (target_parameters): "
        "every expert gets its own rank-r pair; lora_dropout must be 0 and DoRA is not available.",
        "모든 전문가의 다운 가중치를 하나의 텐서로 합친 것입니다. PEFT는 이를 파라미터로 조정합니다(target_parameters). "
        "전문가마다 랭크 r의 A/B 쌍이 따로 생기며, lora_dropout은 0이어야 하고 DoRA는 쓸 수 없습니다.",
    ),
    "role.experts": (
        "Expert weights of a mixture-of-experts layer, one slice per expert. PEFT adapts them as parameters (target_parameters).",
        "전문가 혼합(MoE) 층의 전문가 가중치로, 전문가마다 한 조각씩 있습니다. PEFT는 이를 파라미터로 조정합니다(target_parameters).",
    ),
    # names that mean several things
    "role.mixed_dense": (
        "'dense' names several different layers here (e.g. BERT: the attention output, the MLP widening and narrowing, the pooler). "
        "Targeting 'dense' adapts all of them; use a regex to pick one.",
        "여기서 'dense'는 여러 다른 층을 가리킵니다(예: BERT의 어텐션 출력, MLP 확장·축소 층, 풀러). "
        "'dense'를 대상으로 하면 모두 조정되니, 하나만 고르려면 정규식을 쓰세요.",
    ),
    "role.mixed_c_proj": (
        "'c_proj' names two layers in GPT-2: under attn it merges the heads back, under mlp it narrows the MLP. "
        "Targeting 'c_proj' adapts both; use a regex to pick one.",
        "GPT-2에서 'c_proj'는 두 층을 가리킵니다. attn 아래에서는 헤드를 합치고, mlp 아래에서는 MLP를 축소합니다. "
        "'c_proj'를 대상으로 하면 둘 다 조정되니, 하나만 고르려면 정규식을 쓰세요.",
    ),
    "role.mixed_wo": (
        "'wo' is an output projection: of attention (Meta's Llama format) or of the MLP (T5). Targeting it adapts every such layer.",
        "'wo'는 출력 프로젝션입니다. 어텐션의 출력(Meta의 Llama 형식)이거나 MLP의 출력(T5)입니다. 대상으로 하면 해당 층이 모두 조정됩니다.",
    ),
    "role.mixed": (
        "This name is shared by layers with different roles; targeting it adapts all of them. Use a regex to pick some.",
        "이 이름은 역할이 다른 여러 층이 함께 씁니다. 대상으로 하면 모두 조정되니, 일부만 고르려면 정규식을 쓰세요.",
    ),
    # guesses for names we do not know
    "role.unknown": (
        "A module we do not recognise by name.",
        "이름만으로는 알아볼 수 없는 모듈입니다.",
    ),
    "role.inferred_embedding": (
        "An embedding table (a lookup of vectors by id). Adapting embeddings is unusual.",
        "임베딩 표(ID로 벡터를 찾는 표)입니다. 임베딩을 조정하는 일은 드뭅니다.",
    ),
    "role.inferred_conv": (
        "A convolution, most likely part of the input stem. Rarely adapted.",
        "합성곱 층으로, 입력부의 일부일 가능성이 큽니다. 조정하는 경우가 드뭅니다.",
    ),
    "role.inferred_head": (
        "Looks like an output head: it produces one score per vocabulary token. Adapting it is unusual and costly.",
        "출력 헤드로 보입니다. 어휘의 토큰마다 점수를 하나씩 냅니다. 조정하는 일은 드물고 비쌉니다.",
    ),
    "role.inferred_small_head": (
        "Looks like a task head: it narrows the hidden state to a few outputs. Heads are usually trained in full, not with LoRA.",
        "작업 헤드로 보입니다. 은닉 상태를 몇 개의 출력으로 줄입니다. 헤드는 보통 LoRA가 아니라 통째로 학습합니다.",
    ),
    "role.inferred_attn_fused": (
        "Inside attention and wider than its input: probably a fused query/key/value projection, which LoRA adapts with one A/B pair.",
        "어텐션 안에 있고 입력보다 출력이 넓습니다. 쿼리·키·밸류 결합 프로젝션일 가능성이 크며, LoRA는 이를 A/B 한 쌍으로 조정합니다.",
    ),
    "role.inferred_attn_projection": (
        "A projection inside attention (a query, key, value or output projection).",
        "어텐션 안의 프로젝션입니다(쿼리, 키, 밸류 또는 출력 프로젝션 중 하나).",
    ),
    "role.inferred_widen": (
        "Inside the MLP and wider than its input: it widens each token to the intermediate size.",
        "MLP 안에 있고 입력보다 출력이 넓습니다. 각 토큰을 중간 차원으로 넓힙니다.",
    ),
    "role.inferred_narrow": (
        "Inside the MLP and narrower than its input: it brings the intermediate features back to the hidden size.",
        "MLP 안에 있고 입력보다 출력이 좁습니다. 중간 특징을 다시 은닉 차원으로 줄입니다.",
    ),
    "role.inferred_mlp": (
        "A square layer inside the MLP block.",
        "MLP 블록 안의 정사각형(입력과 출력 크기가 같은) 층입니다.",
    ),
    "role.inferred_other": (
        "A linear layer whose role we can only guess from its shape.",
        "모양만으로 역할을 짐작할 수 있는 선형 층입니다.",
    ),
    # towers and attention kinds (core.anatomy.structure, core.anatomy.groups)
    "tower.vision": ("Vision", "비전"),
    "tower.text": ("Text", "텍스트"),
    "tower.audio": ("Audio", "오디오"),
    "tower.encoder": ("Encoder", "인코더"),
    "tower.decoder": ("Decoder", "디코더"),
    "tower.none": ("outside the towers", "타워 밖"),
    "tower.about_vision": (
        "Vision tower: cuts the image into patches and turns them into vectors; adapt it to change what the model sees.",
        "비전 타워: 이미지를 패치로 잘라 벡터로 바꿉니다. 모델이 이미지에서 무엇을 보는지 바꾸려면 이 타워를 조정하세요.",
    ),
    "tower.about_text": (
        "Text tower: reads the text. In CLIP-like models it is the text encoder; in a vision-language model it is the "
        "language model that writes the answer.",
        "텍스트 타워: 텍스트를 읽습니다. CLIP 같은 모델에서는 텍스트 인코더이고, 비전-언어 모델에서는 답을 쓰는 언어 모델입니다.",
    ),
    "tower.about_audio": (
        "Audio tower: turns the sound into vectors the rest of the model reads.",
        "오디오 타워: 소리를 모델의 나머지 부분이 읽을 벡터로 바꿉니다.",
    ),
    "tower.about_encoder": (
        "Encoder: reads the whole input at once; every position sees every other. Its output is what the decoder's "
        "cross-attention reads.",
        "인코더: 입력 전체를 한 번에 읽으며, 모든 위치가 서로를 봅니다. 디코더의 교차 어텐션이 읽는 것이 인코더의 출력입니다.",
    ),
    "tower.about_decoder": (
        "Decoder: writes the output one token at a time; its self-attention sees only earlier tokens, its "
        "cross-attention reads the encoder.",
        "디코더: 출력을 한 토큰씩 씁니다. 셀프 어텐션은 앞선 토큰만 보고, 교차 어텐션은 인코더의 출력을 읽습니다.",
    ),
    "tower.about_other": (
        "{name}: a sub-model with a configuration of its own.",
        "{name}: 자체 설정을 가진 하위 모델입니다.",
    ),
    "tower.about_none": (
        "Outside the towers: the layers that join them or sit on top (projections into a shared space, the output head).",
        "타워 밖: 타워들을 잇거나 그 위에 놓인 층입니다(공유 공간으로의 프로젝션, 출력 헤드 등).",
    ),
    "attn.self": ("self-attention", "셀프 어텐션"),
    "attn.cross": ("cross-attention", "교차 어텐션"),
    "attn.about_self": (
        "Self-attention: the tokens of one sequence look at each other.",
        "셀프 어텐션: 한 시퀀스의 토큰들이 서로를 봅니다.",
    ),
    "attn.about_self_encoder": (
        "Encoder self-attention: every input position looks at every other.",
        "인코더 셀프 어텐션: 입력의 모든 위치가 다른 모든 위치를 봅니다.",
    ),
    "attn.about_self_decoder": (
        "Decoder self-attention: each output token looks only at the tokens before it.",
        "디코더 셀프 어텐션: 각 출력 토큰은 자기보다 앞선 토큰만 봅니다.",
    ),
    "attn.about_cross": (
        "Cross-attention: the decoder's tokens look at the encoder's output (queries from the decoder, keys and "
        "values from the encoder). Adapting it changes how the output draws on the input.",
        "교차 어텐션: 디코더의 토큰이 인코더의 출력을 봅니다(쿼리는 디코더에서, 키와 밸류는 인코더에서 옵니다). "
        "조정하면 출력이 입력을 참고하는 방식이 바뀝니다.",
    ),
}
