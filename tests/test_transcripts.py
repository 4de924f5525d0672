"""Transcript files, as `decode import --references` and the folder audio sources read them."""

import pytest

from logits.transcripts import TranscriptError, read_transcripts, transcript_lines


def test_tab_or_space_separated_comments_and_a_header(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("id\ttext\n# a comment\nu1\tTHE  CAT\n\nu2 A   DOG SAT\n", encoding="utf-8")
    assert [tuple(line) for line in transcript_lines(path, allow_header=True)] == [
        (3, "u1", "THE CAT"), (5, "u2", "A DOG SAT")]
    assert read_transcripts(path)["id"] == "text"  # a header only where the caller allows one


def test_bad_files_name_the_file_and_the_lines(tmp_path):
    with pytest.raises(TranscriptError, match="does not exist"):
        read_transcripts(tmp_path / "missing.txt")
    twice = tmp_path / "twice.txt"
    twice.write_text("u1 A\nu2 B\nu1 C\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"twice.txt:3: utterance 'u1' has a second transcript line "
                                              r"\(the first is line 1\)"):
        read_transcripts(twice)
    latin = tmp_path / "latin.txt"
    latin.write_bytes("u1 CAF\xc9\n".encode("latin-1"))
    with pytest.raises(TranscriptError, match=r"transcript file .*latin.txt is not UTF-8 text \(invalid continuation byte at byte 6\)"):
        list(transcript_lines(latin))
