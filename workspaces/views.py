from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.selectors import invitation_pending_list, member_list


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    context = {
        "member_count": member_list().count(),
        "pending_invitations": invitation_pending_list().count(),
    }
    return render(request, "workspaces/dashboard.html", context)
