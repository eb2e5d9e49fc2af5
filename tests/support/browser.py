"""Headless Chromium (the Debian package, /usr/bin/chromium) driven by playwright, watching
what a person would not see: console errors, script errors, dialogs, and any request to a
host other than this machine (refused, and recorded)."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Dialog, Page, Route, sync_playwright

CHROMIUM = "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Watch:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)  # requests that would leave the machine
    requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(f"{message.text} at {message.location}")

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_route(self, route: Route) -> None:
        url = route.request.url
        self.requests.append(url)
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


@contextmanager
def watched_page(width: int = 1280, height: int = 900) -> Iterator[tuple[Page, Watch]]:
    """A page in a fresh browser, and what it saw."""
    watch = Watch()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, chromium_sandbox=False)
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route("**/*", watch.on_route)
            page = context.new_page()
            page.on("console", watch.on_console)
            page.on("pageerror", lambda error: watch.page_errors.append(str(error)))
            page.on("dialog", watch.on_dialog)
            yield page, watch
        finally:
            browser.close()
