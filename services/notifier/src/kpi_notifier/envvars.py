"""`${VAR}` references in channel definitions, resolved from the notifier's environment at
send time, so a secret never travels through goals.changes or the database."""

import re
from collections.abc import Mapping

from kpi_notifier.channels import DeliveryError

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class MissingVariable(DeliveryError):
    pass


def resolve(text: str, environ: Mapping[str, str], where: str) -> str:
    """`text` with every `${VAR}` replaced; a variable that is not set is a delivery error."""
    missing = [name for name in _REF.findall(text) if not environ.get(name)]
    if missing:
        names = ", ".join(sorted(set(missing)))
        raise MissingVariable(f"environment variable {names} is not set ({where})")
    return _REF.sub(lambda m: environ[m.group(1)], text)
