"""JSON shape of highlight boxes (corners in degrees)."""

from rest_framework import serializers


class BoxSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    top_left_ra = serializers.FloatField()
    top_left_dec = serializers.FloatField()
    bottom_right_ra = serializers.FloatField()
    bottom_right_dec = serializers.FloatField()
    grant = serializers.CharField(source="grant.name", allow_null=True)
