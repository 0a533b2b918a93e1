from django.contrib import admin

from ketaclinic.accounts.admin import ClinicAdminOnly
from ketaclinic.clinic.models import Chair, Room


class ChairInline(admin.TabularInline):
    model = Chair
    extra = 0

    def has_add_permission(self, request, obj=None):
        return request.user.has_role("clinic_admin")

    def has_change_permission(self, request, obj=None):
        return request.user.has_role("clinic_admin")

    def has_view_permission(self, request, obj=None):
        return request.user.has_role("clinic_admin")


@admin.register(Room)
class RoomAdmin(ClinicAdminOnly, admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    inlines = [ChairInline]
