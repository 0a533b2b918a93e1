from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from ketaclinic.accounts.models import RoleGrant, User


class RoleGrantInline(admin.TabularInline):
    model = RoleGrant
    extra = 0


@admin.register(User)
class StaffAdmin(UserAdmin):
    inlines = [RoleGrantInline]
    list_display = ("username", "first_name", "last_name", "credentials", "is_active")
    fieldsets = UserAdmin.fieldsets + (
        ("Clinical credentials", {"fields": ("display_name", "credentials", "phone", "licence_number", "licence_state",
                                             "npi", "dea_number", "is_demo")}),
    )
