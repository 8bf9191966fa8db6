"""The forges' part of the engagement page's code-activity region (its context, not its view)."""

from django.http import HttpRequest

from engagements.delivery.models import ActivityRule, Engagement
from engagements.forges.forms import ActivityRuleForm, RepositoryForm
from engagements.forges.models import ForgeConnection, ForgeRepository


def engagement_page_context(*, request: HttpRequest, engagement: Engagement) -> dict:
    """The repositories mapped to the engagement, its deliverable rules and the forms to add
    them (the receiver of ``delivery.hooks.activity_page``): three queries."""
    return {
        "forge_repositories": list(
            ForgeRepository.objects.filter(engagement=engagement).order_by("forge", "repository")
        ),
        "activity_rules": list(
            ActivityRule.objects.filter(engagement=engagement).select_related("deliverable")
        ),
        "forges_connected": ForgeConnection.objects.filter(revoked_at__isnull=True).exists(),
        "repository_form": RepositoryForm(),
        "activity_rule_form": ActivityRuleForm(engagement=engagement),
    }
