"""`decode run`: decode a store with one decoder, print WER/CER and the wall time."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.console import emit_json, run_command
from cli.options import (
    Json,
    Alpha,
    BeamPruneLogp,
    BeamWidth,
    Beta,
    Hotword,
    HotwordWeight,
    PruneHistory,
    TokenMinLogp,
    Unigrams,
    UnkScoreOffset,
)
from decoders.config import DecoderConfig
from decoders.constants import DEFAULT_DECODER
from decoders.directory import is_lm_directory, lm_directory_params
from decoders.factory import build_decoder
from experiments.measures.evaluate import evaluate
from logits.console import progress
from logits.errors import LabError
from logits.files import check_writable_output
from logits.store import LogitsStore


def beam_params(
    lm: Path | None = None,
    unigrams: Path | None = None,
    alpha: float | None = None,
    beta: float | None = None,
    beam_width: int | None = None,
    beam_prune_logp: float | None = None,
    token_min_logp: float | None = None,
    unk_score_offset: float | None = None,
    hotword: list[str] | None = None,
    hotword_weight: float | None = None,
    prune_history: bool = False,
) -> dict:
    """The decoder parameters a user actually gave (None means: the decoder's default). An `lm` that is a pyctcdecode
    decoder folder (or a wav2vec2 "with LM" checkpoint's language_model/) brings its KenLM file, unigrams and weights;
    weights given explicitly win."""
    given = {
        "lm": str(lm) if lm else None,
        "unigrams": str(unigrams) if unigrams else None,
        "alpha": alpha,
        "beta": beta,
        "beam_width": beam_width,
        "beam_prune_logp": beam_prune_logp,
        "token_min_logp": token_min_logp,
        "unk_score_offset": unk_score_offset,
        "hotwords": tuple(hotword) if hotword else None,
        "hotword_weight": hotword_weight,
        "prune_history": True if prune_history else None,
    }
    given = {k: v for k, v in given.items() if v is not None}
    if lm is not None and is_lm_directory(lm):
        return lm_directory_params(lm) | {k: v for k, v in given.items() if k not in ("lm", "unigrams")}
    return given


@run_command
def run(
    store: Annotated[Path, typer.Argument(help="Store directory (from decode synth / import / cache).")],
    decoder: Annotated[str, typer.Option(help="greedy, beam (pyctcdecode) or fastbeam (this project's C++).")] = "greedy",
    lm: Annotated[Optional[Path], typer.Option(help="KenLM model, .arpa or .bin.")] = None,
    unigrams: Unigrams = None,
    alpha: Alpha = None,
    beta: Beta = None,
    beam_width: BeamWidth = None,
    beam_prune_logp: BeamPruneLogp = None,
    token_min_logp: TokenMinLogp = None,
    unk_score_offset: UnkScoreOffset = None,
    hotword: Hotword = None,
    hotword_weight: HotwordWeight = None,
    prune_history: PruneHistory = False,
    out: Annotated[Optional[Path], typer.Option(help="Write id/reference/hypothesis as JSONL here.")] = None,
    nbest: Annotated[Optional[int], typer.Option(
        min=1, help="With --out: write the K best hypotheses of each utterance beside its hypothesis, and report the "
                    "oracle WER (fastbeam, beam, ctcbeam).")] = None,
    json_: Json = False,
) -> None:
    """Decode a store and score it against its references."""
    if nbest is not None and out is None:
        raise LabError("--nbest writes its lists to --out FILE; give one")
    if out is not None:
        check_writable_output(out, "--out")  # before decoding, which may take long
    opened = LogitsStore.open(store)
    params = beam_params(lm, unigrams, alpha, beta, beam_width, beam_prune_logp, token_min_logp,
                         unk_score_offset, hotword, hotword_weight, prune_history)
    built = build_decoder(DecoderConfig(decoder, params), opened.vocabulary)
    if nbest is not None and not built.nbest:
        raise LabError(f"decoder {decoder!r} does not give N-best lists; use --decoder fastbeam, beam or ctcbeam")
    with progress(len(opened), f"{decoder}") as bar:
        result = evaluate(opened, built, on_progress=bar.update)
    summary = result.summary()
    if nbest is not None:
        from experiments.measures.nbest import nbest_lists, oracle_wer

        with progress(len(opened), f"{decoder} {nbest}-best") as bar:
            lists = nbest_lists(opened, built, nbest, bar.update)
        result.write_jsonl(out, nbest=lists)
        summary |= {"nbest": nbest, "oracle_wer": oracle_wer(opened.references, lists)}
    elif out:
        result.write_jsonl(out)
    typer.echo(f"decoder  {built.config.label()}")
    typer.echo(f"store    {opened.path} ({len(opened)} utterances, {opened.audio_seconds / 60:.1f} min)")
    if result.scores is not None:
        typer.echo(f"WER      {100 * result.wer:.2f}%   CER {100 * result.cer:.2f}%   "
                   f"({result.scores.words} reference words)")
    typer.echo(f"time     {result.seconds:.2f} s ({summary['rtfx']}x real time)")
    if summary.get("oracle_wer") is not None:
        typer.echo(f"oracle   WER {100 * summary['oracle_wer']:.2f}% (the best of each {nbest}-best list)")
    if out:
        typer.echo(f"wrote    {out}")
    if json_:
        emit_json(summary)


@run_command
def hotwords(
    store: Annotated[Path, typer.Argument(help="Store whose references contain the hotword(s).")],
    hotword: Hotword = None,
    hotword_file: Annotated[Optional[Path], typer.Option(
        help="Hotwords, one word or phrase per line, optionally TAB and a weight.")] = None,
    lm: Annotated[Optional[Path], typer.Option(help="KenLM model, .arpa or .bin.")] = None,
    decoder: Annotated[str, typer.Option(help="fastbeam (this project's C++) or beam (pyctcdecode): the same "
                                              "figures.")] = DEFAULT_DECODER,
    alpha: Alpha = None,
    beta: Beta = None,
    beam_prune_logp: BeamPruneLogp = None,
    hotword_weight: Annotated[Optional[float], typer.Option(help="Boost per hotword (default 10).")] = None,
    json_: Json = False,
) -> None:
    """Measure hotword boosting: how often the word is recovered, B-WER and U-WER, recall and false alarms per word."""
    from dataclasses import asdict

    from experiments.measures.biasing import hotword_report, read_hotword_file

    hotword = list(hotword or [])
    if hotword_file is not None:
        listed, weight = read_hotword_file(hotword_file)
        hotword += listed
        hotword_weight = hotword_weight if hotword_weight is not None else weight
    if not hotword:
        raise LabError("give the hotwords to measure: --hotword WORD (repeatable) or --hotword-file FILE")
    hotword_weight = 10.0 if hotword_weight is None else hotword_weight
    opened = LogitsStore.open(store)
    config = DecoderConfig(decoder, beam_params(lm=lm, alpha=alpha, beta=beta, beam_prune_logp=beam_prune_logp))
    with progress(2 * len(opened), f"{decoder} plain, then boosted") as bar:
        report = hotword_report(opened, config, hotword, hotword_weight, on_progress=bar.update)
    typer.echo(f"decoder  {config.label()}")
    typer.echo(f"utterances with the hotword(s) {', '.join(report.hotwords)}: {report.with_hotword}")
    typer.echo(f"  recovered without boosting: {report.recovered_plain}   with boosting: {report.recovered_boosted}")
    typer.echo(f"utterances without: {report.without_hotword}, changed by boosting: {report.changed_without}")
    typer.echo(f"WER {100 * report.wer_plain:.2f}% -> {100 * report.wer_boosted:.2f}%")
    if report.b_wer_plain is not None:
        typer.echo(f"B-WER (hotword words) {100 * report.b_wer_plain:.2f}% -> {100 * report.b_wer_boosted:.2f}%   "
                   f"U-WER (other words) {100 * report.u_wer_plain:.2f}% -> {100 * report.u_wer_boosted:.2f}%")
    for row in report.per_hotword:
        recall = ("-" if row["recall_plain"] is None else
                  f"{100 * row['recall_plain']:.0f}% -> {100 * row['recall_boosted']:.0f}%")
        typer.echo(f"  {row['word']}: {row['occurrences']} in the references, recall {recall}, false alarms "
                   f"{row['false_alarms_plain']} -> {row['false_alarms_boosted']}")
    if json_:
        emit_json(asdict(report))
