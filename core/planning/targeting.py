"""A selection of module groups, turned into LoraPlan fields in PEFT's own terms, exact.

Plain short names where PEFT's list matching picks exactly the chosen groups (a decoder-only model's
``q_proj``); else one full-name regex (CLIP's vision ``q_proj`` only, T5's cross-attention only), with the
chosen blocks written into it since PEFT ignores ``layers_to_transform`` beside a regex. Per-group r and alpha
become ``rank_pattern`` / ``alpha_pattern`` keys that hit that group's modules and no other. Every answer is
checked with PEFT's own matchers before it is returned.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.anatomy.groups import ModuleGroup, find_group
from core.anatomy.inventory import Inventory, block_index
from core.errors import LensError
from core.limits import MAX_REGEX_CHARS, check_regex
from core.planning.plan import MAX_PATTERN_CHARS, MAX_PATTERNS, AlphaPairs, LoraPlan, Pairs

_BLOCK = re.compile(r"\.(\d+)(?=\.|$)")  # the first numbered segment: the block, as block_index reads it
_END = ""  # trie marker: a name ends here


@dataclass(frozen=True)
class GroupTargets:
    """The LoraPlan fields that adapt exactly the chosen groups (see ``target_groups``)."""

    targets: tuple[str, ...] = ()
    target_regex: str | None = None
    target_parameters: tuple[str, ...] = ()  # fused MoE expert groups
    rank_pattern: Pairs = ()
    alpha_pattern: AlphaPairs = ()
    layers: tuple[int, ...] = ()  # layers_to_transform, with plain names only (a regex carries its blocks)
    names: tuple[str, ...] = ()  # what PEFT will adapt, for the caller to show

    def apply(self, plan: LoraPlan) -> LoraPlan:
        """``plan`` with its targets, patterns and blocks replaced by these (everything else kept)."""
        return plan.with_changes(
            targets=self.targets,
            target_regex=self.target_regex,
            target_parameters=self.target_parameters,
            rank_pattern=self.rank_pattern,
            alpha_pattern=self.alpha_pattern,
            layers=self.layers,
        )


def target_groups(
    inventory: Inventory,
    keys: Sequence[str],
    ranks: Mapping[str, int] | None = None,
    alphas: Mapping[str, float] | None = None,
    layers: Sequence[int] = (),
) -> GroupTargets:
    """Plan fields that adapt exactly the groups ``keys`` (``ModuleGroup.key``), in blocks ``layers`` (all when
    empty; groups outside the blocks are kept whole). ``ranks`` / ``alphas`` map a chosen group's key to its own
    r / alpha; groups left out of them take the plan's."""
    groups = _chosen(inventory, keys, {**(ranks or {}), **(alphas or {})})
    blocks = tuple(sorted(set(layers)))
    wanted = {g.key: tuple(n for n in g.names if not blocks or _in_blocks(n, blocks)) for g in groups}
    modules = [g for g in groups if g.kind != "expert-param"]
    params = [g for g in groups if g.kind == "expert-param"]
    names = tuple(n for g in modules for n in wanted[g.key])
    targets, regex, kept_layers = _module_targets(inventory, modules, names, blocks) if modules else ((), None, ())
    adapted = set(names) | {n for g in params for n in wanted[g.key]}
    rank_pattern = tuple(
        (_pattern_key(g, wanted[g.key], adapted), int(ranks[g.key])) for g in groups if ranks and g.key in ranks
    )
    alpha_pattern = tuple(
        (_pattern_key(g, wanted[g.key], adapted), alphas[g.key]) for g in groups if alphas and g.key in alphas
    )
    return GroupTargets(
        targets,
        regex,
        _parameter_targets(inventory, params, wanted),
        rank_pattern,
        alpha_pattern,
        kept_layers,
        tuple(n for n in (*names, *(n for g in params for n in wanted[g.key]))),
    )


def _chosen(inventory: Inventory, keys: Sequence[str], overrides: Mapping[str, object]) -> list[ModuleGroup]:
    if not keys:
        raise LensError("groups.none")
    groups = []
    for key in dict.fromkeys(keys):
        group = find_group(inventory, key)
        if group is None:
            raise LensError("groups.unknown", group=str(key)[:80])
        groups.append(group)
    stray = [k for k in overrides if k not in keys]
    if stray:
        raise LensError("groups.override_unchosen", group=str(stray[0])[:80])
    return groups


def _in_blocks(name: str, blocks: tuple[int, ...]) -> bool:
    block = block_index(name)
    return block is None or block in blocks


