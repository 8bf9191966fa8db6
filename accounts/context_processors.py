from django.http import HttpRequest


def organization(request: HttpRequest) -> dict:
    """The current organization and membership, and the user's other organizations (switcher)."""
    membership = getattr(request, "membership", None)
    return {
        "org": getattr(request, "org", None),
        "membership": membership,
        "can_write": bool(membership and membership.can_write),
        "is_owner": bool(membership and membership.is_owner),
        "memberships": getattr(request, "memberships", []),
    }
