from django.conf import settings

# The user model and what it stands on exist in both kinds of schema on purpose:
# platform staff sign in to the public admin, members sign in inside their organization.
IN_BOTH = {
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
}
PROJECT_APPS = {"tenants", "billing", "accounts", "members", "workspaces", "assistant"}


def test_every_project_app_lives_in_exactly_one_kind_of_schema():
    shared, tenant = set(settings.SHARED_APPS), set(settings.TENANT_APPS)

    assert shared & tenant == IN_BOTH
    assert PROJECT_APPS <= shared | tenant
    assert {"tenants", "billing"} <= shared - tenant
    assert {"members", "workspaces", "assistant", "allauth.account"} <= tenant - shared


def test_installed_apps_are_exactly_the_two_lists():
    expected = settings.SHARED_APPS + [
        a for a in settings.TENANT_APPS if a not in settings.SHARED_APPS
    ]
    assert settings.INSTALLED_APPS == expected
