from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.models import Group
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, User
from billing.caps import CapReached
from members.forms import AcceptInvitationForm, InvitationForm, RoleForm
from members.permissions import role_required
from members.selectors import invitation_get, invitation_pending_list, member_get, member_list
from members.services import (
    MembershipError,
    email_verification_send,
    group_create,
    group_delete,
    group_member_add,
    group_member_remove,
    handoff_consume,
    invitation_accept,
    invitation_create,
    invitation_from_token,
    invitation_revoke,
    member_change_role,
    member_remove,
)
from saas.http import MemberRequest

MANAGERS = (Role.OWNER, Role.ADMIN)
AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _members_page(
    request: HttpRequest, *, template: str = "members/members.html", **extra: object
) -> HttpResponse:
    context = {
        "members": member_list(),
        "invitations": invitation_pending_list(),
        "invitation_form": InvitationForm(),
        "roles": Role.choices,
        **extra,
    }
    return render(request, template, context)


@role_required(*MANAGERS)
@require_GET
def members(request: MemberRequest) -> HttpResponse:
    return _members_page(request)


@role_required(*MANAGERS)
@require_POST
def invitation_new(request: MemberRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    error, cap_reached = "", None
    if form.is_valid():
        try:
            invitation_create(
                actor=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                site_root=request.build_absolute_uri("/").rstrip("/"),
            )
            form = InvitationForm()
            messages.success(request, "Invitation sent.")
        except MembershipError as refusal:
            error = str(refusal)
        except CapReached as refusal:
            cap_reached = refusal.for_user(request.user)
    return _members_page(
        request, template="members/members.html#people", invitation_form=form, invite_error=error,
        cap_reached=cap_reached,
    )  # fmt: skip


@role_required(*MANAGERS)
@require_POST
def invitation_withdraw(request: MemberRequest, invitation_id: int) -> HttpResponse:
    invitation = invitation_get(invitation_id=invitation_id)
    if invitation is None:
        raise Http404
    try:
        invitation_revoke(actor=request.user, invitation=invitation)
    except MembershipError as refusal:
        messages.error(request, str(refusal))
    return _members_page(request, template="members/members.html#people")


@role_required(*MANAGERS)
@require_POST
def member_role(request: MemberRequest, member_id: int) -> HttpResponse:
    member = member_get(member_id=member_id)
    form = RoleForm(request.POST)
    if member is None or not form.is_valid():
        raise Http404
    try:
        member_change_role(actor=request.user, member=member, role=form.cleaned_data["role"])
        messages.success(request, f"{member.email} is now {member.get_role_display().lower()}.")
    except MembershipError as refusal:
        messages.error(request, str(refusal))
    return _members_page(request, template="members/members.html#people")


@role_required(*MANAGERS)
@require_POST
def member_delete(request: MemberRequest, member_id: int) -> HttpResponse:
    member = member_get(member_id=member_id)
    if member is None:
        raise Http404
    try:
        member_remove(actor=request.user, member=member)
        messages.success(request, f"{member.email} was removed.")
    except MembershipError as refusal:
        messages.error(request, str(refusal))
    return _members_page(request, template="members/members.html#people")


@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_from_token(token=token)
    except MembershipError as refusal:
        return render(request, "members/accept.html", {"refusal": str(refusal)}, status=410)
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token,
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except MembershipError as refusal:
            return render(request, "members/accept.html", {"refusal": str(refusal)}, status=410)
        login(request, user, backend=AUTH_BACKEND)
        messages.success(request, "Welcome aboard.")
        return redirect("dashboard")
    return render(request, "members/accept.html", {"form": form, "invitation": invitation})


@require_GET
def handoff(request: HttpRequest) -> HttpResponse:
    user: User | None = handoff_consume(token=request.GET.get("token", ""))
    if user is None:
        messages.error(
            request, "That sign-in link has expired or was already used. Please sign in."
        )
        return redirect("account_login")
    login(request, user, backend=AUTH_BACKEND)
    # The founder's first visit to their subdomain: the verification link needs this host.
    email_verification_send(request=request, user=user)
    return redirect("dashboard")


@role_required(*MANAGERS)
@require_http_methods(["GET", "POST"])
def groups(request: MemberRequest) -> HttpResponse:
    try:
        if "create" in request.POST:
            group_create(actor=request.user, name=request.POST.get("name", ""))
        elif "add" in request.POST:
            group = Group.objects.filter(pk=request.POST.get("group", "")).first()
            if group is None:
                raise Http404
            group_member_add(actor=request.user, group=group, email=request.POST.get("email", ""))
        elif "remove" in request.POST:
            group = Group.objects.filter(pk=request.POST.get("group", "")).first()
            member = member_get(member_id=int(request.POST.get("member", "0")))
            if group is None or member is None:
                raise Http404
            group_member_remove(actor=request.user, group=group, member=member)
        elif "delete" in request.POST:
            group = Group.objects.filter(pk=request.POST.get("group", "")).first()
            if group is None:
                raise Http404
            group_delete(actor=request.user, group=group)
    except MembershipError as refusal:
        messages.error(request, str(refusal))
    context = {"groups": Group.objects.prefetch_related("user_set").order_by("name")}
    return render(request, "members/groups.html", context)
