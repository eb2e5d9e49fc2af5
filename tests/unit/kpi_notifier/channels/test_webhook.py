import hashlib
import hmac

from kpi_notifier.channels.webhook import sign


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"kind":"breach"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", body, 1700000000) == f"t=1700000000,v1={expected}"
