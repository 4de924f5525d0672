"""notebooks/compare_decoders.ipynb runs headless, top to bottom, on a small store and a tiny LM."""

from __future__ import annotations

import shutil

import nbformat
from nbclient import NotebookClient

from acoustic.synth import SynthSettings, synthesize_store
from helpers import write_bigram_arpa
from sweep_helpers import ROOT

NOTEBOOK = ROOT / "notebooks" / "compare_decoders.ipynb"
# Longer words than the shared LM sentences so the notebook's hotword pick has a real candidate.
SENTENCES = [
    "THE GENTLEMAN WALKED THROUGH THE GARDEN",
    "SHE WROTE A LETTER TO HER SISTER",
    "THE GARDEN WAS QUIET IN THE EVENING",
    "HER SISTER WALKED TO THE VILLAGE",
    "A LETTER CAME FROM THE VILLAGE",
    "THE EVENING WAS COLD AND QUIET",
]


def test_notebook_runs_and_shows_the_comparison(tmp_path, monkeypatch):
    store = synthesize_store(SENTENCES * 2, tmp_path / "store", seed=0, settings=SynthSettings(difficulty=3))
    lm = write_bigram_arpa(tmp_path / "tiny.arpa", SENTENCES)
    monkeypatch.setenv("CTC_LAB_STORE", str(store.path))
    monkeypatch.setenv("CTC_LAB_LM", str(lm))
    monkeypatch.setenv("CTC_LAB_WORK", str(tmp_path / "work"))
    monkeypatch.setenv("CTC_LAB_SUBSET", "8")
    monkeypatch.setenv("CTC_LAB_SPEECH", "3")  # the shipped model on three spoken sentences: seconds

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel inherits this process's environment (the variables above) and runs this venv's python.
    NotebookClient(notebook, kernel_name="python3", timeout=240,
                   resources={"metadata": {"path": str(ROOT)}}).execute()  # raises CellExecutionError on failure

    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    table = next(c for c in notebook.cells if "comparison" in c.metadata.get("tags", []))
    shown = [o for o in table.outputs if o.output_type == "execute_result"]
    assert shown, "the comparison cell should end with the DataFrame"
    text, html = shown[0]["data"]["text/plain"], shown[0]["data"].get("text/html", "")
    assert "wer" in text and "wer_low" in text and "rtfx" in text and "<table" in html
    for label in ("greedy", "beam, no LM", "alpha 0.5, beta 1.0", "swept", "hotword"):
        assert label in text or label in html
    images = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    spoken = shutil.which("espeak-ng") is not None
    # The shipped model's chart (where espeak-ng is), the sweep's heatmap and Pareto plot, the comparison chart.
    assert len(images) >= 3 + spoken
    if spoken:  # the notebook leads with real logits: the shipped model on spoken sentences
        speech = next(c for c in notebook.cells if "speech" in c.metadata.get("tags", []))
        frames = [o["data"]["text/plain"] for o in speech.outputs if "text/plain" in o.get("data", {})
                  and "image/png" not in o.get("data", {})]
        assert any("greedy" in f and "beam + 4-gram" in f and "wer_low" in f for f in frames)
        assert "3 utterances" in "".join(o.get("text", "") for o in speech.outputs)
        assert (tmp_path / "work" / "speech-store-first3" / "store" / "store.json").is_file()
        assert notebook.cells.index(speech) < notebook.cells.index(table)
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "substitutions" in printed and "fixed" in printed  # the error analysis ran
    assert "B-WER" in printed and "U-WER" in printed  # and the hotword measures
    assert (tmp_path / "work" / "sweep" / "results.sqlite").is_file()  # it wrote where it was told to
