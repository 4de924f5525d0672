"""Hotword measures: B-WER / U-WER, recall and false alarms per hotword, hotword list files."""

from __future__ import annotations

import pytest

from experiments.measures.biasing import biased_rates, read_hotword_file
from logits.errors import LabError


def test_biased_and_unbiased_error_rates():
    refs = ["NAPOLEON SAT ON THE MAT", "THE CAT SAT"]
    hyps = ["NAPOLION SAT ON THE MAT", "THE NAPOLEON SAT NAPOLEON"]
    found = biased_rates(refs, hyps, {"NAPOLEON"})
    # B: one NAPOLEON in the references, misrecognised, and one inserted: 2 errors over 1 word.
    # U: 7 other words; CAT became NAPOLEON (1 error).
    assert found.b_wer == 2.0 and found.u_wer == pytest.approx(1 / 7)
    assert found.per_word["NAPOLEON"] == (1, 0, 2)  # occurrences, recognised, false alarms
    perfect = biased_rates(refs, refs, {"NAPOLEON"})
    assert (perfect.b_wer, perfect.u_wer, perfect.per_word["NAPOLEON"]) == (0.0, 0.0, (1, 1, 0))


def test_hotword_files(tmp_path):
    listed = tmp_path / "hot.txt"
    listed.write_text("# names\nnapoleon\t12\nsaint  helena\t12\n\n")
    assert read_hotword_file(listed) == (["napoleon", "saint helena"], 12.0)
    plain = tmp_path / "plain.txt"
    plain.write_text("napoleon\n")
    assert read_hotword_file(plain) == (["napoleon"], None)
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("a\t1\nb\t2\n")
    with pytest.raises(LabError, match="one weight to every hotword"):
        read_hotword_file(mixed)
    bad = tmp_path / "bad.txt"
    bad.write_text("a\tlots\n")
    with pytest.raises(LabError, match="bad.txt:1: the weight 'lots' is not a number"):
        read_hotword_file(bad)


def test_decode_hotwords_with_a_list_file(tmp_path):
    import json

    from typer.testing import CliRunner

    from cli.app import app
    from sweep_helpers import make_lm, make_store

    store = make_store(tmp_path / "store", sentences=["THE ZEBRA SAT ON THE MAT", "A CAT AND A DOG"])
    lm = make_lm(tmp_path / "tiny.arpa")
    listed = tmp_path / "hot.txt"
    listed.write_text("zebra\t10\n")
    result = CliRunner().invoke(app, ["hotwords", str(store.path), "--hotword-file", str(listed), "--lm", str(lm),
                                      "--decoder", "fastbeam", "--beam-prune-logp", "-20", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["hotwords"] == ["ZEBRA"] and report["per_hotword"][0]["occurrences"] == 1
    assert report["b_wer_boosted"] <= report["b_wer_plain"] and report["u_wer_boosted"] is not None
    none = CliRunner().invoke(app, ["hotwords", str(store.path), "--lm", str(lm)])
    assert none.exit_code == 2 and "give the hotwords" in none.output


def test_decode_hotwords_defaults_to_fastbeam_with_beams_figures_and_counts_its_progress(tmp_path):
    import json

    from typer.testing import CliRunner

    from cli.app import app
    from decoders import DecoderConfig
    from experiments.measures.biasing import hotword_report
    from sweep_helpers import make_lm, make_store

    store = make_store(tmp_path / "store", sentences=["THE ZEBRA SAT ON THE MAT", "A CAT AND A DOG"])
    lm = make_lm(tmp_path / "tiny.arpa")
    args = ["hotwords", str(store.path), "--hotword", "zebra", "--lm", str(lm), "--beam-prune-logp", "-20", "--json"]
    default, beam = (CliRunner().invoke(app, args + extra) for extra in ([], ["--decoder", "beam"]))
    assert default.exit_code == 0 and beam.exit_code == 0, default.output + beam.output
    assert "decoder  fastbeam(" in default.stderr and "decoder  beam(" in beam.stderr  # --json: people's lines on stderr
    assert json.loads(default.stdout) == json.loads(beam.stdout)
    done = []
    config = DecoderConfig("fastbeam", {"lm": str(lm), "beam_prune_logp": -20.0})
    hotword_report(store, config, ["zebra"], on_progress=done.append)
    assert sum(done) == 2 * len(store)  # the plain decode, then the boosted one
