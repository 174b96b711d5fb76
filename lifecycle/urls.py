from django.urls import path

from lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("members/data/", views.data, name="data"),
    path("members/data/retention/", views.retention, name="retention"),
]
