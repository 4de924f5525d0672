"""The decoder registry: a user's decoder joins by name without editing the factory; name clashes are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import decoders
from cli.app import app
from decoders import Decoder, DecoderConfig, Hypothesis, build_decoder, decoder_classes, register_decoder
from decoders import factory
from decoders.errors import DecoderConfigError
from logits.scoring import score


@pytest.fixture()
def registry(monkeypatch):
    """The registry as it is, restored after the test: a test's decoders do not leak into the others."""
    decoder_classes()  # the built-ins registered
    monkeypatch.setattr(factory, "_registered", dict(factory._registered))


def spoken_decoder():
    class Spoken(Decoder):
        """Says the same words whatever it hears."""

        name = "spoken"
        defaults = {"words": "THE CAT"}

        def _decode(self, logprobs: np.ndarray) -> Hypothesis:
            return Hypothesis(self.param("words"))

    return Spoken


def test_the_public_api_is_exported_and_the_builtins_are_registered():
    assert set(decoders.__all__) >= {"Decoder", "BeamDecoder", "DecoderConfig", "build_decoder", "decoder_classes",
                                     "register_decoder", "Hypothesis", "WordSpan"}
    from decoders.beam_base import BeamDecoder

    assert decoders.BeamDecoder is BeamDecoder and issubclass(BeamDecoder, Decoder)
    assert list(decoder_classes())[:5] == ["greedy", "beam", "fastbeam", "ctcbeam", "flashlight"]
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        decoders.Nope


def test_a_registered_decoder_is_built_by_name_and_run_by_decode_run(registry, store):
    spoken = register_decoder(spoken_decoder())  # as a decorator returns it
    assert decoder_classes()["spoken"] is spoken
    built = build_decoder(DecoderConfig("spoken", {"words": "A DOG"}), store.vocabulary)
    assert isinstance(built, spoken) and built.decode(store[0]).text == "A DOG"
    result = CliRunner().invoke(app, ["run", str(store.path), "--decoder", "spoken", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["decoder"] == {"name": "spoken", "params": {"words": "THE CAT"}}
    assert summary["wer"] == score(store.references, ["THE CAT"] * len(store)).wer


def test_a_name_clash_is_refused_with_both_names(registry):
    register_decoder(spoken_decoder())
    other = type("Other", (spoken_decoder(),), {"__module__": "elsewhere"})
    with pytest.raises(DecoderConfigError, match=r"cannot register elsewhere.Other as 'spoken': .*Spoken has that"):
        register_decoder(other)
    builtin = type("MyBeam", (spoken_decoder(),), {"name": "beam"})
    with pytest.raises(DecoderConfigError, match="that is the built-in decoder of decoders.beam"):
        register_decoder(builtin)
    assert decoder_classes()["beam"].__module__ == "decoders.beam"


def test_registering_the_same_class_again_replaces_it(registry):
    first = register_decoder(spoken_decoder())
    again = register_decoder(spoken_decoder())  # redefined in the same module under the same name: a cell rerun
    assert first is not again and decoder_classes()["spoken"] is again


def test_only_named_decoder_classes_register(registry):
    with pytest.raises(DecoderConfigError, match="takes a Decoder subclass"):
        register_decoder(int)
    nameless = type("Nameless", (Decoder,), {"_decode": lambda self, logprobs: Hypothesis("")})
    with pytest.raises(DecoderConfigError, match="has no `name`"):
        register_decoder(nameless)
