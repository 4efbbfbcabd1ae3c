from django.contrib import admin

from catalogue.models import Item


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["name", "unit_price_cents", "iva_type", "irpf_bp", "account", "archived_at"]
    search_fields = ["search_text"]
    readonly_fields = ["account", "archived_at", "search_text"]
