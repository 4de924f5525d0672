"""The default LM corpus: Jane Austen's six novels, from Debian's r-cran-janeaustenr.

It is public-domain prose of about 720k words that an apt package delivers offline, which is all the machines here
can reach. `austen_books()` would need dplyr, which Debian does not pull in, so we read the six plain data sets, each a
character vector with one line of the book per element.
"""

from __future__ import annotations

import shutil
import subprocess

from lm.errors import LMError

AUSTEN_BOOKS = ("prideprejudice", "sensesensibility", "emma", "mansfieldpark", "northangerabbey", "persuasion")
MIN_CORPUS_WORDS = 500_000
_INSTALL_HINT = "Run `make install`, which installs Debian's r-base-core (Rscript) and r-cran-janeaustenr."

# Books are separated by a blank line so that the last sentence of one never runs into the title of the next.
_R_EXPORT = (
    "suppressPackageStartupMessages(library(janeaustenr)); "
    "for (book in c({books})) {{ "
    "writeLines(enc2utf8(get(book)), con = stdout(), useBytes = TRUE); "
    "writeLines('', con = stdout()) }}"
)


def default_corpus_text() -> str:
    """The six novels as one UTF-8 string, line breaks as in the books, a blank line between books."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise LMError(f"Rscript was not found on PATH; it is needed to export the default corpus. {_INSTALL_HINT}")
    books = ", ".join(f"'{name}'" for name in AUSTEN_BOOKS)
    command = [rscript, "--vanilla", "-e", _R_EXPORT.format(books=books)]
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as exc:
        raise LMError(f"could not run {rscript} ({exc}). {_INSTALL_HINT}") from exc
    errors = result.stderr.decode("utf-8", errors="replace").strip()
    if result.returncode != 0:
        if "janeaustenr" in errors:
            raise LMError(f"R cannot load the janeaustenr package ({errors.splitlines()[0]}). {_INSTALL_HINT}")
        raise LMError(f"exporting the Jane Austen corpus with Rscript failed (exit code {result.returncode}):\n"
                      f"{errors[-2000:]}")
    text = result.stdout.decode("utf-8", errors="replace")
    words = len(text.split())
    if words < MIN_CORPUS_WORDS:
        raise LMError(f"the janeaustenr export has {words:,} words, expected at least {MIN_CORPUS_WORDS:,} for the "
                      f"six novels; the R package looks incomplete. Reinstall it: `apt-get install --reinstall "
                      f"r-cran-janeaustenr`.")
    return text
