from django.apps import AppConfig
from django.contrib.auth.signals import user_login_failed


class ApiusersConfig(AppConfig):
    name = "apiusers"
    verbose_name = "API users"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import throttling

        user_login_failed.connect(throttling.count_failed_log_in, dispatch_uid="throttling")
