"""`decode speak`: espeak-ng speech in the LibriSpeech layout, seeded voice draws, skips, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
from typer.testing import CliRunner

from acoustic.audio import open_audio_source
from acoustic.speech import SpeechError, VoiceSettings, draw_voice, speak
from audio_fixtures import have_tools
from cli.app import app

if not have_tools():
    pytest.skip("espeak-ng and sox are needed to make test speech", allow_module_level=True)

SENTENCES = ["THE CAT SAT ON THE MAT", "", "A DOG", "SHE SAW THE DOG ON THE MAT"]


def test_speech_reads_as_a_labelled_corpus_with_its_draws_recorded(tmp_path):
    report = speak(SENTENCES, tmp_path / "s", seed=3, voices=VoiceSettings(noise=0.5), show_progress=False)
    assert (report.utterances, report.written) == (3, 3)
    assert [s.reason for s in report.skipped] == ["empty sentence"]
    source = open_audio_source(tmp_path / "s")
    assert [e.reference for e in source.entries] == [SENTENCES[0], SENTENCES[2], SENTENCES[3]]
    assert not source.problems
    info = soundfile.info(source.entries[0].key)
    assert (info.samplerate, info.channels, info.format, info.subtype) == (16000, 1, "FLAC", "PCM_16")
    table = (tmp_path / "s" / "espeak" / "0000" / "voices.tsv").read_text().splitlines()
    assert table[0].split("\t") == ["id", "voice", "speed", "pitch", "amplitude", "snr_db"]
    first = draw_voice(VoiceSettings(noise=0.5), 3, 0)
    assert table[1].split("\t")[1:5] == [first.name, str(first.speed), str(first.pitch), str(first.amplitude)]


def test_same_seed_same_audio_other_seed_other_voices(tmp_path):
    one = speak(SENTENCES[:1], tmp_path / "a", seed=1, show_progress=False)
    two = speak(SENTENCES[:1], tmp_path / "b", seed=1, show_progress=False)
    flac = "espeak/0000/espeak-0000-000000.flac"
    assert (one.out / flac).read_bytes() == (two.out / flac).read_bytes()
    draws = {draw_voice(VoiceSettings(), seed, 0) for seed in range(8)}
    assert len(draws) > 1 and all(d.family in VoiceSettings().families for d in draws)


def test_an_interrupted_run_resumes_and_other_settings_are_refused(tmp_path, monkeypatch):
    import acoustic.speech as speech

    out = tmp_path / "s"
    real = speech._speak_one
    calls = []

    def failing(text, voice, path, noise_seed):
        calls.append(path.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(text, voice, path, noise_seed)

    monkeypatch.setattr(speech, "_speak_one", failing)
    with pytest.raises(KeyboardInterrupt):
        speak(SENTENCES, out, seed=0, jobs=1, show_progress=False)
    assert not list(out.rglob("*.trans.txt"))  # the chapter is not complete: no transcript vouches for it
    monkeypatch.setattr(speech, "_speak_one", real)
    resumed = speak(SENTENCES, out, seed=0, jobs=1, show_progress=False)
    assert resumed.utterances == 3 and resumed.written < 3  # what the first run finished was kept
    fresh = speak(SENTENCES, tmp_path / "fresh", seed=0, show_progress=False)
    assert [p.read_bytes() for p in sorted(out.rglob("*.flac"))] == [
        p.read_bytes() for p in sorted(fresh.out.rglob("*.flac"))]
    with pytest.raises(SpeechError, match="other settings.*seed"):
        speak(SENTENCES, out, seed=1, show_progress=False)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("mine")
    with pytest.raises(SpeechError, match="not a speech folder"):
        speak(SENTENCES, tmp_path / "other", show_progress=False)


def test_cli(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("\n".join(SENTENCES) + "\n")
    result = CliRunner().invoke(app, ["speak", str(text), "--out", str(tmp_path / "s"), "--voices", "unseen",
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["utterances"] == 3
    assert "en-gb-scotland" in (tmp_path / "s" / "espeak" / "0000" / "voices.tsv").read_text()
    missing = CliRunner().invoke(app, ["speak", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "t")])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_the_shipped_model_recognises_espeak_speech(tmp_path):
    """models/espeak-ctc is a real trained model: it reads held-out sentences spoken in a training voice family."""
    pytest.importorskip("transformers")
    from acoustic.cache import cache_logits
    from decoders import DecoderConfig, build_decoder
    from logits.scoring import score
    from logits.store import LogitsStore

    sentences = ["IT IS A TRUTH UNIVERSALLY ACKNOWLEDGED", "SHE WAS NOT AT ALL AFRAID OF HIM",
                 "THEY WALKED TOWARDS THE HOUSE IN SILENCE"]
    speak(sentences, tmp_path / "speech", seed=0, voices=VoiceSettings(families=("en-us",)), show_progress=False)
    shipped = Path(__file__).resolve().parents[1] / "models" / "espeak-ctc"
    report = cache_logits(str(shipped), tmp_path / "speech", tmp_path / "store", progress=False)
    store = LogitsStore.open(report.store)
    assert store.frames_per_second == 50.0 and store.provenance["model_weights_sha256"]
    greedy = build_decoder(DecoderConfig("greedy"), store.vocabulary).decode_store(store)
    assert score(store.references, [h.text for h in greedy]).cer < 0.2  # 5.7% on the 400 held-out sentences
