from kpi_notifier.channels import Destination, Message
from kpi_notifier.channels.email import build_email


def test_one_multipart_email_with_text_and_html() -> None:
    mail = build_email(
        "kpi <n@x.example>",
        Destination("email", ("a@x.example", "b@x.example")),
        Message("Subject line", "plain body\n", "<p>html body</p>", "slack"),
    )
    assert mail["To"] == "a@x.example, b@x.example"
    assert mail["Subject"] == "Subject line"
    assert mail.get_body(("plain",)).get_content() == "plain body\n"  # type: ignore[union-attr]
    assert "<p>html body</p>" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
