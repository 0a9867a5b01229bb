"""Module groups by tower and attention kind (core.anatomy.groups, core.planning.targeting) and the Inspect rows."""

STRINGS = {
    "groups.shared_names": (
        "{names} exist in more than one tower ({towers}): a plain list of names (PEFT's target_modules) adapts every "
        "tower's copy. To adapt one tower only, choose that tower's groups; the plan then names them with a full-name "
        "regex.",
        "{names}은(는) 여러 타워({towers})에 모두 있습니다. 이름 목록(PEFT의 target_modules)으로 지정하면 모든 타워의 층이 "
        "조정됩니다. 한 타워만 조정하려면 그 타워의 그룹을 고르세요. 그러면 계획이 전체 이름 정규식으로 지정합니다.",
    ),
    "groups.none": ("Choose at least one module group.", "모듈 그룹을 하나 이상 고르세요."),
    "groups.unknown": (
        "This model has no module group '{group}'; the groups come from Inspect's table.",
        "이 모델에는 '{group}' 모듈 그룹이 없습니다. 그룹 이름은 '모델 살펴보기' 표에 있는 것을 쓰세요.",
    ),
    "groups.override_unchosen": (
        "A rank or alpha was given for '{group}', which is not among the chosen groups: choose the group or drop its value.",
        "'{group}'에 랭크나 알파를 지정했지만 이 그룹은 선택되지 않았습니다. 그룹을 고르거나 값을 지우세요.",
    ),
    "groups.no_blocks": (
        "The chosen groups have no module in the chosen blocks: choose other blocks or other groups.",
        "선택한 그룹에는 선택한 블록 안의 모듈이 없습니다. 다른 블록이나 다른 그룹을 고르세요.",
    ),
    "groups.too_long": (
        "These {n} modules cannot be named exactly within PEFT's limits here (a regex of at most 500 characters, "
        "at most 64 names): choose whole groups or fewer of them.",
        "이 {n}개 모듈은 PEFT 한도(정규식 500자, 이름 64개) 안에서 정확히 지정할 수 없습니다. 그룹 전체를 고르거나 그룹 수를 줄이세요.",
    ),
}
