from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from tenants.forms import FindOrganizationForm
from tenants.services import organization_list_emailed, organization_url


@require_http_methods(["GET", "POST"])
def organization_find(request: HttpRequest) -> HttpResponse:
    form = FindOrganizationForm(request.POST or None)
    context: dict[str, object] = {"form": form, "sent": False}
    if request.method == "POST" and form.is_valid():
        organizations = organization_list_emailed(
            email=form.cleaned_data["email"],
            url_of=lambda slug: organization_url(request=request, slug=slug, path="/"),
        )
        context["sent"] = True
        # Listing organizations on the page would tell anyone who works where; only a
        # developer's machine, whose mail goes to the console anyway, shows them.
        if settings.DEBUG and settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
            context["organizations"] = organizations
    return render(request, "tenants/find.html", context)
