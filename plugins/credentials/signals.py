"""A member who leaves (or is removed from) an organization takes no credential along and
leaves none behind: their keys for its installations are deleted at once, their OAuth
connections revoked at the provider and deleted by a Celery task after the commit.

(accounts/ never imports plugins/, so the credentials app listens for the membership's
deletion instead of being called.)"""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts.audit import record_event
from accounts.models import Membership
from plugins.credentials import cache
from plugins.credentials.models import OAuthConnection, UserCredential


@receiver(post_delete, sender=Membership, dispatch_uid="credentials-forget-member")
def forget_former_member(sender, instance: Membership, **kwargs) -> None:
    from plugins.credentials.tasks import disconnect_former_member

    organization_id, user_id = instance.organization_id, instance.user_id
    keys = list(UserCredential.objects.filter(organization_id=organization_id, user_id=user_id))
    for key in keys:
        cache.drop_on_commit(cache.user_key(key.installation_id, user_id))
    UserCredential.objects.filter(pk__in=[k.pk for k in keys]).delete()
    connections = OAuthConnection.objects.filter(
        organization_id=organization_id, user_id=user_id
    ).count()
    if keys or connections:
        record_event(
            organization=instance.organization,
            action="credential.member_forgotten",
            actor=None,
            actor_label="membership ended",
            target=f"user:{user_id}",
            keys_deleted=len(keys),
            connections_to_revoke=connections,
        )
    if connections:
        transaction.on_commit(lambda: disconnect_former_member.delay(organization_id, user_id))
