from django.urls import path

from members import views

app_name = "members"

urlpatterns = [
    path("handoff/", views.handoff, name="handoff"),
    path("invite/<str:token>/", views.invitation_accept_view, name="invitation_accept"),
    path("members/", views.members, name="list"),
    path("members/invite/", views.invitation_new, name="invitation_new"),
    path("members/<id:member_id>/role/", views.member_role, name="role"),
    path("members/<id:member_id>/remove/", views.member_delete, name="remove"),
    path(
        "members/invitations/<id:invitation_id>/withdraw/",
        views.invitation_withdraw,
        name="invitation_withdraw",
    ),
    path(
        "members/invitations/<id:invitation_id>/resend/",
        views.invitation_resend_view,
        name="invitation_resend",
    ),
    path(
        "members/invitations/<id:invitation_id>/role/",
        views.invitation_role,
        name="invitation_role",
    ),
    path("members/security/", views.security, name="security"),
    path("members/single-sign-on/", views.single_sign_on, name="single_sign_on"),
    path(
        "members/single-sign-on/remove/",
        views.single_sign_on_remove,
        name="single_sign_on_remove",
    ),
    path("members/single-sign-on/saml/", views.single_sign_on_saml, name="single_sign_on_saml"),
    path("members/single-sign-on/scim/", views.provisioning, name="provisioning"),
    path(
        "members/single-sign-on/scim/tokens/",
        views.provisioning_token_new,
        name="provisioning_token_new",
    ),
    path(
        "members/single-sign-on/scim/tokens/<id:token_id>/revoke/",
        views.provisioning_token_withdraw,
        name="provisioning_token_revoke",
    ),
    path("members/groups/", views.groups, name="groups"),
    path("members/groups/new/", views.group_create_view, name="group_create"),
    path("members/groups/<id:group_id>/delete/", views.group_delete_view, name="group_delete"),
    path(
        "members/groups/<id:group_id>/members/",
        views.group_member_add_view,
        name="group_member_add",
    ),
    path(
        "members/groups/<id:group_id>/members/<id:member_id>/remove/",
        views.group_member_remove_view,
        name="group_member_remove",
    ),
]

# The founder's signup happens on the public site, before the organization exists.
public_urlpatterns = [
    path("", views.signup, name="signup"),
    path("signup/check-slug/", views.slug_check, name="slug_check"),
]
