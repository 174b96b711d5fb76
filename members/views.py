from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from django_tenants.utils import tenant_context

from accounts.http import HtmxHttpRequest, MemberRequest, Result, form_refusal, service_call_flashed
from accounts.models import Role, User
from accounts.throttles import Throttle, client_address
from billing.selectors import plan_list_public
from members.actions.groups import group_create, group_delete, group_member_add, group_member_remove
from members.actions.invitations import (
    invitation_accept,
    invitation_accept_url,
    invitation_change_role,
    invitation_from_token,
    invitation_resend,
    invitation_revoke,
    invitations_send,
)
from members.actions.membership import MembershipError, member_change_role, member_remove
from members.actions.provisioning import provisioning_token_create, provisioning_token_revoke
from members.actions.signup import (
    email_verification_send,
    handoff_consume,
    handoff_issue,
    organization_signup,
)
from members.actions.single_sign_on import (
    SSO_PROVIDER_ID,
    email_domains_parse,
    identity_provider_configure,
    identity_provider_configure_saml,
    identity_provider_remove,
)
from members.actions.two_factor import organization_two_factor_require
from members.forms import (
    AcceptInvitationForm,
    GroupForm,
    GroupMemberForm,
    IdentityProviderForm,
    InvitationForm,
    RoleForm,
    SamlIdentityProviderForm,
    SecurityForm,
    SignupForm,
)
from members.models import Invitation, SignOnProtocol
from members.permissions import organization_manager_required
from members.selectors import (
    group_get,
    group_list,
    identity_provider_get,
    identity_provider_secret_problem,
    invitation_get,
    invitation_pending_list,
    member_get,
    member_list,
    members_without_two_factor,
    provisioning_token_get,
    provisioning_token_list,
)
from tenants.schemas import tenant_current
from tenants.services import organization_slug_validate, organization_url

AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _site_root(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _members_page(
    request: HttpRequest,
    *,
    template: str = "members/members.html",
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    site_root = _site_root(request)
    context = {
        "members": member_list(),
        # Each with its link, for "Copy link" when the email does not arrive.
        "invitations": [
            (invitation, invitation_accept_url(invitation=invitation, site_root=site_root))
            for invitation in invitation_pending_list()
        ],
        "invitation_form": InvitationForm(),
        "roles": Role.choices,
        **extra,
    }
    return render(request, template, context, status=status)


@organization_manager_required
@require_GET
def members(request: MemberRequest) -> HttpResponse:
    return _members_page(request)


@organization_manager_required
@require_POST
def invitation_new(request: MemberRequest) -> HttpResponse:
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(
            request, template="members/members.html#people", invitation_form=form, status=400
        )
    outcomes = invitations_send(
        actor=request.user,
        emails=form.cleaned_data["email"],
        role=form.cleaned_data["role"],
        site_root=_site_root(request),
    )
    refused = [outcome for outcome in outcomes if not outcome.sent]
    cap = next((outcome.cap_reached for outcome in refused if outcome.cap_reached), None)
    # The refused addresses stay in the box, to be corrected and sent again.
    again = InvitationForm(
        initial={"email": "\n".join(outcome.email for outcome in refused)}
        | {"role": form.cleaned_data["role"]}
    )
    return _members_page(
        request, template="members/members.html#people", invitation_form=again,
        invite_outcomes=outcomes, cap_reached=cap.for_user(request.user) if cap else None,
        status=400 if len(refused) == len(outcomes) else 200,
    )  # fmt: skip


def _pending_invitation(invitation_id: int) -> Invitation:
    invitation = invitation_get(invitation_id=invitation_id)
    if invitation is None:
        raise Http404
    return invitation


@organization_manager_required
@require_POST
def invitation_withdraw(request: MemberRequest, invitation_id: int) -> HttpResponse:
    invitation = _pending_invitation(invitation_id)
    return _people_after(
        request, lambda: invitation_revoke(actor=request.user, invitation=invitation)
    )


@organization_manager_required
@require_POST
def invitation_resend_view(request: MemberRequest, invitation_id: int) -> HttpResponse:
    invitation = _pending_invitation(invitation_id)
    return _people_after(
        request,
        lambda: invitation_resend(
            actor=request.user, invitation=invitation, site_root=_site_root(request)
        ),
        success=f"The invitation was sent again to {invitation.email}.",
    )


@organization_manager_required
@require_POST
def invitation_role(request: MemberRequest, invitation_id: int) -> HttpResponse:
    invitation = _pending_invitation(invitation_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles offered.")
        return _members_page(request, template="members/members.html#people", status=400)
    return _people_after(
        request,
        lambda: invitation_change_role(
            actor=request.user, invitation=invitation, role=form.cleaned_data["role"]
        ),
        success=lambda changed: (
            f"{changed.email} will join as {changed.get_role_display().lower()}."
        ),
    )


@organization_manager_required
@require_POST
def member_role(request: MemberRequest, member_id: int) -> HttpResponse:
    member = member_get(member_id=member_id)
    form = RoleForm(request.POST)
    if member is None or not form.is_valid():
        raise Http404
    return _people_after(
        request,
        lambda: member_change_role(
            actor=request.user, member=member, role=form.cleaned_data["role"]
        ),
        success=lambda changed: f"{changed.email} is now {changed.get_role_display().lower()}.",
    )


@organization_manager_required
@require_POST
def member_delete(request: MemberRequest, member_id: int) -> HttpResponse:
    member = member_get(member_id=member_id)
    if member is None:
        raise Http404

    def removed(revoked: int) -> str:
        made = f"{revoked} API key{pluralize(revoked)} they made"
        keys = f" {made} {pluralize(revoked, 'was,were')} revoked." if revoked else ""
        return f"{member.email} was removed.{keys}"

    return _people_after(
        request, lambda: member_remove(actor=request.user, member=member), success=removed
    )


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
        return redirect("workspaces:dashboard")
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
    return redirect("workspaces:dashboard")


def _group(group_id: int) -> Group:
    group = group_get(group_id=group_id)
    if group is None:
        raise Http404
    return group


def _groups_page(request: MemberRequest, *, refusal: str = "", status: int = 200) -> HttpResponse:
    context = {"groups": group_list(), "refusal": refusal}
    return render(request, "members/groups.html", context, status=status)


@organization_manager_required
@require_GET
def groups(request: MemberRequest) -> HttpResponse:
    return _groups_page(request)


def _groups_after(request: MemberRequest, action: Callable[[], object]) -> HttpResponse:
    """Do a group change, flash a refusal, and go back to the groups page."""
    service_call_flashed(request, action, refused=MembershipError)
    return redirect("members:groups")


def _people_after(
    request: MemberRequest,
    action: Callable[[], Result],
    *,
    success: str | Callable[[Result], str] = "",
) -> HttpResponse:
    """Do a change on members or invitations, flash what happened or the refusal, and draw
    the people section again."""
    service_call_flashed(request, action, refused=MembershipError, success=success)
    return _members_page(request, template="members/members.html#people")


@organization_manager_required
@require_POST
def group_create_view(request: MemberRequest) -> HttpResponse:
    form = GroupForm(request.POST)
    if not form.is_valid():
        return _groups_page(request, refusal=form_refusal(form), status=400)
    name = form.cleaned_data["name"]
    return _groups_after(request, lambda: group_create(actor=request.user, name=name))


@organization_manager_required
@require_POST
def group_delete_view(request: MemberRequest, group_id: int) -> HttpResponse:
    group = _group(group_id)
    return _groups_after(request, lambda: group_delete(actor=request.user, group=group))


@organization_manager_required
@require_POST
def group_member_add_view(request: MemberRequest, group_id: int) -> HttpResponse:
    group, form = _group(group_id), GroupMemberForm(request.POST)
    if not form.is_valid():
        return _groups_page(request, refusal=form_refusal(form), status=400)
    email = form.cleaned_data["email"]
    return _groups_after(
        request, lambda: group_member_add(actor=request.user, group=group, email=email)
    )


@organization_manager_required
@require_POST
def group_member_remove_view(request: MemberRequest, group_id: int, member_id: int) -> HttpResponse:
    group, member = _group(group_id), member_get(member_id=member_id)
    if member is None:
        raise Http404
    return _groups_after(
        request, lambda: group_member_remove(actor=request.user, group=group, member=member)
    )


def _signups_per_client() -> Throttle:
    return Throttle("signup-client", settings.SIGNUPS_PER_CLIENT_PER_HOUR, 3600)


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest) -> HttpResponse:
    """The public site's signup: a new organization and its owner, who then lands signed in
    on the organization's subdomain through a single-use hand-off link."""
    form = SignupForm(request.POST or None)
    template = "members/signup.html#signup-form" if request.htmx else "members/signup.html"
    signups, address = _signups_per_client(), client_address(request)
    if request.method == "POST" and signups.blocked(address):
        form.add_error(
            None, "Too many organizations were created from your network in the last hour. "
            "Please try again later.",
        )  # fmt: skip
        return render(request, template, {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        try:
            organization, owner = organization_signup(
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
                owner_email=form.cleaned_data["email"],
                owner_password=form.cleaned_data["password"],
            )
        except ValidationError as refusal:
            form.add_error("slug", refusal)
            return render(request, template, {"form": form}, status=400)
        signups.hit(address)
        with tenant_context(organization):
            token = handoff_issue(user=owner)
        # The hand-off page is on the organization's site, not this public one.
        handoff = reverse("members:handoff", urlconf=settings.ROOT_URLCONF)
        path = f"{handoff}?token={token}"
        url = organization_url(request=request, slug=organization.slug, path=path)
        if request.htmx:
            return HttpResponseClientRedirect(url)
        return HttpResponse(status=303, headers={"Location": url})
    return render(request, template, {"form": form, "plans": plan_list_public()})


@require_GET
def slug_check(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("slug", "")
    try:
        slug = organization_slug_validate(slug=slug)
        context = {"slug_ok": True, "slug": slug, "slug_message": ""}
    except ValidationError as error:
        context = {"slug_ok": False, "slug": slug, "slug_message": error.messages[0]}
    return render(request, "members/signup.html#slug-feedback", context)


@login_required
@require_http_methods(["GET", "POST"])
def security(request: MemberRequest) -> HttpResponse:
    """Owners' security settings; to anyone else the page does not exist."""
    if request.user.role != Role.OWNER:
        raise Http404
    organization = tenant_current()
    if request.method == "POST":
        form = SecurityForm(request.POST)
        if not form.is_valid():
            return HttpResponse(form_refusal(form), status=400)
        organization = organization_two_factor_require(
            actor=request.user, required=form.cleaned_data["require_two_factor"]
        )
        messages.success(request, "Security settings saved.")
        return redirect("members:security")
    context = {"organization": organization, "without_two_factor": members_without_two_factor()}
    return render(request, "members/security.html", context)


def _owner_only(request: MemberRequest) -> None:
    if request.user.role != Role.OWNER:
        raise Http404


def _single_sign_on_page(
    request: MemberRequest,
    form: IdentityProviderForm | SamlIdentityProviderForm,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    callback = reverse("openid_connect_callback", kwargs={"provider_id": SSO_PROVIDER_ID})
    provider = identity_provider_get()
    context = {
        "form": form,
        "saml": isinstance(form, SamlIdentityProviderForm),
        "provider": provider,
        "secret_problem": identity_provider_secret_problem(provider),
        "redirect_uri": request.build_absolute_uri(callback),
        "saml_acs_url": request.build_absolute_uri(reverse("saml_acs", args=[SSO_PROVIDER_ID])),
        "saml_entity_id": request.build_absolute_uri(
            reverse("saml_metadata", args=[SSO_PROVIDER_ID])
        ),
        "refusal": refusal,
    }
    return render(request, "members/single_sign_on.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def single_sign_on(request: MemberRequest) -> HttpResponse:
    """Owners set up the organization's single sign-on, OpenID Connect here and SAML with
    ?protocol=saml (the protocol in use is shown first); to anyone else the page does not
    exist."""
    _owner_only(request)
    if request.method == "GET":
        provider = identity_provider_get()
        in_use = provider.protocol if provider else SignOnProtocol.OPENID_CONNECT
        if request.GET.get("protocol", in_use) == SignOnProtocol.SAML:
            initial = SamlIdentityProviderForm.initial_from(provider)
            return _single_sign_on_page(request, SamlIdentityProviderForm(initial=initial))
        initial = IdentityProviderForm.initial_from(provider)
        return _single_sign_on_page(request, IdentityProviderForm(initial=initial))
    return _single_sign_on_save(
        request, IdentityProviderForm(request.POST), identity_provider_configure,
        saved="Single sign-on settings saved.",
    )  # fmt: skip


def _single_sign_on_save(
    request: MemberRequest,
    form: IdentityProviderForm | SamlIdentityProviderForm,
    configure: Callable[..., object],
    *,
    saved: str,
) -> HttpResponse:
    if not form.is_valid():
        return _single_sign_on_page(request, form, refusal=form_refusal(form), status=400)
    try:
        configure(
            actor=request.user,
            allowed_domains=email_domains_parse(text=form.cleaned_data["allowed_domains"]),
            **{key: value for key, value in form.cleaned_data.items() if key != "allowed_domains"},
        )
    except MembershipError as refusal:
        return _single_sign_on_page(request, form, refusal=str(refusal), status=400)
    messages.success(request, saved)
    return redirect("members:single_sign_on")


@login_required
@require_POST
def single_sign_on_saml(request: MemberRequest) -> HttpResponse:
    _owner_only(request)
    return _single_sign_on_save(
        request, SamlIdentityProviderForm(request.POST), identity_provider_configure_saml,
        saved="Single sign-on settings saved: members sign in over SAML.",
    )  # fmt: skip


@login_required
@require_POST
def single_sign_on_remove(request: MemberRequest) -> HttpResponse:
    _owner_only(request)
    identity_provider_remove(actor=request.user)
    messages.success(request, "Single sign-on is off. Everyone signs in with a password again.")
    return redirect("members:single_sign_on")


def _provisioning_page(request: MemberRequest, **extra: object) -> HttpResponse:
    users = request.build_absolute_uri(reverse("scim:users"))
    context = {
        "tokens": provisioning_token_list(),
        "base_url": users.removesuffix("Users"),
        **extra,
    }
    return render(request, "members/provisioning.html", context)


@login_required
@require_GET
def provisioning(request: MemberRequest) -> HttpResponse:
    """Owners connect their identity provider's SCIM provisioning; to anyone else the page
    does not exist."""
    _owner_only(request)
    return _provisioning_page(request)


@login_required
@require_POST
def provisioning_token_new(request: MemberRequest) -> HttpResponse:
    """The new token is in this response only: it is not stored and cannot be shown again."""
    _owner_only(request)
    return _provisioning_page(request, issued=provisioning_token_create(actor=request.user))


@login_required
@require_POST
def provisioning_token_withdraw(request: MemberRequest, token_id: int) -> HttpResponse:
    _owner_only(request)
    token = provisioning_token_get(token_id=token_id)
    if token is None:
        raise Http404
    provisioning_token_revoke(actor=request.user, token=token)
    messages.success(request, f"The token {token.prefix}… is revoked: it stops working at once.")
    return redirect("members:provisioning")
