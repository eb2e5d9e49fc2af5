"""Where a delivery row goes and what its message says, resolved at send time from the
current directory and environment (so a fixed address or variable heals a retry)."""

from collections.abc import Mapping
from typing import Any

from kpi_notifier.channels import DeliveryError, Destination
from kpi_notifier.directory import Directory
from kpi_notifier.envvars import resolve


def destination(
    directory: Directory, channel: str, recipient: str, environ: Mapping[str, str]
) -> Destination:
    """A person (`channel` "email") by their email address, or a named channel."""
    if channel == "email":
        person = directory.people.get(recipient)
        if person is None:
            raise DeliveryError(f"no person or channel named {recipient!r} in the strategy")
        if not person.email:
            raise DeliveryError(f"person {recipient!r} has no email address")
        return Destination("email", (person.email,))
    spec = directory.channels.get(channel)
    if spec is None:
        raise DeliveryError(f"alert channel {channel!r} is not defined in the strategy")
    where = f"alert channel {channel}"
    targets = tuple(resolve(x, environ, where) for x in spec.targets)
    secret = resolve(spec.secret, environ, where) if spec.secret else None
    return Destination(spec.kind, targets, secret)


def message_context(
    directory: Directory, context: Mapping[str, Any], channel: str, recipient: str
) -> dict[str, Any]:
    """The stored context plus names the templates use (recipient's and owner's)."""
    person = directory.people.get(recipient) if channel == "email" else None
    breach = context.get("breach") or context.get("alert") or {}  # a burn-rate alert
    owner = directory.people.get(str(breach.get("owner"))) if breach.get("owner") else None
    return {
        "note": None,
        **context,
        "recipient_name": person.name if person else recipient,
        "owner_name": owner.name if owner else (breach.get("owner") or "nobody"),
        "owner_slack": owner.slack if owner else None,
    }
