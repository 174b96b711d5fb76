"""Tenancy is a rule the tests keep: every project app lives in exactly one kind of schema
(with one written-down exemption), and nothing in the public schema points into an
organization's schema."""

from pathlib import Path

from django.apps import apps
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent

# The user model lives in both kinds of schema on purpose: platform staff sign in to the
# public admin, members sign in inside their organization. It brings the contrib apps it
# stands on. Nothing else may be in both lists.
IN_BOTH = {
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    # Authenticator apps: members' in their organization, platform staff's in the public
    # schema (the admin's second factor, accounts.views.admin_login).
    "allauth.mfa",
}


def project_apps() -> set[str]:
    """The installed apps whose code is in this repository."""
    return {
        config.name
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT)
    }


def app_of(model: type) -> str:
    return apps.get_app_config(model._meta.app_label).name


def test_every_project_app_is_in_exactly_one_kind_of_schema_except_accounts():
    shared, tenant = set(settings.SHARED_APPS), set(settings.TENANT_APPS)

    for app in project_apps():
        assert app in shared | tenant, f"{app} is in neither SHARED_APPS nor TENANT_APPS"
        assert (app in shared and app in tenant) == (app in IN_BOTH), (
            f"{app} is in {'both lists' if app in shared & tenant else 'one list'}; "
            "only the user model's apps may be in both"
        )
    assert shared & tenant == IN_BOTH


def test_installed_apps_are_the_two_lists_and_nothing_else():
    installed = set(settings.INSTALLED_APPS)

    assert installed == set(settings.SHARED_APPS) | set(settings.TENANT_APPS)
    assert len(settings.INSTALLED_APPS) == len(installed)


def test_no_public_schema_model_points_into_an_organization_schema():
    tenant_only = set(settings.TENANT_APPS) - set(settings.SHARED_APPS)
    shared_only = set(settings.SHARED_APPS) - set(settings.TENANT_APPS)

    for model in apps.get_models():
        if app_of(model) not in shared_only:
            continue
        for field in model._meta.get_fields():
            target = getattr(field, "related_model", None)
            if field.is_relation and not field.auto_created and target is not None:
                assert app_of(target) not in tenant_only, (
                    f"{model.__name__}.{field.name} (public schema) points at "
                    f"{target.__name__}, which lives in each organization's schema"
                )
