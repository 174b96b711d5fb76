from django.urls import path

from connectors import views

app_name = "connectors"

source = "w/<slug:slug>/sources/<id:connector_id>"
urlpatterns = [
    path("w/<slug:slug>/sources/", views.sources_page, name="list"),
    path("w/<slug:slug>/sources/website/", views.website_add, name="website_add"),
    path("w/<slug:slug>/sources/google-drive/", views.drive_add, name="drive_add"),
    path("w/<slug:slug>/sources/confluence/", views.confluence_add, name="confluence_add"),
    path("w/<slug:slug>/sources/notion/", views.notion_add, name="notion_add"),
    path("w/<slug:slug>/sources/microsoft/", views.microsoft_add, name="microsoft_add"),
    path(
        "w/<slug:slug>/sources/connect/<str:provider>/", views.consent_start, name="consent_start"
    ),
    path(
        "w/<slug:slug>/sources/connect/<str:provider>/choose/",
        views.consent_choose,
        name="consent_choose",
    ),
    path(
        "w/<slug:slug>/sources/connect/<str:provider>/choose/folders/",
        views.consent_browse,
        name="consent_browse",
    ),
    path("sources/oauth/finish/", views.consent_finish, name="consent_finish"),
    path(f"{source}/", views.source_card, name="card"),
    path(f"{source}/reconnect/", views.source_reconnect, name="reconnect"),
    path(f"{source}/sync/", views.source_sync, name="sync"),
    path(f"{source}/settings/", views.source_settings, name="settings"),
    path(f"{source}/remove/", views.source_remove, name="remove"),
]

# On the public site (saas.urls_public): the one address Google and Microsoft send the
# browser back to after a consent, for every organization.
public_urlpatterns = [
    path("sources/oauth/callback/", views.consent_callback, name="consent_callback"),
]
