"""The embedded default data that `decode demo` and `decode bench --default` run on, built on first use.

The default 4-gram (`make lm` builds it into lm/build); its held-out sentences (text the LM never saw) spoken by
espeak-ng and cached with the shipped acoustic model (models/espeak-ctc): the demo's real path; and synthetic stores
of the same sentences, one per regime of the synthetic acoustic model (characters at two difficulties, and SentencePiece
pieces from a tokenizer trained on the LM's training text), for controlled comparisons (the bench). Later calls find
them and do nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from acoustic.cache import cache_logits
from acoustic.model import weights_fingerprint
from acoustic.pieces import train_vocabulary
from acoustic.speech import TRAINING_FAMILIES, UNSEEN_FAMILIES, VoiceSettings, speak
from acoustic.synth import SynthSettings, synthesize_store
from lm.build import (
    DEFAULT_LM_DIR,
    HELDOUT_FILENAME,
    build_default_lm,
    corpus_sentences_without_heldout,
    read_artifacts,
)
from logits.errors import LabError
from logits.store import STORE_FILE, LogitsStore
from logits.vocabulary import Vocabulary

SEED = 0
HARD_DIFFICULTY = 2.5
SUBWORD_PIECES = 256
Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class Regime:
    """One synthetic store of the held-out sentences: where it lives, how hard its model is, and its vocabulary:
    wav2vec2's characters (`pieces` 0) or `pieces` SentencePiece pieces trained on the LM's training text."""

    path: Path
    settings: SynthSettings = SynthSettings()
    pieces: int = 0


@dataclass(frozen=True)
class DefaultData:
    """Where the default LM and stores live (relative to the working directory, like every default path)."""

    lm_dir: Path = DEFAULT_LM_DIR
    model_dir: Path = Path("models/espeak-ctc")
    speech_dir: Path = Path("data/speech")
    # voice set -> the espeak-ng families its held-out speech is spoken in: those the model was trained on, and an
    # accent it never heard.
    voice_sets: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {
        "seen": TRAINING_FAMILIES, "unseen": UNSEEN_FAMILIES})
    # regime name -> its store; the first is `decode demo --synthetic`'s. Subword models emit fewer, longer tokens
    # at lower frame rates (Parakeet: 12.5 frames/s), hence 25 for the subword regime.
    stores: Mapping[str, Regime] = field(default_factory=lambda: {
        "default": Regime(Path("data/heldout-store")),
        "hard": Regime(Path("data/heldout-hard-store"), SynthSettings(difficulty=HARD_DIFFICULTY)),
        "subword": Regime(Path("data/heldout-subword-store"), SynthSettings(frames_per_second=25.0),
                          pieces=SUBWORD_PIECES),
    })

    @property
    def heldout(self) -> Path:
        return self.lm_dir / HELDOUT_FILENAME

    def ensure_lm(self, say: Say = _quiet) -> Path:
        """The default LM's binary, built first (`make lm` does the same) if it or its held-out sentences are
        missing."""
        artifacts = read_artifacts(self.lm_dir)
        if artifacts is None or artifacts.heldout is None:
            say(f"building the default LM in {self.lm_dir} (first run only)")
            artifacts = build_default_lm(self.lm_dir)
        if not self.heldout.is_file():
            raise LabError(f"{self.heldout} is missing; rebuild the default LM (`make lm`) to get its held-out "
                           "sentences")
        return Path(artifacts.binary)

    def ensure_store(self, regime: str = "default", say: Say = _quiet) -> Path:
        """The regime's synthetic store of the held-out sentences (seed 0), synthesized first if missing.

        A store left incomplete by an interrupted run is made again (it is cheap); one synthesized at another
        difficulty is refused, and one made with other error rates is used with a warning, since its figures do not
        compare with a fresh checkout's.
        """
        path, settings = self.stores[regime].path, self.stores[regime].settings
        if (path / STORE_FILE).is_file():
            found = dict(LogitsStore.open(path).provenance.get("synth") or {})
            if "difficulty" in found and float(found["difficulty"]) != settings.difficulty:
                raise LabError(f"{path} was synthesized at difficulty {found['difficulty']}, but the {regime!r} "
                               f"regime is difficulty {settings.difficulty}; delete {path} and run again")
            differing = {k: v for k, v in asdict(settings).items() if k in found and found[k] != v}
            if differing:
                say(f"warning: {path} was synthesized with {', '.join(f'{k}={found[k]}' for k in differing)}, not "
                    f"the current defaults ({', '.join(f'{k}={v}' for k, v in differing.items())}); its figures do "
                    f"not compare with a fresh checkout's. Delete {path} to rebuild it.")
            return path
        if path.exists():
            say(f"{path} is incomplete (an earlier run was interrupted); rebuilding it")
            shutil.rmtree(path)
        if not self.heldout.is_file():
            self.ensure_lm(say)
        say(f"synthesizing {path} (difficulty {settings.difficulty}, seed {SEED}) from {self.heldout} "
            "(first run only)")
        sentences = self.heldout.read_text(encoding="utf-8").splitlines()
        vocabulary = self.piece_vocabulary(self.stores[regime].pieces) if self.stores[regime].pieces else None
        synthesize_store(sentences, path, seed=SEED, settings=settings, vocabulary=vocabulary,
                         source=str(self.heldout))
        return path

    def piece_vocabulary(self, pieces: int) -> Vocabulary:
        """A SentencePiece vocabulary of `pieces` pieces learnt from the default LM's training sentences."""
        return train_vocabulary(corpus_sentences_without_heldout(self.lm_dir), pieces, "sentencepiece")

    def ensure_speech_store(self, voices: str = "seen", say: Say = _quiet, batch_size: int = 8) -> Path:
        """The held-out sentences spoken in the `voices` set (seed 0) and cached with the shipped model: a real
        acoustic model's log-probs. Made again when the model's weights changed since."""
        speech = self.speech_dir / f"heldout-{voices}"
        store = Path("data") / f"heldout-{voices}-voices-store"
        weights = weights_fingerprint(self.model_dir)
        if weights is None:
            raise LabError(f"{self.model_dir} holds no model weights; the repository ships them (git checkout "
                           f"{self.model_dir}), and `make model` trains them again")
        if (store / STORE_FILE).is_file():
            if LogitsStore.open(store).provenance.get("model_weights_sha256") == weights:
                return store
            say(f"{store} was cached with other weights of {self.model_dir}; caching again")
            shutil.rmtree(store)
        if not self.heldout.is_file():
            self.ensure_lm(say)
        sentences = self.heldout.read_text(encoding="utf-8").splitlines()
        say(f"speaking {len(sentences)} held-out sentences into {speech} ({voices} voices; first run only)")
        speak(sentences, speech, seed=SEED, voices=VoiceSettings(families=self.voice_sets[voices]))
        say(f"caching them with {self.model_dir} into {store}")
        cache_logits(str(self.model_dir), speech, store, batch_size=batch_size, overwrite=True)
        return store

    def ensure_stores(self, say: Say = _quiet) -> list[tuple[str, Path]]:
        """Every regime's store: (regime, store path) pairs."""
        return [(regime, self.ensure_store(regime, say)) for regime in self.stores]
