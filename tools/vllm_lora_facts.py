"""Write core/serving/vllm-<version>.json: per architecture, the LoRA facts vLLM's own model classes declare.

Reads vLLM's source without importing it (vLLM needs CUDA builds): ``python tools/vllm_lora_facts.py SRC/vllm``
where SRC is an unpacked vLLM wheel (``pip download vllm==X --no-deps --only-binary :all:`` then unzip). For each
architecture in ``model_executor/models/registry.py`` it follows the class's bases (a depth-first stand-in for the
MRO) and records what ``vllm/lora`` reads: ``SupportsLoRA``, ``embedding_modules``, ``is_3d_moe_weight``,
``supports_tower_connector_lora``, ``get_mm_mapping()``'s prefixes and ``hf_to_vllm_mapper``'s prefix renames.
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ATTRS = ("embedding_modules", "is_3d_moe_weight", "supports_tower_connector_lora", "supports_lora")
SKIP_GROUPS = {"_VLLM_MODELS", "_PREVIOUSLY_SUPPORTED_MODELS", "_OOT_SUPPORTED_MODELS", "_SPECULATIVE_DECODING_MODELS"}


class Source:
    def __init__(self, root: Path) -> None:
        self.models = root / "model_executor/models"
        version_file = (root / "_version.py").read_text()
        self.version = version_file.split("version = '")[1].split("'")[0]
        self.commit = version_file.split("commit_id = '")[1].split("'")[0] if "commit_id = '" in version_file else "?"
        self._parsed: dict[str, tuple[dict, dict] | None] = {}
        self.paths: dict[str, str] = {}

    def parse(self, mod: str) -> tuple[dict, dict] | None:
        if mod not in self._parsed:
            path = self.models / (mod.replace(".", "/") + ".py")
            if not path.exists():
                path = self.models / mod.replace(".", "/") / "__init__.py"
            self._parsed[mod] = _classes_and_imports(mod, path) if path.exists() else None
            self.paths[mod] = path.relative_to(self.models.parents[2]).as_posix() if path.exists() else "?"
        return self._parsed[mod]

    def resolve(self, mod: str, name: str, depth: int = 0) -> tuple[str, ast.ClassDef] | str | None:
        info = self.parse(mod)
        if info is None or depth > 20:
            return None
        classes, imports = info
        if name in classes:
            return mod, classes[name]
        if name in imports:
            base, orig = imports[name]
            if orig == "SupportsLoRA":
                return "SupportsLoRA"
            return self.resolve(base, orig, depth + 1) if base else None
        return None

    def facts(self, mod: str, cls: ast.ClassDef) -> dict:
        found: dict = {}
        supports = [False]

        def walk(mod: str, cls: ast.ClassDef, depth: int) -> None:
            if depth > 30:
                return
            _read_body(cls, found)
            for base in cls.bases:
                name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)
                target = self.resolve(mod, name) if name and name != "SupportsLoRA" else "SupportsLoRA"
                if target == "SupportsLoRA":
                    supports[0] = supports[0] or name == "SupportsLoRA" or target == "SupportsLoRA"
                elif target:
                    walk(target[0], target[1], depth + 1)

        walk(mod, cls, 0)
        out = {"supports_lora": supports[0] or found.pop("supports_lora", False) is True}
        if found.get("embedding_modules"):
            out["embedding_modules"] = sorted(found["embedding_modules"])
        for flag in ("is_3d_moe_weight", "supports_tower_connector_lora"):
            if found.get(flag) is True:
                out[flag] = True
        if "mm" in found:
            out["mm"] = found["mm"]
        if found.get("prefix_renames"):
            out["prefix_renames"] = found["prefix_renames"]
        return out


def _classes_and_imports(mod: str, path: Path) -> tuple[dict, dict]:
    classes, imports = {}, {}
    package = mod.rsplit(".", 1)[0] + "." if "." in mod else ""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ClassDef):
            classes[node.name] = node
        elif isinstance(node, ast.ImportFrom):
            src = node.module or ""
            if node.level == 1:
                base = package + src
            elif node.level == 2 or src.startswith("vllm.model_executor.models."):
                base = src.removeprefix("vllm.model_executor.models.")
            else:
                base = None
            for alias in node.names:
                imports[alias.asname or alias.name] = (base, alias.name)
    return classes, imports


def _literal(node: ast.AST) -> object:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return None


def _read_body(cls: ast.ClassDef, found: dict) -> None:
    """Class attributes and get_mm_mapping() of one class; the first class (nearest in the MRO) wins."""
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for target in targets:
                name = getattr(target, "id", None)
                if name in ATTRS and name not in found:
                    found[name] = _literal(stmt.value)
                if name == "hf_to_vllm_mapper" and "prefix_renames" not in found:
                    found["prefix_renames"] = _prefix_renames(stmt.value)
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "get_mm_mapping" and "mm" not in found:
            for call in ast.walk(stmt):
                if isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "from_string_field":
                    found["mm"] = {kw.arg: _as_list(_literal(kw.value)) for kw in call.keywords if kw.arg}


def _prefix_renames(node: ast.AST) -> dict | None:
    if isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg == "orig_to_new_prefix":
                value = _literal(kw.value)  # in order: vLLM applies every matching prefix, one after another
                return [[k, v] for k, v in value.items() if v is not None] if isinstance(value, dict) else None
    return None


def _as_list(value: object) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def main(root: str) -> None:
    source = Source(Path(root))
    registry = ast.parse((source.models / "registry.py").read_text())
    table: dict[str, dict] = {}
    for node in registry.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)):
            continue
        group = node.targets[0].id
        if group in SKIP_GROUPS:
            continue
        for key_node, value_node in zip(node.value.keys, node.value.values, strict=True):
            arch, value = _literal(key_node), _literal(value_node)
            if not isinstance(arch, str) or not isinstance(value, tuple) or arch in table:
                continue
            module, cls = value
            found = source.resolve(module, cls)
            row = {"class": cls, "group": group.strip("_").lower().removesuffix("_models")}
            if isinstance(found, tuple):
                row["file"] = source.paths.get(found[0], "?")
                row.update(source.facts(*found))
            else:  # defined outside vllm/model_executor/models: not read, so not claimed either way
                row["supports_lora"] = None
            table[arch] = row
    lines = [f"  {json.dumps(arch)}: {json.dumps(table[arch])}" for arch in sorted(table)]
    head = f'{{"vllm": "{source.version}", "commit": "{source.commit}",\n "architectures": {{\n'
    sys.stdout.write(head + ",\n".join(lines) + "\n }}\n")


if __name__ == "__main__":
    main(sys.argv[1])
