from django.conf import settings
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from tenants.forms import FindOrganizationForm
from tenants.selectors import organization_list_for_email
from tenants.services import organization_url


@require_http_methods(["GET", "POST"])
def organization_find(request: HttpRequest) -> HttpResponse:
    form = FindOrganizationForm(request.POST or None)
    context: dict[str, object] = {"form": form, "sent": False}
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        organizations = [
            {"name": org.name, "url": organization_url(request=request, slug=org.slug, path="/")}
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
