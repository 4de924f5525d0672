"""The sweep spec: what a sweep is, checked when it is made; the convenience call builds the same spec."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from decoders.config import DecoderConfig
from experiments.sweep import RunOptions, SweepSpec, sweep
from experiments.sweep.grid import Grid
from experiments.sweep.rescore import Anchor
from logits.errors import LabError
from sweep_helpers import rows


def test_of_parses_the_grid_and_puts_fixed_parameters_in_the_decoder_config():
    spec = SweepSpec.of("data/s", "lm.bin", "0.5,1", "0:1:1", decoder="beam", params={"beam_width": 8},
                        extra={"token_min_logp": [-5, -10]}, run_dir="runs/x")
    assert spec.store == Path("data/s") and spec.lm == Path("lm.bin") and spec.run_dir == Path("runs/x")
    assert spec.grid == Grid((0.5, 1.0), (0.0, 1.0))
    assert spec.decoder == DecoderConfig("beam", {"beam_width": 8})
    assert spec.extra == (("token_min_logp", (-5, -10)),) and spec.swept == {"token_min_logp": (-5, -10)}
    assert spec == SweepSpec(Path("data/s"), Path("lm.bin"), Grid((0.5, 1.0), (0.0, 1.0)),
                             DecoderConfig("beam", {"beam_width": 8}), extra={"token_min_logp": (-5, -10)},
                             run_dir=Path("runs/x"))


def test_a_spec_is_frozen_and_derived_with_replace():
    spec = SweepSpec.of("s", "lm.bin", "0.5", "1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.refine = 2
    finer = dataclasses.replace(spec, grid=Grid((0.25, 0.5), (1.0,)), run_dir="runs/r")
    assert finer.grid.alphas == (0.25, 0.5) and finer.run_dir == Path("runs/r") and spec.run_dir is None
    assert finer.decoder == spec.decoder == DecoderConfig("fastbeam")


@pytest.mark.parametrize("settings, message", [
    ({"method": "exhaustive"}, "unknown sweep method 'exhaustive'"),
    ({"method": "rescore", "refine": 1}, "--method rescore sweeps alpha and beta only"),
    ({"method": "rescore", "extra": {"beam_width": [10]}}, "--method rescore sweeps alpha and beta only"),
    ({"params": {"alpha": 0.5}}, "params ['alpha'] are set by the sweep itself"),
    ({"nbest": 0}, "--nbest must be >= 1, got 0"),
    ({"exact": 0}, "--exact must be >= 1, got 0"),
    ({"radius": float("inf")}, "--radius must be a number of grid steps > 0, got inf"),
    ({"refine": -1}, "--refine must be >= 0, got -1"),
])
def test_a_bad_spec_fails_when_made(settings, message):
    with pytest.raises(LabError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SweepSpec.of("s", "lm.bin", "0.5", "1", **settings)


def test_anchors_become_a_tuple():
    spec = SweepSpec.of("s", "lm.bin", "0.5", "1", method="rescore", anchors=[Anchor(0.5, 1.0)])
    assert spec.anchors == (Anchor(0.5, 1.0),)


def test_the_convenience_call_runs_the_same_spec(store, lm, tmp_path):
    spec = SweepSpec.of(store.path, lm, "0.5,1", "0", run_dir=tmp_path / "a")
    by_spec = sweep(spec, options=RunOptions(workers=1, show_progress=False))
    by_args = sweep(store.path, lm, alphas="0.5,1", betas="0", run_dir=tmp_path / "b", workers=1,
                    show_progress=False)
    assert [(p.key, p.wer, p.cer) for p in by_spec.results.points] == [
        (p.key, p.wer, p.cer) for p in by_args.results.points]
    assert len(rows(tmp_path / "a")) == len(rows(tmp_path / "b")) == 3  # two points and greedy


def test_sweep_of_a_spec_refuses_spec_fields_beside_it():
    spec = SweepSpec.of("s", "lm.bin", "0.5", "1")
    with pytest.raises(TypeError, match="dataclasses.replace"):
        sweep(spec, decoder="beam")
    with pytest.raises(TypeError, match="both options and"):
        sweep(spec, options=RunOptions(), workers=2)
    with pytest.raises(TypeError, match="needs a SweepSpec, or a store and an LM"):
        sweep("s")


def test_both_executors_implement_the_declared_protocol(store, lm, tmp_path):
    import inspect

    from decoders import build_decoder
    from experiments.sweep import Executor
    from experiments.sweep.dask_executor import DaskExecutor
    from experiments.sweep.executors import LocalExecutor
    from experiments.sweep.results import ResultsDB

    decoder = build_decoder(DecoderConfig("fastbeam", {"lm": str(lm)}), store.vocabulary)
    local = LocalExecutor(store, None, decoder, ResultsDB(tmp_path / "run"), workers=2)
    assert isinstance(local, Executor) and local.describe() == "local"
    for name in ("describe", "run", "rescore", "close"):
        declared = inspect.signature(getattr(Executor, name)).parameters
        for cls in (LocalExecutor, DaskExecutor):
            assert list(inspect.signature(getattr(cls, name)).parameters) == list(declared), (cls, name)
