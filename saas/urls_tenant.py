from django.urls import include, path

from members import views as members_views
from workspaces import views as workspaces_views

urlpatterns = [
    path("", workspaces_views.dashboard, name="dashboard"),
    path("accounts/", include("allauth.urls")),
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
]
