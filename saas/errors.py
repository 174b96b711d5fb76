"""Error pages that say what went wrong in words, on the site's own layout."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler400: a page that says what was wrong; the session is left alone."""
    status = 400
    if isinstance(exception, RequestDataTooBig):
        status = 413
        limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_048_576
        reason = (
            f"The form was too large to send (more than {limit_mb:.1f} MB of text). Shorten "
            "it, or upload a long text as a file."
        )
    elif isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        reason = "The form had too many fields or files to be read. Send fewer at a time."
    else:
        reason = "The request could not be understood. Go back and try again."
    return error_page(reason=reason, status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler403. The one route to it a person meets is single sign-on's: an answer
    from the identity provider that was already used (a replay) or that this browser did not
    ask for (django-allauth keeps each sign-in's state once, in the session that started it)."""
    return error_page(
        reason="This request was refused. If you were signing in with your identity "
        "provider, its answer was already used or was meant for another browser: start again "
        "from the sign-in page.",
        status=403,
    )


def error_page(*, reason: str, status: int) -> HttpResponse:
    """Rendered without the request: Django calls its error handlers in a worker thread in
    which the organization's schema and URL conf are not in force (under ASGI), so neither
    context processors nor the site's layout can run there."""
    return HttpResponse(render_to_string("error.html", {"reason": reason}), status=status)
