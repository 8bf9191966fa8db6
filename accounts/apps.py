from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organizations and members"

    def ready(self) -> None:
        from outsourcing import lookups

        from .audit import register_tenant_models

        register_tenant_models()
        lookups.register()
