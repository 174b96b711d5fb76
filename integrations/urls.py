from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("members/integrations/", views.integrations, name="page"),
    path("members/integrations/slack/install/", views.slack_install, name="slack_install"),
    path("members/integrations/slack/finish/", views.slack_install_finish, name="slack_finish"),
    path("members/integrations/slack/workspaces/", views.slack_workspaces, name="slack_workspaces"),
    path("members/integrations/slack/remove/", views.slack_remove, name="slack_remove"),
]

# On the public site (saas.urls_public): one events URL and one OAuth redirect for every
# organization.
public_urlpatterns = [
    path("slack/events/", views.slack_events, name="events"),
    path("slack/oauth/callback/", views.oauth_callback, name="oauth_callback"),
]
