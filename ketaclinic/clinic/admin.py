from django.contrib import admin

from ketaclinic.accounts.admin import ClinicAdminOnly
from ketaclinic.clinic.models import Chair, Clinic, Room, current_clinic_id


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
    """The rooms of the clinic the admin works at now (a network's other clinics keep theirs)."""

    list_display = ("name", "kind", "active")
    inlines = [ChairInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(clinic_id=current_clinic_id())

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "clinic":
            kwargs["queryset"] = Clinic.objects.filter(pk=current_clinic_id())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
