"""SCIM 2.0 under /scim/v2/ (saas.urls_tenant). Resource paths keep SCIM's spelling."""

from django.urls import path

from members.scim import views

app_name = "scim"

urlpatterns = [
    path("ServiceProviderConfig", views.service_provider_config, name="service_provider_config"),
    path("ResourceTypes", views.resource_types, name="resource_types"),
    path("Users", views.users, name="users"),
    path("Users/<id:member_id>", views.user, name="user"),
    path("Groups", views.groups, name="groups"),
    path("Groups/<id:group_id>", views.group, name="group"),
]
