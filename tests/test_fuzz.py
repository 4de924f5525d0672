"""Property-based fuzzing of decoder parameters (the Python API and `decode run`) and of the native search's entry
points: any value gets a result or one error (a LabError, one `error:` line and exit 2, or a Python exception from
the native module), never a signal, a hang or a traceback.

Every example runs in a child process (tests/fuzz_worker.py), so a segfault fails the example instead of pytest.
`make test` runs a short, derandomized pass; CTC_LAB_FUZZ=long runs 20,000 random examples of each (400 of
`decode run`), and --hypothesis-show-statistics tallies what they gave:

    CTC_LAB_FUZZ=long .venv/bin/python -m pytest tests/test_fuzz.py -q --hypothesis-show-statistics
"""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from decoders.constants import PARAM_RULES
from sweep_helpers import make_lm, make_store

REPO = Path(__file__).resolve().parents[1]
LONG = os.environ.get("CTC_LAB_FUZZ", "") == "long"
# derandomize: the short pass is the same examples on every run, so `make test` is deterministic.
QUICK = settings(max_examples=20_000 if LONG else 30, deadline=None, derandomize=not LONG, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(QUICK, max_examples=400 if LONG else 6)  # each `decode run` example costs a CLI invocation
ANSWER_SECONDS = 120  # longer than any example needs: past it the child counts as hung


class Worker:
    """The child process running the examples, restarted after one dies."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.process: subprocess.Popen | None = None

    def ask(self, request: dict) -> dict:
        if self.process is None or self.process.poll() is not None:
            env = os.environ | {"PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
            self.process = subprocess.Popen([sys.executable, str(REPO / "tests" / "fuzz_worker.py")], cwd=REPO,
                                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=open(self.log, "ab"), text=True)
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], ANSWER_SECONDS)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise AssertionError(f"the child {'died with ' + str(self.process.returncode) if ready else 'hung'} on "
                                 f"{request}")
        answer = json.loads(line)
        assert "traceback" not in answer, f"{request}\n{answer['traceback']}"
        return answer

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    child = Worker(tmp_path_factory.mktemp("fuzz") / "worker.log")
    yield child
    child.close()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzzdata")
    return {"store": str(make_store(root / "store").path), "lm": str(make_lm(root / "lm" / "tiny.arpa"))}


def test_a_crash_in_the_child_fails_the_example_and_the_next_one_gets_a_fresh_child(worker, data):
    with pytest.raises(AssertionError, match="died with -11"):
        worker.ask({"kind": "segfault"})
    assert "ok" in worker.ask({"kind": "api", "lm": data["lm"], "params": {}})


EDGES = [math.nan, math.inf, -math.inf, 1e308, -1e308, 5e-324, -5e-324, 0.0, -0.0, 1e-12, 3e38, -3e38]
any_float = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(EDGES))
any_int = st.one_of(st.integers(min_value=-2**70, max_value=2**70), st.integers(min_value=-3, max_value=300))
any_value = st.one_of(any_float, any_int, st.none(), st.booleans(), st.text(max_size=3))
hotwords = st.one_of(st.lists(st.text(alphabet="CATDOG '東", max_size=6), max_size=3), any_value)
params = st.fixed_dictionaries({}, optional={key: hotwords if key == "hotwords" else st.one_of(
    any_int if PARAM_RULES[key].kind == "int" else any_float, any_value) for key in PARAM_RULES})


@QUICK
@given(params=params)
def test_any_parameter_values_build_or_get_one_error_line(worker, data, params):
    answer = worker.ask({"kind": "api", "lm": data["lm"], "params": params})
    event("decoded" if "ok" in answer else f"refused: {answer['error'].split(' must ')[0].split(':')[0][:40]}")
    if "error" in answer:
        assert answer["type"] in ("DecoderConfigError", "LMError") and "\n" not in answer["error"], answer
        assert any(key.removesuffix("s") in answer["error"] for key in params), answer  # "hotword '東' ..."


OPTIONS = {"--alpha": any_float, "--beta": any_float, "--hotword-weight": any_float,
           "--beam-prune-logp": any_float, "--token-min-logp": any_float, "--unk-score-offset": any_float,
           "--beam-width": any_int}


@SLOW
@given(options=st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.just(None), min_size=1, max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({key: OPTIONS[key] for key in keys})),
    decoder=st.sampled_from(["fastbeam", "beam"]))
def test_decode_run_with_any_values_exits_0_or_2_with_one_error_line(worker, data, options, decoder):
    args = ["run", data["store"], "--decoder", decoder, "--lm", data["lm"], "--hotword", "CAT"]
    for option, value in options.items():
        args += [option, repr(value) if isinstance(value, float) else str(value)]
    answer = worker.ask({"kind": "cli", "args": args})
    event(f"exit {answer['exit_code']}")
    assert answer["exit_code"] in (0, 2) and "Traceback" not in answer["output"], answer
    if answer["exit_code"] == 2:
        errors = [line for line in answer["output"].splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, answer


LABELS = st.one_of(st.sampled_from(["", " ", "A", "B", "▁", "▁A", "⁇", "<s>"]), st.text(max_size=2),
                   st.binary(max_size=3).map(lambda raw: "hex:" + raw.hex()))
ARRAY = st.fixed_dictionaries({
    "shape": st.one_of(st.tuples(st.integers(0, 12), st.integers(0, 7)).map(list),
                       st.lists(st.integers(0, 4), max_size=3)),
    "dtype": st.sampled_from(["float32", "float64", "float16", "int32", "int64", "bool"]),
    "values": st.lists(st.one_of(any_float, st.floats(-30, 0)), max_size=12),
})
# Half the weights in the search's range, so that searches run as well as refusals.
weight = st.one_of(st.floats(-30, 30), any_float)
SEARCH_PARAMS = st.fixed_dictionaries({
    "beam_width": st.one_of(st.integers(-3, 40), any_int), "beam_prune_logp": weight,
    "token_min_logp": weight, "alpha": weight, "beta": weight, "unk_score_offset": weight,
    "lm_score_boundary": st.booleans(), "hotword_weight": weight, "prune_history": st.booleans()})
NATIVE = st.fixed_dictionaries({
    "call": st.sampled_from(["decode", "decode_nbest", "decode_batch", "score_parts_batch", "best_paths"]),
    "labels": st.lists(LABELS, max_size=7), "bpe": st.booleans(), "params": SEARCH_PARAMS,
    "fit_columns": st.booleans(),  # the arrays' width set to the labels' count, as a real call has it
    "hotwords": st.lists(st.text(alphabet="AB▁ ", max_size=4), max_size=3),
    "arrays": st.lists(ARRAY, min_size=1, max_size=3), "k": st.integers(-3, 2**31 - 1), "threads": st.integers(-2, 4),
    "starts": st.lists(st.integers(-3, 14), max_size=3), "ends": st.lists(st.integers(-3, 14), max_size=3),
    "blank": st.integers(-3, 8), "word_starts": st.lists(st.booleans(), max_size=7),
})


VALID_PARAMS = dict(beam_width=8, beam_prune_logp=-10.0, token_min_logp=-5.0, alpha=0.5, beta=1.0,
                    unk_score_offset=-10.0, lm_score_boundary=True, hotword_weight=10.0, prune_history=False)


def valid(call: str) -> dict:
    """A request the native module answers with a result (so the short pass searches, not only refuses)."""
    return {"call": call, "labels": ["", " ", "A", "B"], "bpe": False, "params": VALID_PARAMS, "fit_columns": True,
            "hotwords": ["AB"], "k": 3, "threads": 2, "starts": [0], "ends": [3], "blank": 0,
            "word_starts": [False, True, False, False],
            "arrays": [{"shape": [3, 4], "dtype": "float32", "values": [-0.1, -3.0, -4.0, -9.0, -0.2]}]}


@QUICK
@given(request=NATIVE)
@example(request=valid("decode"))
@example(request=valid("decode_nbest"))
@example(request=valid("decode_batch"))
@example(request=valid("score_parts_batch"))
@example(request=valid("best_paths"))
def test_the_native_entry_points_answer_or_raise(worker, request):
    answer = worker.ask({"kind": "native"} | request)
    event(f"{request['call']}: " + ("result" if "ok" in answer else answer["error"].split(":")[0]))
    if request["labels"] == valid(request["call"])["labels"] and request["params"] == VALID_PARAMS:
        assert "ok" in answer, answer
    assert "ok" in answer or answer["error"].split(":")[0].endswith(("Error", "Exception")), answer
