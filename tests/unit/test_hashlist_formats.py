"""Hash-list files as ThreatExchange and HMA write them: every entry read, bad lines named, nothing guessed."""

from __future__ import annotations

import json

import pytest

from common.errors import BadInput
from common.hashlist_formats import detect_format, parse_list, render_export

A = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"  # ThreatExchange pdq_test.py vectors
B = "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"
C = "fb4eed46cb8a6c78819ca06b756c541f7b07ef6d02c82fccd00f862166272cda"


def test_te_lines_from_hash_and_dataset_commands() -> None:
    text = (
        f"pdq {A}\n"  # `threatexchange hash photo`
        f"pdq {B} 'market' POSITIVE_CLASS\n"  # `threatexchange dataset -P`
        "md5 0123456789abcdef0123456789abcdef\n"
        f"\n{C.upper()}\n"  # a bare hash (local_file with signal_type=pdq)
        f"pdq {'0' * 64}\n"
        f"pdq {C} 'market' NEGATIVE_CLASS\n"
    )
    parsed = parse_list(text.encode(), filename="x.te")
    assert parsed.format == "te"
    assert [(e.entry_id, e.pdq) for e in parsed.entries] == [("line 1", A), ("line 2", B), ("line 5", C)]
    assert parsed.entries[1].meta == {"collab": "market", "category": "POSITIVE_CLASS"}
    assert dict(parsed.skipped) == {
        "md5 signals (not PDQ)": 1,
        "degenerate hashes (32-224 of 256 bits must be set)": 1,
        "NEGATIVE_CLASS entries (marked as not belonging to the list)": 1,
    }


def test_threatexchange_dataset_csv() -> None:
    text = (
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{A},market,INVESTIGATION_SEED,\n"
        f"pdq,{B},market,POSITIVE_CLASS,fake shoes\n"
        "url,https://example.com,market,POSITIVE_CLASS,\n"
    )
    parsed = parse_list(text.encode())
    assert parsed.format == "csv" and [e.pdq for e in parsed.entries] == [A, B]
    assert parsed.entries[1].meta == {"collab": "market", "category": "POSITIVE_CLASS", "tags": "fake shoes"}
    assert parsed.skipped["url signals (not PDQ)"] == 1


def test_tsv_with_ids_quality_and_metadata() -> None:
    text = (
        f"id\tpdq\tquality\tlisting_url\nL-1\t{A}\t100\thttps://m.example/1\nL-2\t{B}\t12\t\nL-3\t{C}\t\t\n"
    )
    parsed = parse_list(text.encode(), filename="known.tsv")
    assert parsed.format == "tsv"
    assert [(e.entry_id, e.quality) for e in parsed.entries] == [("L-1", 100), ("L-3", None)]
    assert parsed.entries[0].meta == {"listing_url": "https://m.example/1"}
    assert sum(parsed.skipped.values()) == 1  # L-2: quality 12 < 50


def test_hma_bank_content_json_and_signal_bodies() -> None:
    contents = [
        {
            "id": 17,
            "bank": {"name": "COUNTERFEITS", "matching_enabled_ratio": 1.0},
            "signals": {"pdq": A, "video_md5": "0" * 32},
            "metadata": {"content_id": "listing-9", "content_uri": "https://m.example/9"},
            "note": "fake ACME tank",
        },
        {"id": 18, "signals": {"video_md5": "1" * 32}},
    ]
    parsed = parse_list(json.dumps(contents).encode())
    assert parsed.format == "hma" and [e.entry_id for e in parsed.entries] == ["17"]
    assert parsed.entries[0].meta == {
        "content_id": "listing-9",
        "content_uri": "https://m.example/9",
        "note": "fake ACME tank",
        "bank": "COUNTERFEITS",
    }
    bodies = parse_list(f'{{"pdq": "{A}", "note": "n1"}}\n{{"pdq": "{B}"}}\n'.encode(), filename="b.jsonl")
    assert [e.entry_id for e in bodies.entries] == ["item 1", "item 2"]
    wrapped = parse_list(json.dumps({"contents": contents}).encode())
    assert [e.pdq for e in wrapped.entries] == [A]


def test_bad_lines_are_all_named_and_nothing_is_returned() -> None:
    text = f"pdq {A}\npdq nothex\npdq {A[:-1]}\n"
    with pytest.raises(BadInput) as err:
        parse_list(text.encode(), filename="bad.te")
    assert "line 2" in str(err.value) and "line 3" in str(err.value) and "bad.te" in str(err.value)
    with pytest.raises(BadInput, match="no hash column"):
        parse_list(b"name,url\nx,y\n")
    with pytest.raises(BadInput, match="no PDQ hashes"):
        parse_list(b"md5 0123\n")
    with pytest.raises(BadInput, match="not UTF-8"):
        parse_list(b"\xff\xfe\x00garbage")
    with pytest.raises(BadInput, match="quality"):
        parse_list(f"pdq,quality\n{A},high\n".encode())


def test_detect_format() -> None:
    assert detect_format("pdq abc") == "te"
    assert detect_format("[{}]") == "hma"
    assert detect_format("a\tb") == "tsv"
    assert detect_format("anything", "list.csv") == "csv"


def test_render_export_formats() -> None:
    rows = [{"pdq": A, "quality": 100, "brand": "acme", "reference": "reference:a.jpg", "filename": "a.jpg"}]
    assert render_export(rows, "te") == f"pdq {A}\n"
    csv_text = render_export(rows, "csv")
    assert csv_text.splitlines()[0] == "signal_type,signal_str,quality,brand,reference,filename,sha256"
    assert parse_list(csv_text.encode()).entries[0].pdq == A  # our own CSV imports back
    assert json.loads(render_export(rows, "hma")) == {"pdq": A, "note": "acme reference:a.jpg"}
    with pytest.raises(BadInput):
        render_export(rows, "xml")
