"""Email over SMTP with aiosmtplib: one multipart message, plain text and HTML."""

from email.message import EmailMessage

import aiosmtplib

from kpi_notifier.channels import DeliveryError, Destination, Message
from kpi_notifier.config import Settings


def build_email(sender: str, destination: Destination, message: Message) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = ", ".join(destination.addresses)
    mail["Subject"] = message.subject
    for name, value in message.headers.items():  # an incident's thread (Message-ID, ...)
        mail[name] = value
    mail.set_content(message.text)
    mail.add_alternative(message.html, subtype="html")
    return mail


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self._s = settings

    async def send(self, destination: Destination, message: Message) -> None:
        s = self._s
        try:
            await aiosmtplib.send(
                build_email(s.smtp_from, destination, message),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                start_tls=s.smtp_starttls,
                use_tls=s.smtp_tls,
                timeout=s.smtp_timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP {s.smtp_host}:{s.smtp_port}: {exc}") from exc
