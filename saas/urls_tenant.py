from django.urls import include, path

from assistant import views as assistant_views
from members import views as members_views
from workspaces import views as workspaces_views

urlpatterns = [
    path("", workspaces_views.dashboard, name="dashboard"),
    path("accounts/", include("allauth.urls")),
    path("billing/", include("billing.urls")),
    path("handoff/", members_views.handoff, name="handoff"),
    path("members/", members_views.members, name="members"),
    path("members/invite/", members_views.invitation_new, name="invitation_new"),
    path("members/<int:member_id>/role/", members_views.member_role, name="member_role"),
    path("members/<int:member_id>/remove/", members_views.member_delete, name="member_remove"),
    path(
        "members/invitations/<int:invitation_id>/withdraw/",
        members_views.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path("invite/<str:token>/", members_views.invitation_accept_view, name="invitation_accept"),
    path("members/groups/", members_views.groups, name="groups"),
    path("workspaces/new/", workspaces_views.workspace_new, name="workspace_new"),
    path("w/<slug:slug>/", workspaces_views.workspace, name="workspace"),
    path("w/<slug:slug>/access/", workspaces_views.workspace_access, name="workspace_access"),
    path("ask/", assistant_views.ask, name="ask"),
    path("ask/c/<int:conversation_id>/", assistant_views.ask, name="conversation"),
    path(
        "ask/c/<int:conversation_id>/rename/",
        assistant_views.conversation_rename_view,
        name="conversation_rename",
    ),
    path(
        "ask/c/<int:conversation_id>/delete/",
        assistant_views.conversation_delete_view,
        name="conversation_delete",
    ),
    path(
        "ask/messages/<int:message_id>/stream/",
        assistant_views.message_stream,
        name="message_stream",
    ),
    path(
        "ask/messages/<int:message_id>/retry/",
        assistant_views.message_retry_view,
        name="message_retry",
    ),
    path("ask/messages/<int:message_id>/feedback/", assistant_views.feedback, name="feedback"),
    path("ask/sources/<int:citation_id>/", assistant_views.citation, name="citation"),
    path("ask/feedback/", assistant_views.feedback_review, name="feedback_review"),
    path("ask/gaps/", assistant_views.gaps, name="gaps"),
    path("w/<slug:slug>/search/", assistant_views.retrieval_test, name="retrieval_test"),
    path("w/<slug:slug>/upload/", workspaces_views.document_upload_view, name="document_upload"),
    path("w/<slug:slug>/entry/", workspaces_views.document_text_view, name="document_text"),
    path(
        "w/<slug:slug>/documents/<int:document_id>/",
        workspaces_views.document_detail,
        name="document",
    ),
    path(
        "w/<slug:slug>/documents/<int:document_id>/row/",
        workspaces_views.document_row,
        name="document_row",
    ),
    path(
        "w/<slug:slug>/documents/<int:document_id>/download/",
        workspaces_views.document_download,
        name="document_download",
    ),
    path(
        "w/<slug:slug>/documents/<int:document_id>/<str:action>/",
        workspaces_views.document_action,
        name="document_action",
    ),
]
