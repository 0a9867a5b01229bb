"""The Sweep page, its errors and the sweep command."""

STRINGS = {
    "ui.page_sweep": ("Sweep · compare plans by training", "스윕 · 계획별 비교 학습"),
    "sweep.plan_count": ("A sweep needs {low}-{high} plans; it has {n}.", "스윕에는 계획이 {low}~{high}개 필요합니다. 지금 {n}개입니다."),
    "sweep.duplicate_name": ("Two plans are both named \"{name}\"; give each its own name.", "두 계획의 이름이 모두 \"{name}\"입니다. 이름을 서로 다르게 해 주세요."),
    "sweep.mixed_tasks": ("Every plan of a sweep must have the same task.", "스윕의 모든 계획은 같은 작업이어야 합니다."),
    "sweep.seed_count": ("Pick 1-{high} different seeds (got {n}).", "서로 다른 시드를 1~{high}개 고르세요 (지금 {n}개)."),
    "sweep.bad_ladder": ("Unknown ladder \"{kind}\"; use one of: {options}.", "알 수 없는 사다리 \"{kind}\"입니다. 다음 중 하나를 쓰세요: {options}."),
    "sweep.bad_plans_file": ("{name} is not a plans file: {detail}", "{name}은(는) 계획 파일이 아닙니다: {detail}"),
    "sweep.no_plans": ("Give --plans FILE or --ladder targets|ranks.", "--plans 파일 또는 --ladder targets|ranks 를 주세요."),
    "sweep.busy": ("A sweep is still running; stop it or wait for it to finish.", "스윕이 아직 실행 중입니다. 중지하거나 끝날 때까지 기다려 주세요."),
    "sweep.no_sweep": ("Sweep #{number} is not in your workspace.", "스윕 #{number}은(는) 작업 공간에 없습니다."),
    "sweep.data_gone": (
        "The data this sweep trained on is no longer kept (it was removed, e.g. to free space); pick the data again "
        "above and start a new sweep.",
        "이 스윕이 학습한 데이터가 더 이상 보관되어 있지 않습니다 (공간 확보 등으로 지워졌습니다). 위에서 데이터를 다시 골라 새 "
        "스윕을 시작하세요.",
    ),
    "sweep.data_too_big": (
        "This data takes {size}, more than the {limit} a sweep may keep to be re-run; use fewer rows.",
        "이 데이터는 {size}로, 다시 실행하려고 스윕이 보관할 수 있는 {limit}보다 큽니다. 행 수를 줄여 주세요.",
    ),
    "sweep.lane_died": (
        "The process training this plan ended without a result (exit code {code}: out of memory, or killed); the sweep went on.",
        "이 계획을 학습하던 프로세스가 결과 없이 끝났습니다 (종료 코드 {code}: 메모리 부족 또는 강제 종료). 스윕은 계속되었습니다.",
    ),
    "sweep.lane_failed": (
        "Could not start a process for this plan ({detail}); the sweep went on.",
        "이 계획을 위한 프로세스를 시작하지 못했습니다 ({detail}). 스윕은 계속되었습니다.",
    ),
    "sweep.too_many": ("Your workspace keeps at most {max} sweeps; delete one first.", "작업 공간에는 스윕을 최대 {max}개까지 둘 수 있습니다. 먼저 하나를 지우세요."),
    "sweeppage.status_interrupted": ("Interrupted", "중단됨"),
    "sweeppage.interrupted": (
        "The server restarted while this sweep was running: {done} of {n} runs finished and are kept below; re-run it for the rest.",
        "이 스윕이 실행되는 동안 서버가 다시 시작되었습니다. {n}개 실행 중 {done}개가 끝났고 아래에 보존되어 있습니다. 나머지는 다시 실행해 주세요.",
    ),
    "sweeppage.title": ("Sweep: which modules are worth adapting?", "스윕: 어떤 모듈을 적응시킬 가치가 있을까?"),
    "sweeppage.intro": (
        "Train several LoRA plans on the same model, data and settings (on a CPU, several at once: one per core), and see measured quality next to the exact number of trainable parameters.",
        "같은 모델·데이터·설정으로 여러 LoRA 계획을 학습하고(CPU에서는 코어마다 하나씩 동시에), 측정한 품질을 정확한 학습 파라미터 수 옆에서 봅니다.",
    ),
    "sweeppage.source": ("Plans", "계획"),
    "sweeppage.source_saved": ("My saved plans", "저장한 계획"),
    "sweeppage.source_targets": ("Ladder: q+v / attention / MLP / all-linear", "사다리: q+v / 어텐션 / MLP / all-linear"),
    "sweeppage.source_ranks": ("Ladder: r = 4, 8, 16, 64 (lora_alpha fixed)", "사다리: r = 4, 8, 16, 64 (lora_alpha 고정)"),
    "sweeppage.pick_saved": ("Saved plans (2-8)", "저장한 계획 (2~8개)"),
    "sweeppage.no_saved": ("Save at least two plans on the Configure page first, or use a ladder.", "먼저 LoRA 설정 페이지에서 계획을 두 개 이상 저장하거나 사다리를 쓰세요."),
    "sweeppage.r": ("Rank r for the ladder", "사다리의 랭크 r"),
    "sweeppage.preset": ("Targets for the rank ladder", "랭크 사다리의 대상"),
    "sweeppage.seeds": ("Seeds per plan", "계획당 시드 수"),
    "sweeppage.seeds_help": ("2-3 seeds show how much of a difference is noise.", "시드 2~3개는 차이 중 얼마가 잡음인지 보여 줍니다."),
    "sweeppage.plans_table": ("Plans in this sweep (learning rate 0 = the sweep's)", "이번 스윕의 계획 (학습률 0 = 스윕 기본값)"),
    "sweeppage.col_name": ("Plan", "계획"),
    "sweeppage.col_targets": ("Targets", "대상"),
    "sweeppage.col_lr": ("Learning rate", "학습률"),
    "sweeppage.col_params": ("Trainable parameters", "학습 파라미터"),
    "sweeppage.col_quality": ("Quality (mean)", "품질 (평균)"),
    "sweeppage.col_spread": ("± seed spread", "± 시드 편차"),
    "sweeppage.col_seconds": ("Seconds", "초"),
    "sweeppage.col_tps": ("Tokens/s", "토큰/초"),
    "sweeppage.col_mem": ("Peak memory (MB)", "최대 메모리 (MB)"),
    "sweeppage.col_frontier": ("On the frontier", "프런티어"),
    "sweeppage.col_status": ("Status", "상태"),
    "sweeppage.start": ("Start the sweep", "스윕 시작"),
    "sweeppage.stop": ("Stop the sweep (keeps finished plans)", "스윕 중지 (끝난 계획은 유지)"),
    "sweeppage.running": ("Training {name} (seed {seed}) · plan {i}/{n} · sweep ETA {eta}", "{name} 학습 중 (시드 {seed}) · {i}/{n}번째 · 전체 남은 시간 {eta}"),
    "sweeppage.side_by_side": (
        "{n} plans train at once, each in its own process on its share of the CPU cores: a small model's step does "
        "not keep every core busy, so the sweep ends sooner. Each plan's seconds and tokens/s are measured under that "
        "sharing (compare plans with each other); its numbers are the ones it would get alone.",
        "계획 {n}개를 동시에, 각자 자기 프로세스에서 CPU 코어를 나눠 학습합니다. 작은 모델의 한 단계는 모든 코어를 다 쓰지 "
        "못하므로 스윕이 더 빨리 끝납니다. 각 계획의 초와 토큰/초는 이렇게 나눠 쓴 상태에서 잰 값이니 계획끼리 비교하세요. "
        "품질 수치는 혼자 학습할 때와 같습니다.",
    ),
    "sweeppage.waiting": ("Waiting in the training queue…", "학습 대기열에서 기다리는 중…"),
    "sweeppage.finished": ("Sweep #{number} finished: {ok} of {n} runs trained.", "스윕 #{number} 완료: {n}개 중 {ok}개 학습됨."),
    "sweeppage.failed_plan": ("{name} (seed {seed}) failed: {reason}", "{name} (시드 {seed}) 실패: {reason}"),
    "sweeppage.history": ("Your sweeps", "내 스윕"),
    "sweeppage.pick": ("Sweep", "스윕"),
    "sweeppage.label": ("#{n} · {model} · {data} · {plans} plans · {status}", "#{n} · {model} · {data} · 계획 {plans}개 · {status}"),
    "sweeppage.rerun": ("Run this sweep again", "이 스윕 다시 실행"),
    "sweeppage.delete": ("Delete this sweep", "이 스윕 삭제"),
    "sweeppage.csv": ("Download the table (CSV)", "표 내려받기 (CSV)"),
    "sweeppage.adapters": ("Adapters", "어댑터"),
    "sweeppage.download": ("{name} seed {seed} (.zip)", "{name} 시드 {seed} (.zip)"),
    "sweeppage.memory_note": (
        "Peak memory: {kind}.",
        "최대 메모리: {kind}.",
    ),
    "sweeppage.mem.cuda_max_allocated": ("torch.cuda.max_memory_allocated during the plan", "계획 동안의 torch.cuda.max_memory_allocated"),
    "sweeppage.mem.rss_growth": (
        "growth of the process's resident memory over its level when the plan started (CPU; the shared base weights, "
        "already in memory, are not counted)",
        "계획 시작 시점보다 늘어난 프로세스 상주 메모리 (CPU; 이미 메모리에 있는 공유 기본 가중치는 세지 않음)",
    ),
    "sweeppage.how_title": ("How to read this", "이 결과를 읽는 법"),
    "sweeppage.how": (
        "A short run on a few hundred examples measures what each plan learns in the first steps, not where it would end. "
        "Differences smaller than the seed spread (the ± column, the whiskers) are noise: run 2-3 seeds before trusting an order. "
        "The frontier links the plans no other plan beats with fewer parameters; a plan far right of it costs parameters without buying quality here. "
        "Parameters are exact (PEFT's own count); wall time and memory depend on this machine.",
        "수백 개 예제로 한 짧은 학습은 각 계획이 처음 몇 스텝에서 배우는 것을 잴 뿐, 끝까지 학습했을 때의 결과가 아닙니다. "
        "시드 편차(± 열, 오차 막대)보다 작은 차이는 잡음입니다. 순서를 믿기 전에 시드 2~3개로 돌려 보세요. "
        "프런티어는 더 적은 파라미터로 이기는 다른 계획이 없는 계획들을 잇습니다. 그보다 오른쪽에 멀리 있는 계획은 여기서는 품질을 더 얻지 못하고 파라미터만 씁니다. "
        "파라미터 수는 정확하며(PEFT 자체 계산), 시간과 메모리는 이 기계에 따라 다릅니다.",
    ),
    "sweeppage.lit_title": ("What the literature found", "논문들이 발견한 것"),
    "sweeppage.lit": (
        "- **LoRA** (Hu et al. 2021, Table 5; GPT-3, 18M-parameter budget): Wq+Wv at r=4 → 73.7 WikiSQL / 91.3 MNLI; Wq,Wk,Wv,Wo at r=2 → 73.7 / 91.7; a single matrix type at r=8 is worse (Wq: 70.4 / 91.0).\n"
        "- **QLoRA** (Dettmers et al. 2023, §4): LoRA on all linear layers is needed to match full fine-tuning; r matters little.\n"
        "- **LoRA Learns Less and Forgets Less** (Biderman et al. 2024): all layers > MLP > attention.\n"
        "- **LoRA Without Regret** (Schulman et al. 2025): attention-only LoRA underperforms; the best LoRA learning rate is about 10× full fine-tuning's and roughly independent of rank.",
        "- **LoRA** (Hu 외 2021, 표 5; GPT-3, 파라미터 예산 18M): r=4의 Wq+Wv → WikiSQL 73.7 / MNLI 91.3; r=2의 Wq,Wk,Wv,Wo → 73.7 / 91.7; r=8에서 한 종류의 행렬만 쓰면 더 나쁨 (Wq: 70.4 / 91.0).\n"
        "- **QLoRA** (Dettmers 외 2023, §4): 전체 파인튜닝에 맞추려면 모든 선형 층에 LoRA가 필요하고, r은 별로 중요하지 않음.\n"
        "- **LoRA Learns Less and Forgets Less** (Biderman 외 2024): 전체 > MLP > 어텐션.\n"
        "- **LoRA Without Regret** (Schulman 외 2025): 어텐션만 쓰는 LoRA는 성능이 떨어지고, 최적 LoRA 학습률은 전체 파인튜닝의 약 10배이며 랭크와 거의 무관.",
    ),
    "sweeppage.yours": ("Your result: the frontier here is {front}.", "내 결과: 여기서 프런티어는 {front}입니다."),
    "sweepchart.params": ("Trainable parameters (exact, log scale)", "학습 파라미터 (정확한 값, 로그 축)"),
    "sweepchart.eval_loss": ("Validation loss (lower is better)", "검증 손실 (낮을수록 좋음)"),
    "sweepchart.accuracy": ("Validation accuracy (higher is better)", "검증 정확도 (높을수록 좋음)"),
    "sweepchart.plans": ("Plans", "계획"),
    "sweepchart.frontier": ("Pareto frontier", "파레토 프런티어"),
    "sweepchart.step": ("Step", "스텝"),
    "sweepchart.loss": ("Training loss", "학습 손실"),
    "sweepchart.seconds": ("Wall time (s)", "걸린 시간 (초)"),
    "sweepchart.tps": ("Tokens/s", "토큰/초"),
    "sweepchart.mem": ("Peak memory (MB)", "최대 메모리 (MB)"),
}
