"""The one exception for a write that lost a race or contradicts the current state."""

from django.core.exceptions import ValidationError

CONFLICT = "conflict"


class Conflict(ValidationError):
    """Someone else changed the row first, or its state does not allow this now: nothing saved.

    A ``ValidationError`` (code ``"conflict"``) on purpose: a form shows it like any other
    refusal, next to ``field`` when it names one (``outsourcing.forms.apply_service``), every
    caller that already turns a service's refusal into a message needs no second ``except``,
    and the API answers it 409 with the handler that answers every other refusal of a service
    (``outsourcing.api``). ``outsourcing.forms.lost_race(form)`` tells a view it was this one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        error = ValidationError(message, code=CONFLICT)
        super().__init__({field: [error]} if field else error)

    def __str__(self) -> str:
        return " ".join(self.messages)
