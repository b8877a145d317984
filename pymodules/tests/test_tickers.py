import pytest

from stockagent import errors, tickers


@pytest.mark.parametrize("raw, symbol", [
    (" aapl ", "AAPL"), ("^gspc", "^GSPC"), ("brk-b", "BRK-B"), ("BF.B", "BF.B"), ("EURUSD=X", "EURUSD=X"), ("A", "A"),
])
def test_valid(raw, symbol):
    assert tickers.normalize(raw) == symbol


@pytest.mark.parametrize("raw", [
    "../x", "../../etc/passwd", "", "   ", "..", ".", ".A", "A..B", "PARENT", "parent", "^^^", "-=",
    "A/B", "A\\B", "ABCDEFGHIJKLM", "AAPL\x00", "ÄPPL", 5, None, "^.A",
])
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
    assert tickers.model_id("parent") == "parent" and tickers.model_id("^GSPC") == "GSPC"


def test_confined(tmp_path):
    assert tickers.confined(tmp_path, "AAPL.csv") == (tmp_path / "AAPL.csv").resolve()
    for bad in ("../x.csv", "..", "", "/etc/passwd"):
        with pytest.raises(errors.BadRequest):
            tickers.confined(tmp_path, bad)
    (tmp_path / "link.csv").symlink_to("/etc/hostname")
    with pytest.raises(errors.BadRequest):  # a symlink out of the folder is refused too
        tickers.confined(tmp_path, "link.csv")
