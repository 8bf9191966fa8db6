"""Form helpers shared by the apps' views."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.forms import Form


def apply_service(
    form: Form, call: Callable[[], object], *, conflicts: tuple[type[Exception], ...] = ()
) -> bool:
    """Validate ``form`` and run the service; a refusal lands next to the field it concerns.

    ``call`` runs only when the form is valid; a ``ValidationError`` it raises is added to
    the form (per field when it names fields the form has, else as a form-wide error), and
    so is the message of any of ``conflicts`` (a lost compare-and-set, say).
    """
    if not form.is_valid():
        return False
    try:
        call()
    except conflicts as exc:
        form.add_error(None, str(exc))
        return False
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
        return False
    return True
