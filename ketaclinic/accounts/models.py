"""Staff accounts: a user, the roles they hold, and the credentials later features need."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from ketaclinic.accounts.roles import Role
from ketaclinic.acting import acting_clinic_id
from ketaclinic.modelparts import PublicId


class User(PublicId, AbstractUser):
    """A person who signs in: staff (holding one or more roles) or, later, a patient in the portal."""

    display_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    credentials = models.CharField(max_length=60, blank=True, help_text="e.g. MD, NP, RN, LCSW")
    licence_number = models.CharField(max_length=40, blank=True)
    licence_state = models.CharField(max_length=2, blank=True, help_text="Two-letter US state code")
    npi = models.CharField("NPI", max_length=10, blank=True)
    dea_number = models.CharField("DEA registration", max_length=20, blank=True)
    is_demo = models.BooleanField(default=False, help_text="Synthetic demo account")

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        name = self.display_name or self.get_full_name() or self.username
        return f"{name}, {self.credentials}" if self.credentials else name

    def grants(self) -> frozenset[tuple[int, str]]:
        """(clinic id, role) of every role this person holds, at every clinic: read once, then remembered (a
        caller that prefetched ``role_grants`` sets ``_grant_cache`` from them)."""
        cached = getattr(self, "_grant_cache", None)
        if cached is None:
            cached = frozenset(self.role_grants.values_list("clinic_id", "role")) if self.pk else frozenset()
            self._grant_cache = cached
        return cached

    def clinic_ids(self) -> frozenset[int]:
        """The clinics this person holds a role at."""
        return frozenset(clinic for clinic, _role in self.grants())

    def role_set(self) -> frozenset[str]:
        """The roles this person holds at the clinic the request acts for (``ketaclinic.acting``); outside a
        request, at any clinic."""
        acting = acting_clinic_id()
        return frozenset(role for clinic, role in self.grants() if acting is None or clinic == acting)

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set() & set(roles))


def administered_by(admin: User | None) -> frozenset[int]:
    """The clinics where ``admin`` is a clinic admin."""
    return frozenset(c for c, role in admin.grants() if role == Role.CLINIC_ADMIN) if admin is not None else frozenset()


def managed_by(admin: User | None) -> models.Q:
    """The staff accounts ``admin`` manages as accounts (password, second factor, sign-in delay, active and admin
    flags, roles): those holding roles only at clinics ``admin`` administers, and those holding none yet. A person
    who also works at a clinic ``admin`` does not administer is managed by an admin of both, so that no clinic's
    admin can take over an account another clinic relies on."""
    elsewhere = RoleGrant.objects.filter(user=models.OuterRef("pk")).exclude(clinic_id__in=administered_by(admin))
    return models.Q(patient_account__isnull=True) & ~models.Exists(elsewhere)


def manages(admin: User | None, user: User) -> bool:
    """Whether ``admin`` manages ``user``'s account (:func:`managed_by`); the system (None) manages every one."""
    return admin is None or user.clinic_ids() <= administered_by(admin)


def staff_holding(*roles: str, clinic_id: int | None = None) -> models.QuerySet[User]:
    """Active staff who hold any of ``roles`` at clinic ``clinic_id`` (by default the clinic the request acts for;
    outside a request, at any clinic). Both conditions name the same grant."""
    at = clinic_id if clinic_id is not None else acting_clinic_id()
    same_grant = {"role_grants__role__in": roles} | ({"role_grants__clinic_id": at} if at is not None else {})
    return User.objects.filter(is_active=True, **same_grant).distinct()


def clinics() -> models.Manager:
    """The clinic app's clinics (that app stands above this one: its model is reached through the grant's
    reference, never imported)."""
    return RoleGrant._meta.get_field("clinic").related_model.objects


def first_clinic_id() -> int | None:
    """The install's first clinic (the one it had before it ran a network)."""
    return clinics().order_by("pk").values_list("pk", flat=True).first()


def grant_clinic_id() -> int:
    """Where a role granted without naming a clinic is held: the clinic the request acts for, else the install's
    first clinic (created, as ``current_clinic`` would, when there is none yet)."""
    acting = acting_clinic_id()
    if acting is not None:
        return acting
    first = first_clinic_id()
    return first if first is not None else clinics().create(name="Unnamed clinic").pk


class RoleGrant(models.Model):
    """A role a person holds at one clinic (location) of the network: a nurse at one clinic may be a prescriber at
    another, and holds nothing at a third."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    clinic = models.ForeignKey("clinic.Clinic", on_delete=models.PROTECT, related_name="role_grants")
    role = models.CharField(max_length=20, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "clinic", "role"], name="one_role_per_user_at_a_clinic")]
        ordering = ["clinic", "role"]

    def __str__(self) -> str:
        return f"{self.user.username}: {self.get_role_display()}"


class SignInCounter(models.Model):
    """Password checks counted per username and per source address (and password-reset requests per address
    typed and per source address), for the progressive sign-in delay of :mod:`ketaclinic.accounts.throttle`.

    A check is counted before the password is compared (the count is the slot it takes), so parallel requests
    each take their own slot; a correct password gives its slot back."""

    class Kind(models.TextChoices):
        USERNAME = "username", "Username"
        ADDRESS = "address", "Source address"
        RESET_EMAIL = "reset_email", "Password reset: address typed"
        RESET_ADDRESS = "reset_address", "Password reset: source address"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=254)
    failures = models.PositiveIntegerField(default=0)
    blocked_until = models.DateTimeField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="unique_sign_in_counter")]
        ordering = ["kind", "key"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.key}: {self.failures}"


class Passkey(models.Model):
    """A staff member's passkey (WebAuthn credential): a second factor that cannot be phished, on a phone, a laptop's
    fingerprint reader or a security key. Only the public key is kept; the private key never leaves the device."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=80)
    credential_id = models.BinaryField(max_length=1023, unique=True)
    public_key = models.BinaryField(max_length=2048)
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    backed_up = models.BooleanField(default=False, help_text="synced to the person's other devices (multi-device)")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.user.username}: passkey {self.name}"
