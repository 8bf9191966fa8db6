"""Log-in plumbing."""

from django.http import HttpRequest


def lockout_username(request: HttpRequest, credentials: dict | None = None) -> str | None:
    """The e-mail a log-in attempt was for, however Django named it (django-axes' key).

    Lower-cased, so "Owner@Example.com" and "owner@example.com" share one failure count.
    """
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username") or request.POST.get("username")
    return value.strip().lower() if value else None
