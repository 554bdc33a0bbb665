"""Signatures reproduce the worked HMAC examples published in Binance's docs."""

from binance_airflow.binance.signing import encode_query, hmac_signature, signed_query

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PARAMS = {
    "symbol": "LTCBTC",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": 1,
    "price": 0.1,
    "recvWindow": 5000,
    "timestamp": 1499827319559,
}
PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)


def test_docs_vector_payload_and_signature():
    assert encode_query(PARAMS) == PAYLOAD
    assert hmac_signature(SECRET, PAYLOAD) == "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_signature_is_appended_last():
    assert (
        signed_query(PARAMS, SECRET)
        == PAYLOAD + "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


def test_non_ascii_symbol_is_percent_encoded_before_signing():
    query = encode_query({**PARAMS, "symbol": "１２３４５６"})
    assert query.startswith("symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY")
    assert hmac_signature(SECRET, query) == "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3"


def test_json_array_parameters_are_encoded():
    assert encode_query({"symbols": '["BTCUSDT","BNBBTC"]'}) == "symbols=%5B%22BTCUSDT%22%2C%22BNBBTC%22%5D"
