from django.urls import path

from lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("members/data/", views.data, name="data"),
    path("members/data/retention/", views.retention, name="retention"),
    path("members/data/exports/", views.exports, name="exports"),
    path("members/data/exports/new/", views.export_start, name="export_start"),
    path("members/data/exports/<str:token>/", views.export_download, name="export_download"),
    path("members/data/deletion/", views.deletion_schedule, name="deletion_schedule"),
    path("members/data/deletion/cancel/", views.deletion_cancel, name="deletion_cancel"),
    path("members/data/erase/<id:member_id>/", views.member_erase_view, name="member_erase"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/conversations/", views.my_conversations_export, name="my_conversations"),
]
