"""Readers on our fixtures (tests/data and the package's demo exports) and on the real vendor
exports in ../shared/data/ris (read from there, never copied: some are GPL).

Each rispy failure mode listed in the shared data's README has a test that first shows plain rispy
losing data on a file, then shows that our reader keeps it: on the real file where ../shared is
beside the checkout, and on a fixture with the same quirk. Every file in either MANIFEST.tsv must
be detected as its format and yield exactly its count of records.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import rispy

from conftest import DATA, DEMO, HAVE_SHARED, REPO, SHARED_RIS, needs_shared, read_manifest, shared_param
from screening.errors import InputFileError
from screening.readers import open_file, read_text_records

RIS = SHARED_RIS
MANIFEST = read_manifest(RIS / "MANIFEST.tsv") if HAVE_SHARED else []  # the real vendor exports
FIXTURES = read_manifest(DATA / "MANIFEST.tsv")  # ours: paths from the repository root
DETECTED = {"RIS": "ris", "MEDLINE/nbib": "nbib", "MEDLINE format with .ris extension": "nbib",
            "WoS tagged plain text": "wos", "CSV": "csv"}  # MANIFEST format -> the format the reader detects


def read(path: Path | str):
    info, records = open_file(path)
    return info, list(records)


def refused(row: dict[str, str]) -> bool:
    return row["format"].startswith("Ovid tagged")


def manifest_cases(keep: Callable[[dict[str, str]], bool] = lambda row: True) -> list:
    """(path, MANIFEST row) per export file: every fixture, and every real export of ../shared; where
    ../shared is absent, one case that is skipped with the reason instead."""
    cases = [pytest.param(REPO / r["path"], r, id=r["path"].removeprefix("tests/").replace("screening/", ""))
             for r in FIXTURES if keep(r)]
    if not HAVE_SHARED:
        return [*cases, shared_param(None, None, id="shared")]
    return cases + [shared_param(RIS / r["path"], r, id=f"shared/{r['path']}") for r in MANIFEST if keep(r)]


def test_the_fixtures_are_listed() -> None:
    listed = {REPO / r["path"] for r in FIXTURES}
    on_disk = {p for p in DATA.iterdir() if p.name not in ("MANIFEST.tsv", "README.md")}
    assert on_disk <= listed and all(p.is_file() for p in listed)


@needs_shared
def test_the_shared_manifest_lists_every_real_export() -> None:
    assert MANIFEST and all((RIS / r["path"]).is_file() for r in MANIFEST)


@pytest.mark.parametrize(("path", "row"), manifest_cases())
def test_every_export_is_detected_and_yields_its_manifest_count(path: Path, row: dict[str, str]) -> None:
    if refused(row):
        with pytest.raises(InputFileError) as exc:
            read(path)
        assert "RIS" in str(exc.value) and str(path) in str(exc.value)
        return
    info, records = read(path)
    assert info.format == DETECTED[row["format"]]
    assert len(records) == int(row["records"])
    assert info.n_records == int(row["records"])
    assert all(r.fields.title for r in records if r.fields.title is not None)
    assert [r.position for r in records] == list(range(1, len(records) + 1))


# identifiers the vendors put in odd places: (file, pmid count, doi count, one example)
VENDORS = [
    shared_param(RIS / "ovid_medline/medline.ris", 190, 178, ("32487818", "10.1097/coh.0000000000000634"),
                 id="shared/ovid_medline/medline.ris"),  # ID; DO as URL
    pytest.param(DEMO / "ovid_medline_dinosaur.ris", 12, 12, ("30922926", "10.1016/j.ejmg.2019.03.004"),
                 id="demo/ovid_medline_dinosaur.ris"),  # the same, in our Ovid MEDLINE fixture
    # ../shared's _baseline_embase.ris, _baseline_cinahl.ris and _baseline_scopus.ris, byte for byte
    pytest.param(DEMO / "embase_dinosaur.ris", 10, 10, None, id="demo/embase_dinosaur.ris"),  # C5; DO and L2
    pytest.param(DEMO / "ebsco_dinosaur.ris", 0, 9, (None, "10.1371/journal.pone.0298242"),
                 id="demo/ebsco_dinosaur.ris"),  # DOI in L3
    pytest.param(DEMO / "scopus_dinosaur.ris", 7, 10, None, id="demo/scopus_dinosaur.ris"),  # C2
    shared_param(RIS / "pubmed_nbib/blue-light.nbib", 80, 51, None,
                 id="shared/pubmed_nbib/blue-light.nbib"),  # PMID; LID/AID [doi]
    pytest.param(DATA / "pubmed_citation_manager.nbib", 3, 2, ("90000002", "10.9999/fixture.2020.053"),
                 id="data/pubmed_citation_manager.nbib"),  # PMID; LID/AID [doi], upper case; LID as a page
    shared_param(RIS / "ebscohost_apa_psycinfo/psycinfo_64.ris", 27, 49, None,
                 id="shared/ebscohost_apa_psycinfo/psycinfo_64.ris"),  # PMID only inside N1
    pytest.param(DATA / "_baseline_cochrane_endnote.ris", 3, 3, ("38407106", "10.1037/dev0001710"),
                 id="data/_baseline_cochrane_endnote.ris"),  # C3 "PUBMED n"
    shared_param(RIS / "endnote_ris/blue-light.ris", 102, 72, None,
                 id="shared/endnote_ris/blue-light.ris"),  # AN when DP is NLM
    pytest.param(DATA / "endnote_continuation.ris", 2, 2, ("90000021", "10.9999/endnote.2018.53"),
                 id="data/endnote_continuation.ris"),  # the same
    shared_param(RIS / "wos_plaintext/WoS_other_reference_software_r4001-4012.txt", 12, 12, None,
                 id="shared/wos_plaintext/WoS_other_reference_software_r4001-4012.txt"),  # PM, DI
    pytest.param(DATA / "wos_other_reference_software.txt", 2, 2, ("90000012", "10.9999/wos.2020.012"),
                 id="data/wos_other_reference_software.txt"),  # PM, DI (upper case)
    pytest.param(DATA / "_baseline_eric_ovid.ris", 0, 3, (None, "10.1080/21548455.2016.1200155"),
                 id="data/_baseline_eric_ovid.ris"),  # DOI only in L1
    shared_param(RIS / "scopus_csv/_baseline_scopus.csv", 7, 10, None, id="shared/scopus_csv/_baseline_scopus.csv"),
    pytest.param(DATA / "scopus.csv", 2, 2, ("90000001", "10.9999/fixture.2021.001"), id="data/scopus.csv"),
]


@pytest.mark.parametrize(("path", "n_pmid", "n_doi", "example"), VENDORS)
def test_doi_and_pmid_per_vendor(path: Path, n_pmid: int, n_doi: int, example) -> None:
    _, records = read(path)
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


@pytest.mark.parametrize(("path", "n"), [
    shared_param(RIS / "embase_com" / "embase.ris", 6, id="shared/embase_com/embase.ris"),
    pytest.param(DEMO / "scopus_dinosaur.ris", 10, id="demo/scopus_dinosaur.ris"),
    pytest.param(DATA / "endnote_continuation.ris", 2, id="data/endnote_continuation.ris"),  # BOM and CRLF
    pytest.param(DATA / "wos_bare_cr.ris", 2, id="data/wos_bare_cr.ris"),
])
def test_bom_first_record_is_kept_where_rispy_loses_it(path: Path, n: int) -> None:
    assert path.read_bytes().startswith(b"\xef\xbb\xbfTY  - ")
    with open(path, encoding="utf-8") as fh:
        assert len(rispy.load(fh)) == n - 1  # plain rispy, README idiom: the first record is lost
    assert len(read(path)[1]) == n


def test_final_record_without_er_is_kept_with_a_warning(tmp_path: Path) -> None:
    p = tmp_path / "no_er.ris"
    p.write_text("TY  - JOUR\nTI  - First\nER  - \n\nTY  - JOUR\nTI  - Second, no end tag\n")
    assert len(rispy.loads(p.read_text())) == 1  # plain rispy drops it silently
    info, records = read(p)
    assert [r.fields.title for r in records] == ["First", "Second, no end tag"]
    assert any("no ER" in w for w in info.warnings)


def test_repeated_tags_are_all_kept_where_rispy_keeps_the_first() -> None:
    path = DEMO / "scopus_dinosaur.ris"  # the bytes of ../shared's scopus_ris/_baseline_scopus.ris
    with open(path, encoding="utf-8-sig") as fh:
        plain = rispy.load(fh)
    ours = read(path)[1]
    plain_ad = sum(1 if isinstance(r.get("author_address"), str) else len(r.get("author_address") or [])
                   for r in plain)
    ours_ad = sum(1 for r in ours for t, _ in r.raw if t == "AD")
    assert ours_ad > plain_ad  # rispy keeps the first AD of each record only
    # Embase.com's repeated DB (Embase + Medline) and ISSNs
    emb = read(DEMO / "embase_dinosaur.ris")[1]  # the bytes of ../shared's embase_com/_baseline_embase.ris
    assert any(r.fields.database == "Embase; Medline" for r in emb)


@pytest.mark.parametrize(("path", "min_copyright"), [
    shared_param(RIS / "ebscohost_environment_index" / "envindex_100.ris", 90,
                 id="shared/ebscohost_environment_index/envindex_100.ris"),
    pytest.param(DEMO / "ebsco_dinosaur.ris", 9, id="demo/ebsco_dinosaur.ris"),  # abstract, then copyright
])
def test_second_abstract_and_copyright_kept_apart(path: Path, min_copyright: int) -> None:
    with open(path, encoding="utf-8-sig") as fh:
        plain = rispy.load(fh)
    ours = read(path)[1]
    raw_ab = sum(1 for r in ours for t, _ in r.raw if t == "AB")
    assert raw_ab > sum(1 for r in plain if r.get("abstract"))  # rispy drops the 2nd and 3rd AB
    assert sum(1 for r in ours if r.fields.copyright) >= min_copyright
    assert not any("property of" in (r.fields.abstract or "") for r in ours)


@pytest.mark.parametrize("path", [
    shared_param(RIS / "wos_ris" / "WoS_79.ris", id="shared/wos_ris/WoS_79.ris"),
    pytest.param(DATA / "wos_bare_cr.ris", id="data/wos_bare_cr.ris"),
])
def test_bare_cr_line_ends_keep_every_address(path: Path) -> None:
    assert b"\rAD  - " in path.read_bytes() and b"\rAN  - WOS:" in path.read_bytes()
    with open(path, encoding="utf-8-sig") as fh:
        plain = rispy.load(fh)
    plain_ad = sum(1 if isinstance(r.get("author_address"), str) else len(r.get("author_address") or [])
                   for r in plain)
    ours = read(path)[1]
    assert sum(1 for r in ours for t, _ in r.raw if t == "AD") > plain_ad
    assert all(r.fields.accessions.get("wos", "").startswith("WOS:") for r in ours)


@pytest.mark.parametrize("path", [
    # ../shared's pubmed_nbib/_baseline_pubmed.ris (MEDLINE saved as .ris), byte for byte
    pytest.param(DEMO / "pubmed_dinosaur.nbib", id="demo/pubmed_dinosaur.nbib"),
    shared_param(RIS / "pubmed_nbib/restoration_pubmed.nbib", id="shared/pubmed_nbib/restoration_pubmed.nbib"),
    shared_param(RIS / "wos_plaintext/WoS_other_reference_software_r4001-4012.txt",
                 id="shared/wos_plaintext/WoS_other_reference_software_r4001-4012.txt"),
    pytest.param(DATA / "pubmed_citation_manager.nbib", id="data/pubmed_citation_manager.nbib"),
    pytest.param(DATA / "wos_other_reference_software.txt", id="data/wos_other_reference_software.txt"),
])
def test_non_ris_tagged_formats_read_where_rispy_gives_zero(path: Path) -> None:
    with open(path, encoding="utf-8-sig") as fh:
        assert rispy.load(fh) == []  # silently zero records
    assert len(read(path)[1]) > 0


@pytest.mark.parametrize(("path", "keyword"), [
    shared_param(RIS / "endnote_ris" / "blue-light.ris", "Antirrhinum majus", id="shared/endnote_ris/blue-light.ris"),
    pytest.param(DATA / "endnote_continuation.ris", "Invented majus", id="data/endnote_continuation.ris"),
])
def test_endnote_continuation_lines_are_separate_values(path: Path, keyword: str) -> None:
    records = read(path)[1]
    first = records[0]
    assert keyword in first.fields.keywords and "blue light" in first.fields.keywords
    assert sum(1 for t, _ in first.raw if t == "AD") >= 3  # rispy glues them with spaces


@pytest.mark.parametrize("path", [
    shared_param(RIS / "ovid_ebmr_central" / "cochrane.ris", id="shared/ovid_ebmr_central/cochrane.ris"),
    pytest.param(DATA / "ovid_ebmr_central.ris", id="data/ovid_ebmr_central.ris"),
])
def test_ovid_cochrane_single_author_line_is_split(path: Path) -> None:
    records = read(path)[1]
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


@pytest.mark.parametrize(("path", "row"), manifest_cases(lambda row: not refused(row)))
def test_round_trip_of_every_file_through_the_ris_writer(path: Path, row: dict[str, str]) -> None:
    import dataclasses
    import io

    from screening.readers.writer import write_ris

    info, records = read(path)
    buf = io.StringIO()
    write_ris([(r.raw if info.format == "ris" else None, r.fields) for r in records], buf)
    back = read_text_records(buf.getvalue())
    assert len(back) == len(records) == int(row["records"]), row["path"]
    for a, b in zip(records, back, strict=True):
        fa, fb = dataclasses.asdict(a.fields), dataclasses.asdict(b.fields)
        if info.format != "ris":  # provenance-only fields are written differently
            for k in ("database", "accessions", "ris_type", "urls"):
                fa.pop(k), fb.pop(k)
        assert fa == fb, row["path"]


@pytest.mark.parametrize(("path", "row"), manifest_cases(lambda row: not refused(row) and row["format"] != "CSV"))
def test_small_chunks_read_exactly_what_one_chunk_reads(path: Path, row: dict[str, str]) -> None:
    """Large files are parsed in chunks cut at record starts: the cut must never change a record."""
    from screening.readers.chunks import Reconciler, parse_chunk, plan_chunks
    from screening.readers.types import FileInfo

    path = str(path)
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
