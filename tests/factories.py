from typing import Any, cast

import factory
from allauth.account.models import EmailAddress

from accounts.models import Role, User

OWNER_PASSWORD = "owner-password-123"
MEMBER_PASSWORD = "member-password-123"


class UserFactory(factory.django.DjangoModelFactory):
    """A member of whichever organization's schema is in force."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    role = Role.MEMBER
    password = factory.PostGenerationMethodCall("set_password", MEMBER_PASSWORD)

    @factory.post_generation
    def email_address(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, primary=True, verified=True)


def make_member(**fields: Any) -> User:
    """A saved member of the organization whose schema is in force (typed for mypy)."""
    return cast(User, UserFactory(**fields))