def _module_targets(
    inventory: Inventory, groups: list[ModuleGroup], names: tuple[str, ...], blocks: tuple[int, ...]
) -> tuple[tuple[str, ...], str | None, tuple[int, ...]]:
    """(plain short names, or a full-name regex) that PEFT matches to exactly ``names``."""
    if not names:
        raise LensError("groups.no_blocks")
    shorts = tuple(sorted({g.short_name for g in groups}))
    if _matched(inventory, LoraPlan(targets=shorts, layers=blocks)) == set(names):
        return shorts, None, blocks
    for general in (True, False):  # the block as \d+ (or the chosen blocks), else every name spelled out
        regex = trie_regex([_segments(n, blocks, general) for n in names])
        if len(regex) <= MAX_REGEX_CHARS and _matched(inventory, LoraPlan(target_regex=regex)) == set(names):
            check_regex(regex)
            return (), regex, ()
    raise LensError("groups.too_long", n=len(names))


def _matched(inventory: Inventory, plan: LoraPlan) -> set[str]:
    """Every module name PEFT's matcher picks for ``plan`` (adaptable or not, exclusions applied)."""
    from peft.tuners.tuners_utils import check_target_module_exists

    from core.compat import is_excluded_match
    from core.planning.plan import to_lora_config

    config = to_lora_config(plan)
    found = set()
    for module in inventory.modules:
        hit = module.name and check_target_module_exists(config, module.name)
        if hit and not is_excluded_match(hit):
            found.add(module.name)
    return found


def _segments(name: str, blocks: tuple[int, ...], general: bool) -> list[str]:
    """``name`` split into escaped segments; with ``general``, its block index becomes a digit pattern."""
    match = _BLOCK.search(name) if general else None
    if match is None:
        return [re.escape(s) for s in name.split(".")]
    head, tail = name[: match.start()], name[match.end() + 1 :]
    digits = r"\d+" if not blocks else "(?:" + "|".join(map(str, blocks)) + ")"
    return [*(re.escape(s) for s in head.split(".")), digits, *(re.escape(s) for s in tail.split(".") if tail)]


def trie_regex(paths: Sequence[Sequence[str]]) -> str:
    """One regex for several dotted paths of regex segments, common prefixes written once:
    ``a\\.b\\.(?:q|v)`` for ``a.b.q`` and ``a.b.v``."""
    trie: dict = {}
    for path in paths:
        node = trie
        for segment in path:
            node = node.setdefault(segment, {})
        node[_END] = {}
    return _alternatives([seg + _after(child) for seg, child in trie.items() if seg != _END])


def _after(node: dict) -> str:
    """What may follow a segment: nothing, or a dot and one of its children (optional where a name ends here)."""
    tails = [seg + _after(child) for seg, child in node.items() if seg != _END]
    if not tails:
        return ""
    follow = r"\." + _alternatives(tails)
    return f"(?:{follow})?" if _END in node else follow


def _alternatives(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


def _pattern_key(group: ModuleGroup, names: tuple[str, ...], adapted: set[str]) -> str:
    """The shortest name suffix (PEFT's ``(.*\\.)?(key)$``) that picks ``names`` and no other adapted module."""
    from peft.utils.other import get_pattern_key

    paths = [_segments(n, (), True) for n in names] or [_segments(group.names[0], (), True)]
    for k in range(1, max(len(p) for p in paths) + 1):
        key = trie_regex(list(dict.fromkeys(tuple(p[-k:]) for p in paths)))
        if len(key) > MAX_PATTERN_CHARS:
            break
        if all((get_pattern_key([key], n) == key) == (n in names) for n in adapted):
            return key
    raise LensError("groups.too_long", n=len(names))


def _parameter_targets(
    inventory: Inventory, groups: list[ModuleGroup], wanted: dict[str, tuple[str, ...]]
) -> tuple[str, ...]:
    """Expert parameters by short name where that picks exactly them (PEFT: equal, or ends with ".name"), else by
    full name."""
    if not groups:
        return ()
    names = {n for g in groups for n in wanted[g.key]}
    shorts = sorted({g.short_name for g in groups})
    every = [layer.name for layer in inventory.layers if layer.kind == "expert-param"]
    if {n for n in every if any(n == s or n.endswith("." + s) for s in shorts)} == names:
        return tuple(shorts)
    if len(names) > MAX_PATTERNS:
        raise LensError("groups.too_long", n=len(names))
    return tuple(sorted(names))
