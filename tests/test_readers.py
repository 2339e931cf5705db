"""Readers on the real vendor exports in ../shared/data/ris (read from there: some are GPL).

Each rispy failure mode listed in the data README has a test that first shows plain rispy
losing data on the real file, then shows that our reader keeps it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import rispy

from conftest import SHARED
from screening.errors import InputFileError
from screening.readers import open_file, read_text_records

RIS = SHARED / "data" / "ris"
MANIFEST = list(csv.DictReader(open(RIS / "MANIFEST.tsv", encoding="utf-8"), delimiter="\t"))


def read(path: Path | str):
    info, records = open_file(path)
    return info, list(records)


@pytest.mark.parametrize("row", MANIFEST, ids=[r["path"] for r in MANIFEST])
def test_every_real_export_yields_its_manifest_count(row: dict[str, str]) -> None:
    path = RIS / row["path"]
    if row["format"].startswith("Ovid tagged"):
        with pytest.raises(InputFileError) as exc:
            read(path)
        assert "RIS" in str(exc.value) and str(path) in str(exc.value)
        return
    info, records = read(path)
    assert len(records) == int(row["records"])
    assert info.n_records == int(row["records"])
    assert all(r.fields.title for r in records if r.fields.title is not None)
    assert [r.position for r in records] == list(range(1, len(records) + 1))


# identifiers the vendors put in odd places: (file, pmid count, doi count, one example)
VENDORS = [
    ("ovid_medline/medline.ris", 190, 178, ("32487818", "10.1097/coh.0000000000000634")),  # ID; DO as URL
    ("embase_com/_baseline_embase.ris", 10, 10, None),  # C5; DO and L2
    ("ebscohost_academic_search_premier/_baseline_cinahl.ris", 0, 9, (None, "10.1371/journal.pone.0298242")),
    ("scopus_ris/_baseline_scopus.ris", 7, 10, None),  # C2
    ("pubmed_nbib/blue-light.nbib", 80, 51, None),  # PMID; LID/AID [doi]
    ("ebscohost_apa_psycinfo/psycinfo_64.ris", 27, 49, None),  # PMID only inside N1
    ("cochrane_library/_baseline_cochrane_endnote.ris", 3, 3, None),  # C3 "PUBMED n"
    ("endnote_ris/blue-light.ris", 102, 72, None),  # AN when DP is NLM
    ("wos_plaintext/WoS_other_reference_software_r4001-4012.txt", 12, 12, None),  # PM, DI
    ("ovid_eric/_baseline_eric_ovid.ris", 0, 3, None),  # DOI only in L1
    ("scopus_csv/_baseline_scopus.csv", 7, 10, None),
]


@pytest.mark.parametrize(("name", "n_pmid", "n_doi", "example"), VENDORS, ids=[v[0] for v in VENDORS])
def test_doi_and_pmid_per_vendor(name: str, n_pmid: int, n_doi: int, example) -> None:
    _, records = read(RIS / name)
    pmids = [r.fields.pmid for r in records if r.fields.pmid]
    dois = [r.fields.doi for r in records if r.fields.doi]
    assert len(pmids) >= n_pmid
    assert len(dois) >= n_doi
    assert all(p.isdigit() for p in pmids)
    assert all(d.startswith("10.") and d == d.lower() and "://" not in d and not d.endswith("[doi]")
               for d in dois)
    if example:
        pmid, doi = example
        if pmid:
            assert pmid in pmids
        assert doi in dois


def test_bom_first_record_is_kept_where_rispy_loses_it() -> None:
    path = RIS / "embase_com" / "embase.ris"
    with open(path, encoding="utf-8") as fh:
        assert len(rispy.load(fh)) == 5  # plain rispy, README idiom: the first record is lost
    assert len(read(path)[1]) == 6


def test_final_record_without_er_is_kept_with_a_warning(tmp_path: Path) -> None:
    p = tmp_path / "no_er.ris"
    p.write_text("TY  - JOUR\nTI  - First\nER  - \n\nTY  - JOUR\nTI  - Second, no end tag\n")
    assert len(rispy.loads(p.read_text())) == 1  # plain rispy drops it silently
    info, records = read(p)
    assert [r.fields.title for r in records] == ["First", "Second, no end tag"]
    assert any("no ER" in w for w in info.warnings)


def test_repeated_tags_are_all_kept_where_rispy_keeps_the_first() -> None:
    path = RIS / "scopus_ris" / "_baseline_scopus.ris"
    with open(path, encoding="utf-8-sig") as fh:
        plain = rispy.load(fh)
    ours = read(path)[1]
    plain_ad = sum(1 if isinstance(r.get("author_address"), str) else len(r.get("author_address") or [])
                   for r in plain)
    ours_ad = sum(1 for r in ours for t, _ in r.raw if t == "AD")
    assert ours_ad > plain_ad  # rispy keeps the first AD of each record only
    # Embase.com's repeated DB (Embase + Medline) and ISSNs
    emb = read(RIS / "embase_com" / "_baseline_embase.ris")[1]
    assert any(r.fields.database == "Embase; Medline" for r in emb)


def test_second_abstract_and_copyright_kept_apart() -> None:
    path = RIS / "ebscohost_environment_index" / "envindex_100.ris"
    with open(path, encoding="utf-8-sig") as fh:
        plain = rispy.load(fh)
    ours = read(path)[1]
    raw_ab = sum(1 for r in ours for t, _ in r.raw if t == "AB")
    assert raw_ab > sum(1 for r in plain if r.get("abstract"))  # rispy drops the 2nd and 3rd AB
    assert sum(1 for r in ours if r.fields.copyright) >= 90
    assert not any("property of" in (r.fields.abstract or "") for r in ours)


def test_bare_cr_line_ends_keep_every_address() -> None:
    path = RIS / "wos_ris" / "WoS_79.ris"
    with open(path, encoding="utf-8-sig") as fh:
        plain = rispy.load(fh)
    plain_ad = sum(1 if isinstance(r.get("author_address"), str) else len(r.get("author_address") or [])
                   for r in plain)
    ours = read(path)[1]
    assert sum(1 for r in ours for t, _ in r.raw if t == "AD") > plain_ad
    assert all(r.fields.accessions.get("wos", "").startswith("WOS:") for r in ours)


@pytest.mark.parametrize("name", ["pubmed_nbib/_baseline_pubmed.ris", "pubmed_nbib/restoration_pubmed.nbib",
                                  "wos_plaintext/WoS_other_reference_software_r4001-4012.txt"])
def test_non_ris_tagged_formats_read_where_rispy_gives_zero(name: str) -> None:
    path = RIS / name
    with open(path, encoding="utf-8-sig") as fh:
        assert rispy.load(fh) == []  # silently zero records
    assert len(read(path)[1]) > 0


def test_endnote_continuation_lines_are_separate_values() -> None:
    records = read(RIS / "endnote_ris" / "blue-light.ris")[1]
    first = records[0]
    assert "Antirrhinum majus" in first.fields.keywords and "blue light" in first.fields.keywords
    assert sum(1 for t, _ in first.raw if t == "AD") >= 3  # rispy glues them with spaces


def test_ovid_cochrane_single_author_line_is_split() -> None:
    records = read(RIS / "ovid_ebmr_central" / "cochrane.ris")[1]
    assert max(len(r.fields.authors) for r in records) > 3


def test_encoding_fallback_is_reported(tmp_path: Path) -> None:
    p = tmp_path / "cp1252.ris"
    p.write_bytes("TY  - JOUR\nTI  - Caf\u00e9 \u2013 na\u00efve\nER  - \n".encode("cp1252"))
    info, records = read(p)
    assert records[0].fields.title == "Caf\u00e9 \u2013 na\u00efve"
    assert info.encoding == "cp1252" and "cp1252" in info.warnings[0]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_endings(tmp_path: Path, eol: str) -> None:
    p = tmp_path / "eol.ris"
    p.write_bytes(eol.join(["\ufeffTY  - JOUR", "TI  - A title", "AU  - Smith, J", "AU  - Doe, A", "ER  - ",
                            "TY  - JOUR", "TI  - B", "ER  - ", ""]).encode("utf-8"))
    records = read(p)[1]
    assert [r.fields.title for r in records] == ["A title", "B"]
    assert records[0].fields.authors == ["Smith, J", "Doe, A"]


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"),
    (bytes(range(256)) * 20, "binary"),
    (b"just some words\nand more\n", "not a recognised export"),
    (b"a,b,c\n1,2,3\n", "title column"),
])
def test_bad_files_are_refused_with_the_file_named(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "bad.ris"
    p.write_bytes(content)
    with pytest.raises(InputFileError) as exc:
        read(p)
    assert message in str(exc.value) and str(p) in str(exc.value)


def test_round_trip_of_every_real_file_through_the_ris_writer() -> None:
    import dataclasses
    import io

    from screening.readers.writer import write_ris

    for row in MANIFEST:
        if row["format"].startswith("Ovid tagged"):
            continue
        info, records = read(RIS / row["path"])
        buf = io.StringIO()
        write_ris([(r.raw if info.format == "ris" else None, r.fields) for r in records], buf)
        back = read_text_records(buf.getvalue())
        assert len(back) == len(records), row["path"]
        for a, b in zip(records, back, strict=True):
            fa, fb = dataclasses.asdict(a.fields), dataclasses.asdict(b.fields)
            if info.format != "ris":  # provenance-only fields are written differently
                for k in ("database", "accessions", "ris_type", "urls"):
                    fa.pop(k), fb.pop(k)
            assert fa == fb, row["path"]


TAGGED = [r for r in MANIFEST if not r["format"].startswith("Ovid tagged") and not r["path"].endswith(".csv")]


@pytest.mark.parametrize("row", TAGGED, ids=[r["path"] for r in TAGGED])
def test_small_chunks_read_exactly_what_one_chunk_reads(row: dict[str, str]) -> None:
    """Large files are parsed in chunks cut at record starts: the cut must never change a record."""
    from screening.readers.chunks import Reconciler, parse_chunk, plan_chunks
    from screening.readers.types import FileInfo

    path = str(RIS / row["path"])
    info, whole = read(path)

    def chunked(size: int) -> tuple[list, Reconciler]:
        rec = Reconciler(FileInfo(path=path, format=info.format, encoding=info.encoding))
        out = []
        encoding = "utf-8-sig" if info.encoding == "utf-8" else info.encoding
        for offset, length in plan_chunks(path, info.format, size=size):
            records, stats = parse_chunk(path, encoding, info.format, offset, length)
            line_offset, position_offset = rec.add(stats)
            out += [(r.position + position_offset, r.line + line_offset, r.raw, r.fields) for r in records]
        rec.finish()
        return out, rec

    small, rec = chunked(700)  # a few records per chunk, often one
    assert len(list(plan_chunks(path, info.format, size=700))) > 1
    assert small == [(r.position, r.line, r.raw, r.fields) for r in whole]
    assert rec.info.warnings == info.warnings and rec.info.n_records == len(whole)


def test_a_lost_record_is_named_by_its_line_in_a_later_chunk(tmp_path: Path, monkeypatch) -> None:
    from screening.readers import chunks

    monkeypatch.setattr(chunks, "CHUNK_BYTES", 2000)
    good = "".join(f"TY  - JOUR\nTI  - record {i}\nER  - \n\n" for i in range(300))
    bad = tmp_path / "damaged.ris"
    bad.write_text(good + "TY -JOUR\nTI  - damaged start\nER  - \n" + good)
    assert len(list(chunks.plan_chunks(str(bad), "ris"))) > 5
    with pytest.raises(InputFileError) as exc:
        read(bad)
    line = good.count("\n") + 2  # the damaged record's first tagged line, now outside any record
    assert exc.value.line == line and f"line {line}" in str(exc.value)
