from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse


def organization_manager_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Sign-in required, and the owner or admin role (accounts.models.ORGANIZATION_MANAGERS);
    to anyone else these pages do not exist."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.can_manage_members:  # type: ignore[union-attr]
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped
