"""The web view in the demo: started on the demo clock beside the other services, a viewer key
for the acme tenant (kept in .local/demo/viewer-key and reused), the URL and how to sign in,
screenshots of the strategy map and one KPI page taken in headless Chromium, and the
quarterly business review's pack as the web view serves it (HTML and PDF)."""

import os
from pathlib import Path

import httpx
from kpi_localinfra import processes
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from rich.console import Console

from demo import stack
from demo.tenant import DemoTenant

KEY_FILE = stack.STATE / "viewer-key"
SHOTS = {"strategy-map.png": "/map", "kpi-new-clients.png": "/kpis/new-clients"}
CHROMIUM = "/usr/bin/chromium"
REVIEW = "quarterly-business-review"
PACKS = {"acme-review-pack.html": f"/reviews/{REVIEW}/pack?download=1",
         "acme-review-pack.pdf": f"/reviews/{REVIEW}/pack.pdf"}  # fmt: skip


def url() -> str:
    return f"http://127.0.0.1:{processes.port_of(processes.WEB, os.environ)}"


def viewer_key(tenant: DemoTenant) -> str:
    """The saved viewer key while goals still accepts it, else a new one (saved, 0600)."""
    goals = tenant.urls.goals_url
    if KEY_FILE.exists():
        key = KEY_FILE.read_text().strip()
        answer = httpx.get(f"{goals}/v1/strategy", headers=_auth(key), timeout=30)
        if answer.status_code == 200:
            return key
    answer = httpx.post(
        f"{goals}/v1/api-keys",
        json={"role": "viewer", "name": "demo web view"},
        headers=_auth(tenant.admin_key),
        timeout=30,
    )
    answer.raise_for_status()
    key = str(answer.json()["api_key"])
    KEY_FILE.touch(mode=0o600)
    KEY_FILE.write_text(key + "\n")
    return key


def show(console: Console, tenant: DemoTenant) -> None:
    """Start the web view, print how to open it, and write the screenshots."""
    console.rule("web view")
    stack.start(("web",))
    key = viewer_key(tenant)
    console.print(f"  open {url()}/ and sign in with the viewer key in {KEY_FILE}")
    console.print(f"  (copy it with: cat {KEY_FILE})")
    try:
        for path in screenshots(key, stack.STATE):
            console.print(f"  screenshot: {path}")
    except PlaywrightError as exc:
        console.print(f"  [red]screenshots failed[/red] (is {CHROMIUM} installed?): {exc}")
    for path in review_packs(key, stack.STATE):
        console.print(f"  review pack: {path}")
    console.print(f"  (the same from the command line: kpi review-pack {REVIEW} -o qbr.pdf)")


def review_packs(key: str, folder: Path) -> list[Path]:
    """The review's pack as the web view serves it to the viewer key: a file and a PDF."""
    written = []
    for name, path in PACKS.items():
        answer = httpx.get(f"{url()}{path}", headers=_auth(key), timeout=120)
        answer.raise_for_status()
        (folder / name).write_bytes(answer.content)
        written.append(folder / name)
    return written


def screenshots(key: str, folder: Path) -> list[Path]:
    """Sign in through the form, then a full-page PNG of each page in SHOTS."""
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, chromium_sandbox=False)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url()}/login")
            page.get_by_label("API key").fill(key)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(f"{url()}/map")
            for name, path in SHOTS.items():
                page.goto(f"{url()}{path}")
                page.screenshot(path=folder / name, full_page=True)
                written.append(folder / name)
        finally:
            browser.close()
    return written


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
