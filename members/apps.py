from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"

    def ready(self) -> None:
        from billing.usage import usage_counter_register
        from members.selectors import seats_held

        usage_counter_register(meter="members", counter=seats_held)
