"""Decoder names -> classes (the registry), and building a decoder from its config.

A decoder joins by name with `register_decoder`, the built-ins as a user's:

    @register_decoder
    class MyDecoder(Decoder):
        name = "mine"
        ...

    build_decoder(DecoderConfig("mine"), vocabulary)   # and `decode run --decoder mine` in that process

The built-ins register when their modules are imported, which `decoder_classes()` does on first use, so that
`import decoders` stays light (pyctcdecode, KenLM and the peers load only then).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from logits.vocabulary import Vocabulary

if TYPE_CHECKING:
    from lm.model import LanguageModelCache

# Each built-in decoder's name and the module that defines (and registers) it, in the order they are listed.
BUILTIN_DECODERS = {
    "greedy": "decoders.greedy",
    "beam": "decoders.beam",
    "fastbeam": "decoders.fastbeam",
    "ctcbeam": "decoders.peers",
    "flashlight": "decoders.peers",
}

D = TypeVar("D", bound=type[Decoder])

# The registry is module state on purpose: a user's module registers its decoder once, on import, and every later
# build by name (the sweep's workers, `decode run`) must find it; forked workers inherit it.
_registered: dict[str, type[Decoder]] = {}


def register_decoder(cls: D) -> D:
    """Make `cls` buildable by its `name` (build_decoder, decoder_classes, `--decoder NAME`); returns it, so it
    serves as a class decorator. A name already taken by another decoder is an error; registering a class again, or
    a class redefined in the same module under the same name (a notebook cell run twice), replaces it."""
    if not (isinstance(cls, type) and issubclass(cls, Decoder)):
        raise DecoderConfigError(f"register_decoder takes a Decoder subclass, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise DecoderConfigError(f"{_where(cls)} has no `name`; set the class attribute it is built by")
    builtin = BUILTIN_DECODERS.get(name)
    if builtin is not None and cls.__module__ != builtin:
        raise DecoderConfigError(f"cannot register {_where(cls)} as {name!r}: that is the built-in decoder of "
                                 f"{builtin}; pick another name")
    taken = _registered.get(name)
    if taken is not None and _where(taken) != _where(cls):
        raise DecoderConfigError(f"cannot register {_where(cls)} as {name!r}: {_where(taken)} has that name; "
                                 "pick another name")
    _registered[name] = cls
    return cls


def decoder_classes() -> dict[str, type[Decoder]]:
    """Every decoder by name: the built-ins (imported now, in BUILTIN_DECODERS order), then the registered ones."""
    for module in dict.fromkeys(BUILTIN_DECODERS.values()):
        importlib.import_module(module)
    return {name: _registered[name] for name in BUILTIN_DECODERS} | _registered


def build_decoder(config: DecoderConfig, vocabulary: Vocabulary, lms: LanguageModelCache | None = None) -> Decoder:
    """Build the decoder `config` names. Pass one `lms` cache to many calls so that each LM is loaded once."""
    classes = decoder_classes()
    if config.name not in classes:
        raise DecoderConfigError(f"unknown decoder {config.name!r}; known: {sorted(classes)}")
    return classes[config.name](config, vocabulary, lms)


def _where(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"
