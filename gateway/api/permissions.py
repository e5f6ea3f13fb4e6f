"""Permissions: ADMIN is a role of the user (``users.choices.Role``), not Django's staff flag."""

from rest_framework import permissions


def is_admin(user) -> bool:
    """Whether ``user`` is an authenticated ADMIN (anonymous users and others are not)."""
    return bool(user and user.is_authenticated and getattr(user, "is_admin", False))


class IsAdmin(permissions.BasePermission):
    """Only ADMIN users."""

    message = "Only an ADMIN may do this."

    def has_permission(self, request, view):
        return is_admin(request.user)


class IsAdminOrReadOnly(permissions.BasePermission):
    """Every authenticated user may read; only ADMIN users may write."""

    message = "Only an ADMIN may change this resource."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return is_admin(request.user)
