from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from api import endpoints, views

app_name = "api"

urlpatterns = [
    path("members/api-keys/", views.keys, name="keys"),
    path("members/api-keys/new/", views.key_create, name="key_create"),
    path("members/api-keys/<id:key_id>/revoke/", views.key_revoke, name="key_revoke"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", views.docs, name="docs"),
    path("api/v1/workspaces/", endpoints.WorkspaceListView.as_view(), name="workspaces"),
    path(
        "api/v1/workspaces/<slug:slug>/documents/",
        endpoints.DocumentListView.as_view(),
        name="documents",
    ),
    path(
        "api/v1/documents/<id:document_id>/",
        endpoints.DocumentDetailView.as_view(),
        name="document",
    ),
    path(
        "api/v1/workspaces/<slug:slug>/sources/",
        endpoints.ConnectorListView.as_view(),
        name="sources",
    ),
    path(
        "api/v1/sources/<id:connector_id>/", endpoints.ConnectorDetailView.as_view(), name="source"
    ),
    path(
        "api/v1/sources/<id:connector_id>/sync/",
        endpoints.ConnectorSyncView.as_view(),
        name="source_sync",
    ),
    path("api/v1/search/", endpoints.SearchView.as_view(), name="search"),
    path("api/v1/ask/", endpoints.AskView.as_view(), name="ask"),
    path("api/v1/conversations/", endpoints.ConversationListView.as_view(), name="conversations"),
    path(
        "api/v1/conversations/<id:conversation_id>/",
        endpoints.ConversationDetailView.as_view(),
        name="conversation",
    ),
    path(
        "api/v1/conversations/<id:conversation_id>/messages/",
        endpoints.ConversationMessagesView.as_view(),
        name="conversation_messages",
    ),
    path(
        "api/v1/messages/<id:message_id>/feedback/",
        endpoints.FeedbackView.as_view(),
        name="feedback",
    ),
    # Any character, a newline (%0A) included, which `.` does not match: such a path was
    # answered with the site's HTML 404 rather than a problem detail.
    re_path(r"^api/(?P<rest>[\s\S]*)$", endpoints.NotFoundView.as_view(), name="not_found"),
]
