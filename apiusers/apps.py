from django.apps import AppConfig


class ApiusersConfig(AppConfig):
    name = "apiusers"
    verbose_name = "API users"
    default_auto_field = "django.db.models.BigAutoField"
