from django.apps import AppConfig


class EngagementsConfig(AppConfig):
    """One app, five concerns; ``ready()`` is where they are wired together.

    The dependency order (delivery ← watch ← alerts ← postmortems, portal → delivery) lets
    a higher concern import a lower one only; where the lower one must let a higher one act,
    it calls a hook of ``engagements.delivery.hooks``, and the receivers are registered here.
    """

    name = "engagements"

    def ready(self) -> None:
        from .wiring import connect

        connect()
