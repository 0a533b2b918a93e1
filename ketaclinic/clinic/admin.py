from django.contrib import admin

from ketaclinic.clinic.models import Chair, Room


class ChairInline(admin.TabularInline):
    model = Chair
    extra = 0


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "active")
    inlines = [ChairInline]
