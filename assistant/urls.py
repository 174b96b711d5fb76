from django.urls import path

from assistant import views

app_name = "assistant"

urlpatterns = [
    path("", views.ask, name="ask"),
    path("c/<id:conversation_id>/", views.ask, name="conversation"),
    path(
        "c/<id:conversation_id>/rename/",
        views.conversation_rename_view,
        name="conversation_rename",
    ),
    path(
        "c/<id:conversation_id>/delete/",
        views.conversation_delete_view,
        name="conversation_delete",
    ),
    path("messages/<id:message_id>/stream/", views.message_stream, name="message_stream"),
    path("messages/<id:message_id>/stop/", views.message_stop_view, name="message_stop"),
    path("messages/<id:message_id>/edit/", views.question_edit_view, name="question_edit"),
    path("messages/<id:message_id>/retry/", views.message_retry_view, name="message_retry"),
    path(
        "messages/<id:message_id>/regenerate/",
        views.message_regenerate_view,
        name="message_regenerate",
    ),
    path("messages/<id:message_id>/feedback/", views.feedback, name="feedback"),
    path("sources/<id:citation_id>/", views.citation, name="citation"),
    path("feedback/", views.feedback_review, name="feedback_review"),
    path("gaps/", views.gaps, name="gaps"),
    path("gaps/close/", views.gap_close_view, name="gap_close"),
    path("spend/", views.spend, name="spend"),
]
