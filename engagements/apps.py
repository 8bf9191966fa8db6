from django.apps import AppConfig
from django.db.models.signals import post_save


class EngagementsConfig(AppConfig):
    name = "engagements"

    def ready(self) -> None:
        from vendors.models import Vendor

        from .models import Engagement
        from .services.watch import dashboards_changed

        def shown_on_the_dashboard_changed(sender, instance, raw=False, **kwargs) -> None:
            """A title, owner, vendor or status the dashboard shows may have changed."""
            if not raw:
                dashboards_changed({instance.org_id})

        for model in (Engagement, Vendor):
            post_save.connect(
                shown_on_the_dashboard_changed,
                sender=model,
                dispatch_uid=f"dashboard-{model._meta.label_lower}",
            )
