"""The two consoles every `kpi` command prints on. Markup and emoji codes are off, so text
from the services or the user (a KPI titled `New customers [/]`, an error quoting the pattern
`^[a-z]{1,62}$`) prints as it is; styling is done with `rich.text.Text` (`styled`)."""

from rich.console import Console
from rich.text import Text

out = Console(markup=False, emoji=False, highlight=False)
err = Console(stderr=True, markup=False, emoji=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Text from plain strings and (string, style) pairs, none of it read as markup."""
    return Text.assemble(*parts)
