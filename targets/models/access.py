"""Who reaches the system from outside a browser session, and what it sent them:
API tokens and reminder emails."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

from ..fields import CleanCharField
from .choices import ReminderKind


class ApiToken(models.Model):
    """A named key with which a system or an app calls the API as one user (the
    province's reporting system, a clerk's phone). Only the SHA-256 of the secret is
    stored: the secret is shown once, when the token is issued (services.token_issue).
    A user may hold several; revoking one leaves the others working."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="api_tokens",
        verbose_name="người dùng",
    )
    name = CleanCharField(
        "tên", max_length=100, help_text="Ví dụ: Hệ thống báo cáo của tỉnh."
    )
    # The first characters of the secret, to tell tokens apart without the secret.
    prefix = models.CharField("mã nhận diện", max_length=12, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("cấp lúc", auto_now_add=True)
    last_used_at = models.DateTimeField("dùng lần cuối", null=True, blank=True)
    revoked_at = models.DateTimeField("thu hồi lúc", null=True, blank=True)

    SECRET_PREFIX = "kno_"

    class Meta:
        verbose_name = "mã truy cập API"
        verbose_name_plural = "mã truy cập API"
        ordering = ["user", "-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def digest_of(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    @classmethod
    def new_secret(cls) -> str:
        return cls.SECRET_PREFIX + secrets.token_urlsafe(32)

    def set_secret(self, secret: str) -> None:
        """Keep the secret's digest and its first characters, never the secret."""
        self.digest = self.digest_of(secret)
        self.prefix = secret[: len(self.SECRET_PREFIX) + 4]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Reminder(models.Model):
    """A reminder email sent (targets.reminders.send_reminders): at most one per
    person, day and kind, which the unique constraint holds even for two runs at
    once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        related_name="+",
        verbose_name="người nhận",
    )
    sent_on = models.DateField("ngày gửi")
    kind = models.CharField("loại thư", max_length=10, choices=ReminderKind.choices)
    sent_at = models.DateTimeField("gửi lúc", auto_now_add=True)

    class Meta:
        verbose_name = "thư nhắc"
        verbose_name_plural = "thư nhắc"
        ordering = ["-sent_on", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "sent_on", "kind"],
                name="reminder_once_a_day",
                violation_error_message="Đã gửi thư nhắc này cho người này hôm nay.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ReminderKind.values), name="reminder_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.user} – {self.sent_on:%d/%m/%Y}"
