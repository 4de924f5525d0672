"""`decode export`: a tuned decoder as a pyctcdecode decoder directory, for use outside the lab."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.console import run_command
from cli.options import PruneHistory, Unigrams
from cli.run import beam_params
from decoders.config import DecoderConfig
from decoders.constants import BEAM_DEFAULTS
from decoders.directory import describe_search, export_decoder_dir
from logits.errors import LabError
from logits.files import check_writable_output
from logits.store import LogitsStore


@run_command
def export(
    out: Annotated[Path, typer.Option(help="Decoder folder to write (alphabet.json, language_model/).")],
    run_dir: Annotated[Optional[Path], typer.Argument(help="A sweep's run directory: export its best point.")] = None,
    store: Annotated[Optional[Path], typer.Option(help="Without RUN_DIR: the store whose labels the decoder reads.")]
    = None,
    lm: Annotated[Optional[Path], typer.Option(help="Without RUN_DIR: KenLM model, .arpa or .bin.")] = None,
    unigrams: Unigrams = None,
    alpha: Annotated[Optional[float], typer.Option(help="Without RUN_DIR: LM weight.")] = None,
    beta: Annotated[Optional[float], typer.Option(help="Without RUN_DIR: word insertion bonus.")] = None,
    prune_history: PruneHistory = False,
    force: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
) -> None:
    """Write the best point of a sweep (or a decoder given by --store, --lm, --alpha, --beta) as a folder that
    pyctcdecode's BeamSearchDecoderCTC.load_from_dir loads, and that `decode run --lm FOLDER` takes back. The
    folder's search.json, and the output, say which pyctcdecode call (decode() or decode_beams()) gives the swept
    WER."""
    check_writable_output(out, "--out", folder=True)
    if run_dir is not None:
        from experiments.sweep.results import ResultsDB

        with ResultsDB(run_dir, create=False) as db:
            best = db.run_results().best
            store_path = db.conn.execute("SELECT path FROM stores WHERE fingerprint = ?",
                                         (best.store_fingerprint,)).fetchone()["path"] if best else None
        if best is None:
            raise LabError(f"{run_dir} has no scored point to export yet")
        if prune_history:
            raise LabError("--prune-history is for an export without RUN_DIR: a sweep's export takes the search "
                           "it was swept with (sweep with --prune-history to tune for pyctcdecode's decode())")
        config, opened = best.config, LogitsStore.open(store_path)
        where = f"alpha {best.alpha:g}, beta {best.beta:g} of {run_dir}"
        tuned = {"run_dir": str(run_dir), "store": str(store_path), "decoder": best.decoder, "wer": best.wer,
                 "cer": best.cer}
        search = f"the swept WER {100 * best.wer:.2f}% is {describe_search(config)}"
    else:
        if store is None or lm is None:
            raise LabError("give a sweep's RUN_DIR, or --store and --lm (and --alpha/--beta) for one decoder")
        params = beam_params(lm=lm, unigrams=unigrams, alpha=alpha, beta=beta, prune_history=prune_history)
        config, opened = DecoderConfig("beam", dict(BEAM_DEFAULTS) | params), LogitsStore.open(store)
        where = f"alpha {config.get('alpha'):g}, beta {config.get('beta'):g}"
        tuned, search = None, f"searched as {describe_search(config)}"
    written = export_decoder_dir(config, opened.vocabulary, out, force=force, tuned=tuned)
    typer.echo(f"wrote {written}: {config.get('lm')} at {where}, labels of {opened.path}")
    typer.echo(f"search   {search}")
