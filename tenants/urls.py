from django.urls import path

from tenants import views

app_name = "tenants"

urlpatterns = [
    path("find/", views.organization_find, name="find"),
]
