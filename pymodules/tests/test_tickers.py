import json
from pathlib import Path

import pytest

from stockagent import errors, tickers

# The spellings table the Go side's tests read too (server/tickers).
TABLE = json.loads((Path(__file__).resolve().parents[2] / "server/tickers/testdata/canonical.json").read_text())


def test_index_stems_match_go():
    assert sorted(tickers.INDEX_STEMS) == TABLE["index_stems"]


def test_bundled_indices_are_listed():
    """Every bundled price file whose symbol is an index (a caret in SOURCES.md) is in INDEX_STEMS."""
    bundled = Path(tickers.__file__).parent / "market" / "bundled"
    sources = (bundled / "SOURCES.md").read_text()
    for csv in bundled.glob("*.csv"):
        if f"^{csv.stem}" in sources:
            assert csv.stem in tickers.INDEX_STEMS, csv.name
    assert "GSPC" in tickers.INDEX_STEMS


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: repr(c["in"]))
def test_canonical_table(case):
    """Finding 3: every spelling of a symbol gives the same symbol, model, folder and task as in Go."""

    def outcome(f):
        try:
            return f()
        except errors.BadRequest:
            return None

    parent = TABLE["parent_symbol"]
    assert outcome(lambda: tickers.normalize(case["in"])) == case["symbol"]
    model = outcome(lambda: tickers.parse_model_ref(case["in"], parent))
    assert model == case["model"]
    assert (tickers.model_id(model) if model else None) == case["folder"]
    task = None if model is None else ("parent_training" if model == tickers.PARENT else model.lower())
    assert task == case["task"]


def test_parent_alias_follows_parent_ticker(load_env):
    assert tickers.parse_model_ref("^spy", "SPY") == tickers.PARENT
    assert tickers.parse_model_ref("^GSPC", "SPY") == "^GSPC"
    load_env(PARENT_TICKER="spy")
    assert tickers.parse_model_ref("spy") == tickers.PARENT  # by default, the settings' parent symbol


@pytest.mark.parametrize(
    "raw, symbol",
    [
        (" aapl ", "AAPL"),
        ("^gspc", "^GSPC"),
        ("brk-b", "BRK-B"),
        ("BF.B", "BF.B"),
        ("EURUSD=X", "EURUSD=X"),
        ("A", "A"),
    ],
)
def test_valid(raw, symbol):
    assert tickers.normalize(raw) == symbol


@pytest.mark.parametrize(
    "raw",
    [
        "../x",
        "../../etc/passwd",
        "",
        "   ",
        "..",
        ".",
        ".A",
        "A..B",
        "PARENT",
        "parent",
        "^^^",
        "-=",
        "A/B",
        "A\\B",
        "ABCDEFGHIJKLM",
        "AAPL\x00",
        "ÄPPL",
        5,
        None,
        "^.A",
        "A^B",
        "\u017f",
    ],
)
def test_invalid(raw):
    with pytest.raises(errors.BadRequest):
        tickers.normalize(raw)


def test_parent_alias():
    assert tickers.parse_model_ref("Parent") == tickers.PARENT
    assert tickers.parse_model_ref(" PARENT ") == tickers.PARENT
    assert tickers.parse_model_ref("aapl") == "AAPL"
    with pytest.raises(errors.BadRequest):
        tickers.parse_model_ref("../parent")


def test_file_names():
    assert tickers.stem("^GSPC") == "GSPC" and tickers.symbol_for_stem("GSPC") == "^GSPC"
    assert tickers.model_id("parent") == "parent" and tickers.model_id("^DJI") == "DJI"


def test_confined(tmp_path):
    assert tickers.confined(tmp_path, "AAPL.csv") == (tmp_path / "AAPL.csv").resolve()
    for bad in ("../x.csv", "..", "", "/etc/passwd"):
        with pytest.raises(errors.BadRequest):
            tickers.confined(tmp_path, bad)
    (tmp_path / "link.csv").symlink_to("/etc/hostname")
    with pytest.raises(errors.BadRequest):  # a symlink out of the folder is refused too
        tickers.confined(tmp_path, "link.csv")
