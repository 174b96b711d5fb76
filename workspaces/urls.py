from django.urls import path

from workspaces import views

app_name = "workspaces"

document = "w/<slug:slug>/documents/<id:document_id>"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("workspaces/new/", views.workspace_new, name="new"),
    path("embedding-model/", views.embedding_model, name="embedding_model"),
    path("embedding-model/change/", views.embedding_model_change, name="embedding_model_change"),
    path("embedding-model/retry/", views.embedding_model_retry, name="embedding_model_retry"),
    path("embedding-model/cancel/", views.embedding_model_cancel, name="embedding_model_cancel"),
    path("w/<slug:slug>/", views.workspace_detail, name="detail"),
    path("w/<slug:slug>/access/", views.workspace_access, name="access"),
    path("w/<slug:slug>/access/settings/", views.workspace_settings_save, name="settings_save"),
    path("w/<slug:slug>/access/grants/", views.grant_add, name="grant_add"),
    path(
        "w/<slug:slug>/access/grants/<id:grant_id>/remove/",
        views.grant_remove_view,
        name="grant_remove",
    ),
    path("w/<slug:slug>/search/", views.retrieval_test, name="retrieval_test"),
    path("w/<slug:slug>/upload/", views.document_upload_view, name="document_upload"),
    path("w/<slug:slug>/entry/", views.document_text_view, name="document_text"),
    path("w/<slug:slug>/documents/delete/", views.documents_delete_view, name="documents_delete"),
    path("w/<slug:slug>/documents/tag/", views.documents_tag_view, name="documents_tag"),
    path(f"{document}/", views.document_detail, name="document"),
    path(f"{document}/row/", views.document_row, name="document_row"),
    path(f"{document}/download/", views.document_download, name="document_download"),
    path(f"{document}/retry/", views.document_retry_view, name="document_retry"),
    path(f"{document}/delete/", views.document_delete_view, name="document_delete"),
    path(f"{document}/replace/", views.document_replace_view, name="document_replace"),
    path(
        f"{document}/supersede/<id:previous_id>/",
        views.document_supersede_view,
        name="document_supersede",
    ),
    path(f"{document}/rename/", views.document_rename_view, name="document_rename"),
    path(f"{document}/tags/", views.document_tags_view, name="document_tags"),
]
