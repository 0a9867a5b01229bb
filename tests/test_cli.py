"""The CLI contract: layers/budget JSON equal PEFT's numbers; bad input exits 2 with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse errors
        code = int(exc.code)
    out, err = capsys.readouterr()
    return code, out, err


def peft_counts(slug: str, task: str | None, **plan_kwargs) -> tuple[int, int, list[str]]:
    from peft import get_peft_model

    from core.models.meta import build_meta_model
    from core.models.sources import ModelSpec, load_config
    from core.planning.plan import LoraPlan, to_lora_config

    mc = load_config(ModelSpec("catalog", slug, task))
    model = get_peft_model(build_meta_model(mc), to_lora_config(LoraPlan(task=mc.task, **plan_kwargs)))
    adapted = sorted({n.split(".lora_A")[0].removeprefix("base_model.model.") for n, _ in model.named_parameters()
                      if ".lora_A." in n})
    return (*model.get_nb_trainable_parameters(), adapted)


@pytest.mark.parametrize(
    ("argv", "task", "plan"),
    [
        (["llama-3.2-1b", "--target", "q_proj", "v_proj", "--r", "16", "--alpha", "32"], None,
         {"targets": ("q_proj", "v_proj"), "r": 16, "lora_alpha": 32}),
        (["gpt2", "--target", "all-linear", "--bias", "lora_only"], None,
         {"target_regex": "all-linear", "bias": "lora_only"}),
        (["bert-base", "--task", "seq-cls", "--target", "query", "value", "--layers", "0,2", "--dora"], "seq-cls",
         {"targets": ("query", "value"), "layers": (0, 2), "use_dora": True}),
        (["t5-base", "--target", r".*\.(q|v)", "--rslora", "--r", "4"], None,
         {"target_regex": r".*\.(q|v)", "use_rslora": True, "r": 4}),
        (["smollm2-135m", "--target", "q_proj", "--modules-to-save", "lm_head", "--bias", "all"], None,
         {"targets": ("q_proj",), "modules_to_save": ("lm_head",), "bias": "all"}),
        (["llama-3.2-1b", "--target", "q_proj", "v_proj", "--rank-pattern", "q_proj=16", r"layers\.0\..*v_proj=2",
          "--alpha-pattern", "v_proj=64", "--exclude", "layers.1.self_attn.q_proj"], None,
         {"targets": ("q_proj", "v_proj"), "rank_pattern": (("q_proj", 16), (r"layers\.0\..*v_proj", 2)),
          "alpha_pattern": (("v_proj", 64),), "exclude_modules": ("layers.1.self_attn.q_proj",)}),
        (["mixtral-8x7b", "--target", "q_proj", "experts.gate_up_proj", "--dropout", "0"], None,  # routed
         {"targets": ("q_proj",), "target_parameters": ("experts.gate_up_proj",), "lora_dropout": 0.0}),
        (["mixtral-8x7b", "--target-parameters", "experts.down_proj", "--dropout", "0", "--rank-pattern",
          "down_proj=4"], None,
         {"target_parameters": ("experts.down_proj",), "lora_dropout": 0.0, "rank_pattern": (("down_proj", 4),)}),
        (["t5-base", "--target", "q", "v", "--layers", "0,1", "--init", "gaussian"], None,
         {"targets": ("q", "v"), "layers": (0, 1), "init_lora_weights": "gaussian"}),
    ],
)
def test_budget_json_equals_peft(capsys, argv, task, plan):
    code, out, err = run_cli(capsys, "budget", *argv, "--json")
    assert code == 0, err
    payload = json.loads(out)
    trainable, total, adapted = peft_counts(argv[0], task, **plan)
    assert payload["trainable_params"] == trainable
    assert payload["total_params"] == total
    # a wrapped parameter (one per module here) shows in PEFT as its module carrying lora_A
    assert sorted({m["name"].rsplit(".", 1)[0] if m["parameter"] else m["name"] for m in payload["modules"]}) == adapted
    assert all(m["lora_params"] > 0 for m in payload["modules"])
    assert sum(g["params"] for g in payload["groups"]) == trainable - payload["saved_params"] - (
        payload["bias_params"] if plan.get("bias") == "all" else 0)


def test_budget_json_and_text_show_each_groups_rank_and_scaling(capsys):
    argv = ["budget", "llama-3.2-1b", "--target", "q_proj", "v_proj", "--r", "8", "--alpha", "16",
            "--rank-pattern", "q_proj=32", "nowhere=4", "--alpha-pattern", "v_proj=4"]
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code == 0, err
    payload = json.loads(out)
    groups = {g["name"]: (g["r"], g["scaling"]) for g in payload["groups"]}
    assert groups == {"q_proj": ([32], [0.5]), "v_proj": ([8], [0.5])}
    assert {(m["r"], m["scaling"]) for m in payload["modules"]} == {(32, 0.5), (8, 0.5)}
    assert any("nowhere" in w for w in payload["warnings"])
    code, out, _ = run_cli(capsys, *argv)
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("q_proj"))
    assert row[:4] == ["q_proj", "16", "32", "0.5"]
    assert "warning: rank_pattern keys nowhere match no adapted module" in out


def test_layers_json_lists_every_adaptable_module(capsys):
    code, out, _ = run_cli(capsys, "layers", "gpt2", "--json")
    assert code == 0
    payload = json.loads(out)
    names = {row["name"] for row in payload["layers"]}
    assert "transformer.h.0.attn.c_attn" in names and "lm_head" in names
    row = next(r for r in payload["layers"] if r["name"] == "transformer.h.0.attn.c_attn")
    assert (row["in_features"], row["out_features"], row["kind"]) == (768, 2304, "conv1d-transposed")


def test_readable_output(capsys):
    code, out, _ = run_cli(capsys, "budget", "smollm2", "--target", "q_proj", "v_proj")
    assert code == 0 and "trainable params: 460,800" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["budget", "no-such-model-xyz"], "Hub"),
        (["budget", "not a valid id!!"], "not a valid Hub id"),
        (["budget", "gpt2", "--target", "nothing_here"], "matches no layer"),
        (["budget", "gpt2", "--target", "mlp"], "cannot adapt"),
        (["budget", "gpt2", "--target", "c_attn", "--r", "0"], "r must be"),
        (["budget", "gpt2", "--target", "c_attn", "--r", "100000"], "r must be"),
        (["budget", "gpt2", "--target", "c_attn", "--alpha", "-1"], "lora_alpha"),
        (["budget", "gpt2", "--target", "c_attn", "--dropout", "1.5"], "lora_dropout"),
        (["budget", "gpt2", "--target", "c_attn", "--layers", "0,99"], "outside this model"),
        (["budget", "gpt2", "--target", "c_attn", "--bias", "some"], "invalid choice"),
        (["layers", "/nonexistent/folder/x"], "does not exist"),
        (["budget", "gpt2", "--target", "c_attn", "--rank-pattern", "c_attn"], "NAME=NUMBER"),
        (["budget", "gpt2", "--target", "c_attn", "--rank-pattern", "c_attn=1.5"], "NAME=NUMBER"),
        (["budget", "gpt2", "--target", "c_attn", "--alpha-pattern", "=4"], "NAME=NUMBER"),
        (["budget", "gpt2", "--target", "c_attn", "--rank-pattern", "c_attn=0"], "r must be"),
        (["budget", "gpt2", "--target", "c_attn", "--alpha-pattern", "c_attn=-2"], "alpha must be"),
        (["budget", "gpt2", "--target", "c_attn", "--rank-pattern", "c_(attn=4"], "is invalid"),
        (["budget", "gpt2", "--target", "c_attn", "--init", "eva"], "invalid choice"),
        (["budget", "gpt2", "--target", "c_attn", "--init", "olora"], "stored transposed"),
        (["budget", "mixtral-8x7b", "--target-parameters", "experts.gate_up_proj"], "lora_dropout to 0"),
        (["budget", "llama-3.2-1b", "--target", "q_proj", "--exclude", "q_proj"], "matches no layer"),
        (["memory", "llama-3.2-1b", "--target", "q_proj", "--rank-pattern", "q_proj=x"], "NAME=NUMBER"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_folder_and_remote_code(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "layers", str(tmp_path / "empty"))
    assert code == 2 and "no config.json" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    code, _, err = run_cli(capsys, "layers", str(bad))
    assert code == 2 and "not valid JSON" in err
    remote = tmp_path / "remote"
    remote.mkdir()
    (remote / "config.json").write_text(json.dumps({"model_type": "llama", "auto_map": {"AutoModel": "x.Y"}}))
    code, _, err = run_cli(capsys, "layers", str(remote))
    assert code == 2 and "trust_remote_code" in err


def test_python_m_core_entry_point():
    proc = subprocess.run([sys.executable, "-m", "core", "budget", "gpt2", "--target", "c_attn", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["trainable_params"] == 294_912


def test_lora_lens_command_is_python_m_core():
    """The installed console script runs the same CLI as ``python -m core``: same output, same exit codes."""
    import shutil

    script = shutil.which("lora-lens")
    assert script, "the lora-lens command is not installed (run.sh installs the project with pip -e .)"
    argv = ["budget", "gpt2", "--target", "c_attn", "--r", "4", "--json"]
    by_script = subprocess.run([script, *argv], capture_output=True, text=True, timeout=120)
    by_module = subprocess.run([sys.executable, "-m", "core", *argv], capture_output=True, text=True, timeout=120)
    assert by_script.returncode == by_module.returncode == 0, by_script.stderr
    assert json.loads(by_script.stdout) == json.loads(by_module.stdout)
    bad = subprocess.run([script, "budget", "gpt2", "--r", "0"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_every_command_is_registered_explicitly():
    """A command whose module fails to import must break the CLI loudly, not vanish from it."""
    from core.cli.main import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {"layers", "budget", "memory", "train", "analyze", "sweep", "warm"}
    assert len(COMMANDS) == len(sub.choices)
