from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class ApiRootApi(APIView):
    """Where to start: links to the schema, the docs and the main collections."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "ApiRoot",
            {
                "schema": serializers.CharField(),
                "docs": serializers.CharField(),
                "me": serializers.CharField(),
                "plugins": serializers.CharField(),
            },
        )
    )
    def get(self, request):
        def link(name):
            return request.build_absolute_uri(reverse(name))

        return Response(
            {
                "schema": link("api-schema"),
                "docs": link("api-docs"),
                "me": link("api-me"),
                "plugins": link("api-plugins"),
            }
        )
