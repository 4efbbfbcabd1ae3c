from django.contrib import admin

from clients.models import Client


@admin.register(Client)
class ClientAdmin(admin.ModelAdmin):
    list_display = ["name", "nif", "country", "foreign_id", "taxpayer", "archived_at"]
    list_filter = ["country", "archived_at"]
    search_fields = ["search_text", "nif", "foreign_id"]
    readonly_fields = ["account", "taxpayer", "archived_at", "search_text"]

    def has_add_permission(self, request) -> bool:
        # A client needs a taxpayer; create them in the app, where the rules are enforced.
        return False
