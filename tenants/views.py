from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect
from django_tenants.utils import tenant_context

from members.services import handoff_issue
from saas.http import HtmxHttpRequest
from tenants.forms import FindOrganizationForm, SignupForm
from tenants.selectors import organization_list_for_email
from tenants.services import organization_domain, organization_signup, organization_slug_validate


def _organization_url(request: HttpRequest, slug: str, path: str) -> str:
    port = request.get_port()
    default_port = "443" if request.is_secure() else "80"
    host = organization_domain(slug=slug) + ("" if port == default_port else f":{port}")
    return f"{request.scheme}://{host}{path}"


@require_http_methods(["GET", "POST"])
def signup(request: HtmxHttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization, owner = organization_signup(
            name=form.cleaned_data["name"],
            slug=form.cleaned_data["slug"],
            owner_email=form.cleaned_data["email"],
            owner_password=form.cleaned_data["password"],
        )
        with tenant_context(organization):
            token = handoff_issue(user=owner)
        url = _organization_url(request, organization.slug, f"/handoff/?token={token}")
        if request.htmx:
            return HttpResponseClientRedirect(url)
        return HttpResponse(status=303, headers={"Location": url})
    template = "tenants/signup.html#signup-form" if request.htmx else "tenants/signup.html"
    return render(request, template, {"form": form})


@require_GET
def slug_check(request: HttpRequest) -> HttpResponse:
    slug = request.GET.get("slug", "")
    try:
        slug = organization_slug_validate(slug=slug)
        context = {"slug_ok": True, "slug": slug, "slug_message": ""}
    except ValidationError as error:
        context = {"slug_ok": False, "slug": slug, "slug_message": error.messages[0]}
    return render(request, "tenants/signup.html#slug-feedback", context)


@require_http_methods(["GET", "POST"])
def organization_find(request: HttpRequest) -> HttpResponse:
    form = FindOrganizationForm(request.POST or None)
    context: dict[str, object] = {"form": form, "sent": False}
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        organizations = [
            {"name": org.name, "url": _organization_url(request, org.slug, "/")}
            for org in organization_list_for_email(email=email)
        ]
        mail_context = {"email": email, "organizations": organizations}
        send_mail(
            subject="Your organizations",
            message=render_to_string("tenants/email/find_message.txt", mail_context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[email],
        )
        context["sent"] = True
        # Listing organizations on the page would tell anyone who works where; only a
        # developer's machine, whose mail goes to the console anyway, shows them.
        if settings.DEBUG and settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
            context["organizations"] = organizations
    return render(request, "tenants/find.html", context)
