"""The fault suite's notification check: a repeated email is explained only by a fault that
came between the two sends (a notifier killed, PostgreSQL down) on a row that counts a
redelivery; two live senders mailing the same row are not."""

from typing import Any

from chaos.verify import check_notices, explained_repeats

KEY = "brc-1:opened:email:olga"


def _mail(at: float) -> dict[str, Any]:
    return {
        "subject": "Critical: Chaos breach is off track (2023-01-01)",
        "text": "Breach: brc-1\n",
        "to": ["olga@chaos.example"],
        "received_at": at,
    }


def test_a_repeat_across_a_kill_is_explained() -> None:
    assert explained_repeats([10.0, 16.0], redelivered=1, interrupts=[(12.0, 13.0)]) == 1


def test_a_first_send_filed_just_after_the_kill_began_is_still_explained() -> None:
    assert explained_repeats([12.1, 19.0], redelivered=1, interrupts=[(12.0, 13.0)]) == 1


def test_a_repeat_with_no_fault_between_is_not_even_if_the_row_says_redelivered() -> None:
    assert (
        explained_repeats([10.0, 10.3], redelivered=1, interrupts=[(5.0, 6.0), (12.0, 13.0)]) == 0
    )


def test_a_repeat_across_a_kill_the_row_does_not_count_is_not() -> None:
    assert explained_repeats([10.0, 16.0], redelivered=0, interrupts=[(12.0, 13.0)]) == 0


def test_check_notices_reads_the_keys_and_times_of_the_mails() -> None:
    log = [{"dedup_key": KEY, "status": "sent", "redelivered": 1}]
    live = check_notices({KEY}, [_mail(10.0), _mail(10.2)], log, interrupts=[(3.0, 4.0)])
    killed = check_notices({KEY}, [_mail(10.0), _mail(16.0)], log, interrupts=[(12.0, 13.0)])
    assert (live.duplicates, live.explained, live.ok) == (1, 0, False)
    assert (killed.duplicates, killed.explained, killed.ok) == (1, 1, True)
