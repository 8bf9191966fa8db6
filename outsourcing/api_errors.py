"""Every answer under /api/ is JSON, whichever layer produced it.

The API's own errors already have the shape ``{"error": {"code", "message", "fields"}}``;
this middleware gives it to the rest: a path no route matches (Django's 404 page, which is
HTML when DEBUG is on), a method the route does not take (405), a request Django refuses
before any view (400), and a crash outside the API's handlers (500, also with DEBUG on).
"""

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

API_PREFIX = "/api/"
# Headers of the original answer that still mean something on the JSON one.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary")
CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    500: "server_error",
}
MESSAGES = {
    404: "No such path in the API; see /api/v1/openapi.json.",
    405: "This path does not take this method; the Allow header lists the ones it takes.",
    500: "Something went wrong on our side; it has been logged.",
}


def is_json(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


class ApiJsonErrorsMiddleware:
    """Turns a non-JSON error answer under /api/ into the API's error shape, same status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or is_json(response)
        ):
            return response
        status = response.status_code
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        answer = JsonResponse(
            {
                "error": {
                    "code": CODES.get(status, "http_error"),
                    "message": MESSAGES.get(status, f"{phrase}."),
                    "fields": {},
                }
            },
            status=status,
        )
        for name in KEPT_HEADERS:
            if name in response:
                answer[name] = response[name]
        return answer
