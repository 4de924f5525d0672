"""The child process of tests/test_fuzz.py: reads one JSON request per line on stdin, runs it, answers one JSON line.

Requests run here rather than in pytest's process so that a crash (a signal) fails the one example that caused it
instead of killing the test run; the parent sees the pipe close and the exit signal.

    {"kind": "api", "lm": PATH, "params": {...}}           build fastbeam with the params, decode three utterances
    {"kind": "cli", "args": [...]}                          `decode ARGS` through typer's CliRunner
    {"kind": "native", "call": NAME, ...}                   one call of decoders._kernels (see `native`)
    {"kind": "segfault"}                                    die by SIGSEGV, as a crashing search would
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import peaky  # noqa: E402
from sweep_helpers import VOCAB  # noqa: E402


def api(request: dict) -> dict:
    from decoders.config import DecoderConfig
    from decoders.factory import build_decoder
    from logits.errors import LabError

    try:
        decoder = build_decoder(DecoderConfig("fastbeam", {"lm": request["lm"]} | request["params"]), VOCAB)
        hypotheses = decoder.decode_batch([peaky(VOCAB, text, seed=i) for i, text in enumerate(["THE CAT", "A DOG",
                                                                                               ""])], threads=2)
        return {"ok": [h.text for h in hypotheses]}
    except LabError as exc:
        return {"error": str(exc), "type": type(exc).__name__}


def cli(request: dict) -> dict:
    from typer.testing import CliRunner

    from cli.app import app

    result = CliRunner().invoke(app, request["args"])
    return {"exit_code": result.exit_code, "output": result.output}


def array(spec: dict) -> np.ndarray:
    values = np.array(spec["values"], dtype=np.float64)
    data = np.resize(values, int(np.prod(spec["shape"]))) if values.size else np.zeros(int(np.prod(spec["shape"])))
    with np.errstate(invalid="ignore", over="ignore"):
        return data.reshape(spec["shape"]).astype(spec["dtype"])


def native(request: dict) -> dict:
    from decoders import _kernels

    labels = [bytes.fromhex(label[4:]) if label.startswith("hex:") else label for label in request["labels"]]
    try:
        if request["call"] == "best_paths":
            frames = array(request["arrays"][0])
            starts = np.array(request["starts"], dtype=np.int64)
            ends = np.array(request["ends"], dtype=np.int64)
            out = _kernels.best_paths(frames, starts, ends, request["blank"], request["word_starts"], labels)
            return {"ok": len(out[0])}
        alphabet = _kernels.Alphabet(labels, bpe=request["bpe"])
        params = _kernels.SearchParams(**request["params"])
        search = _kernels.Search(alphabet, None, _kernels.Hotwords(request["hotwords"]), params)
        specs = [spec | {"shape": [spec["shape"][0], len(labels)]} if request["fit_columns"] and
                 len(spec["shape"]) == 2 else spec for spec in request["arrays"]]
        arrays = [array(spec) for spec in specs]
        if request["call"] == "decode":
            return {"ok": search.decode(arrays[0])[0]}
        if request["call"] == "decode_nbest":
            return {"ok": len(search.decode_nbest(arrays[0], request["k"]))}
        if request["call"] == "decode_batch":
            return {"ok": len(search.decode_batch(arrays, threads=request["threads"]))}
        return {"ok": len(search.score_parts_batch(arrays, request["k"], threads=request["threads"]))}
    except Exception as exc:  # any Python exception is the contract kept; a signal is not
        return {"error": f"{type(exc).__name__}: {exc}"}


def segfault(request: dict) -> dict:
    os.kill(os.getpid(), signal.SIGSEGV)
    return {}


def main() -> None:
    handlers = {"api": api, "cli": cli, "native": native, "segfault": segfault}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = handlers[request["kind"]](request)
        except Exception:  # an exception the handler did not expect: the parent fails the example with it
            answer = {"traceback": traceback.format_exc()}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
