from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.tenancy import OrganizationAPIView


class MeApi(OrganizationAPIView):
    """The caller: user (null for an organization API key), organization, role, token kind."""

    class OutputSerializer(serializers.Serializer):
        class UserOut(serializers.Serializer):
            id = serializers.IntegerField()
            email = serializers.EmailField()
            name = serializers.CharField()

        class OrganizationOut(serializers.Serializer):
            id = serializers.IntegerField()
            slug = serializers.SlugField()
            name = serializers.CharField()

        user = UserOut(allow_null=True)
        organization = OrganizationOut()
        role = serializers.CharField()
        token_kind = serializers.CharField()
        token_prefix = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        actor = self.actor
        data = {
            "user": actor.user,
            "organization": actor.organization,
            "role": actor.role.value,
            "token_kind": actor.token_kind,
            "token_prefix": actor.credential.prefix,
        }
        return Response(self.OutputSerializer(data).data)
