"""The shell recipes of docs/sources.md and docs/getting-started.md do what they say: the
`PUT /v1/sources` bodies are valid definitions whose mapping maps a sample payload, and the
openssl signing lines produce signatures the service accepts."""

import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from kpi_ingest.sources.mapping import apply
from kpi_ingest.sources.model import SourceDefinition
from kpi_ingest.sources.signatures import verify_hubspot_v3, verify_stripe_v1

DOCS = Path(__file__).parents[4] / "docs"
GUIDES = [DOCS / "sources.md", DOCS / "getting-started.md"]
INVOICE_PAID = {
    "id": "evt_1001",
    "type": "invoice.paid",
    "created": 1795000000,
    "data": {"object": {"amount_paid": 4200, "currency": "gbp", "customer": "cus_42"}},
}
BODY = b'{"id": "evt_1", "type": "invoice.paid"}\n'
SECRET = "whsec_test_0123456789"


def _shell_blocks(doc: Path) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)


def _source_bodies(doc: Path) -> list[str]:
    bodies = []
    for block in _shell_blocks(doc):
        if "-X PUT" in block and "/v1/sources/" in block:
            words = shlex.split(block.replace("\\\n", " "))
            bodies.append(words[words.index("-d") + 1])
    return bodies


@pytest.mark.parametrize("doc", GUIDES, ids=lambda d: d.name)
def test_the_source_definition_shown_maps_an_invoice(doc: Path) -> None:
    [body] = _source_bodies(doc)
    definition = SourceDefinition.model_validate_json(body)
    [event] = apply(definition.mapping, INVOICE_PAID)
    assert (event["id"], event["metric"], event["value"]) == (
        "evt_1001",
        "billing.invoice.paid",
        4200,
    )
    assert event["dimensions"] == {"currency": "gbp", "customer": "cus_42"}


def _recipe_lines(prefixes: tuple[str, ...]) -> str:
    [block] = [b for b in _shell_blocks(DOCS / "sources.md") if "openssl dgst" in b]
    return "\n".join(line for line in block.splitlines() if line.startswith(prefixes))


def _run(script: str, tmp_path: Path) -> str:
    (tmp_path / "body.json").write_bytes(BODY)
    env = {
        "SECRET": SECRET,
        "INGEST": "https://ingest.example.com",
        "ID": "src-1",
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_the_stripe_signing_recipe_passes_the_services_check(tmp_path: Path) -> None:
    out = _run(_recipe_lines(("t=", "v1=")) + '\necho "t=$t,v1=$v1"', tmp_path)
    verify_stripe_v1(SECRET, out.strip(), BODY, int(time.time()), 300)


def test_the_hubspot_signing_recipe_passes_the_services_check(tmp_path: Path) -> None:
    out = _run(_recipe_lines(("URL=", "sig=")) + '\necho "$URL $ts $sig"', tmp_path)
    url, ts, sig = out.split()
    headers = {"x-hubspot-signature-v3": sig, "x-hubspot-request-timestamp": ts}
    verify_hubspot_v3(SECRET, "POST", url, BODY, headers, int(time.time() * 1000))
