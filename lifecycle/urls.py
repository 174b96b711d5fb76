from django.urls import path

from lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("members/data/", views.data, name="data"),
    path("members/data/retention/", views.retention, name="retention"),
    path("members/data/exports/", views.exports, name="exports"),
    path("members/data/exports/new/", views.export_start, name="export_start"),
    path("members/data/exports/<str:token>/", views.export_download, name="export_download"),
    path("my-data/", views.my_data, name="my_data"),
    path("my-data/conversations/", views.my_conversations_export, name="my_conversations"),
]
