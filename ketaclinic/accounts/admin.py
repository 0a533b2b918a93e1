"""The Django admin, for clinic admins only: staff accounts with their roles and credentials, rooms.

Every change made here is written to the audit trail like any other change."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.shortcuts import redirect
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ketaclinic.accounts.models import RoleGrant, User, administered_by, managed_by
from ketaclinic.accounts.roles import Role
from ketaclinic.acting import acting_clinic_id
from ketaclinic.audit import seals
from ketaclinic.audit import services as audit
from ketaclinic.audit.actions import AuditAction
from ketaclinic.audit.services import Actor
from ketaclinic.clinical.errors import ClinicalInputError
from ketaclinic.clinical.identifiers import check_dea_number, check_npi


def _is_clinic_admin(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_authenticated and user.has_role(Role.CLINIC_ADMIN))


admin.site.has_permission = _is_clinic_admin

# The second factor's devices hold TOTP secrets and recovery-code hashes: not for the admin to read or edit. A clinic
# admin removes a lost authenticator on the Sign-in security page (audited); django-otp's own admin pages are off.
for _model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)

#: The audit actions (added, changed) of each model the clinic-admin-only admin edits, by model name. A model
#: registered with ``ClinicAdminOnly`` needs its entry here (a test checks every registered one has it).
ADMIN_ACTIONS = {
    "user": (AuditAction.ADMIN_USER_ADDED, AuditAction.ADMIN_USER_CHANGED),
    "room": (AuditAction.ADMIN_ROOM_ADDED, AuditAction.ADMIN_ROOM_CHANGED),
    "consentdocument": (AuditAction.ADMIN_CONSENTDOCUMENT_ADDED, AuditAction.ADMIN_CONSENTDOCUMENT_CHANGED),
}


class ClinicAdminOnly:
    """Model admin permissions come from the clinic-admin role, not Django's per-model permissions;
    changes are audited."""

    def has_module_permission(self, request):
        return _is_clinic_admin(request)

    def has_view_permission(self, request, obj=None):
        return _is_clinic_admin(request)

    def has_add_permission(self, request, *args):
        return _is_clinic_admin(request)

    def has_change_permission(self, request, obj=None):
        return _is_clinic_admin(request)

    def has_delete_permission(self, request, obj=None):
        return False  # deactivate instead: records point at people and rooms

    def log_addition(self, request, obj, message):
        self._audit(request, obj, ADMIN_ACTIONS[obj._meta.model_name][0], message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, obj, ADMIN_ACTIONS[obj._meta.model_name][1], message)
        return super().log_change(request, obj, message)

    def _audit(self, request, obj, action, message):
        """Called after the object and its inlines are saved: a staff account is sealed with its roles then."""
        if isinstance(obj, User):
            seals.record(Actor.from_request(request), action, obj, details={"message": str(message)})
        else:
            audit.record(Actor.from_request(request), action, subject=obj, details={"message": str(message)})


class StaffChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User

    def clean_npi(self):
        value = self.cleaned_data.get("npi", "").strip()
        if not value:
            return ""
        try:
            return check_npi(value)
        except ClinicalInputError as e:
            raise forms.ValidationError(str(e)) from e

    def clean(self):
        # an account whose roles or status were changed in the database is not saved over (that would seal the
        # change as the application's): verify_records names it, and the compliance lead looks first
        if self.instance.pk:
            try:
                seals.require_intact(self.instance)
            except seals.TamperedRecord:
                raise forms.ValidationError("This account's roles or status were changed outside KetaClinic since "
                                            "they were last saved (verify_records names it); nothing can be saved on "
                                            "it. Tell the compliance lead.") from None
        data = super().clean()
        dea = (data.get("dea_number") or "").strip().upper().replace(" ", "")
        if dea:
            result = check_dea_number(dea, last_name=data.get("last_name") or None)
            if not result.valid:
                self.add_error("dea_number", "; ".join(result.problems))
            data["dea_number"] = dea
        return data


class RoleGrantInline(admin.TabularInline):
    """A person's roles, each at a clinic: only those at the clinics the signed-in admin administers are shown
    and can be granted."""

    model = RoleGrant
    extra = 0
    fields = ("clinic", "role", "granted_at")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(clinic_id__in=administered_by(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "clinic":
            kwargs["queryset"] = db_field.remote_field.model.objects.filter(pk__in=administered_by(request.user))
            kwargs["initial"] = acting_clinic_id()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request, obj=None):
        return _is_clinic_admin(request)

    def has_change_permission(self, request, obj=None):
        return _is_clinic_admin(request)

    def has_delete_permission(self, request, obj=None):
        return _is_clinic_admin(request)

    def has_view_permission(self, request, obj=None):
        return _is_clinic_admin(request)


@admin.register(User)
class StaffAdmin(ClinicAdminOnly, UserAdmin):
    form = StaffChangeForm
    inlines = [RoleGrantInline]
    list_display = ("username", "first_name", "last_name", "credentials", "is_active")

    def get_queryset(self, request):
        # Patients' portal logins are not staff accounts: they are managed from the portal invitation flow. A clinic
        # admin manages the accounts that hold roles only at the clinics they administer, and those holding none yet
        # (a person who also works at another clinic is managed by an admin of both: accounts.models.managed_by).
        return super().get_queryset(request).filter(managed_by(request.user))

    def user_change_password(self, request, id, form_url=""):
        """The password page saves (and so seals) the account too: refused, like the staff form, on an account whose
        roles or status were changed outside KetaClinic (else a new password would seal a forged role)."""
        user = self.get_object(request, unquote(id))
        if user is not None:
            try:
                seals.require_intact(user)
            except seals.TamperedRecord:
                messages.error(request, "This account's roles or status were changed outside KetaClinic since they "
                                        "were last saved (verify_records names it); nothing can be saved on it. "
                                        "Tell the compliance lead.")
                return redirect("admin:accounts_user_change", user.pk)
        return super().user_change_password(request, id, form_url)

    fieldsets = UserAdmin.fieldsets + (
        ("Clinical credentials", {"fields": ("display_name", "credentials", "phone", "licence_number", "licence_state",
                                             "npi", "dea_number", "is_demo")}),
    )
