from kpi_ingest.gate import KafkaGate


def test_gate_closes_for_retry_after_and_opens_early_on_probe() -> None:
    gate = KafkaGate(retry_after_s=5)
    assert gate.is_open(0.0)
    gate.close(10.0)
    assert not gate.is_open(14.9)
    assert gate.is_open(15.0)
    gate.close(20.0)
    gate.open()
    assert gate.is_open(20.1)
