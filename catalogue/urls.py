from django.urls import path

from catalogue import views

urlpatterns = [
    path("", views.item_list, name="catalogue_list"),
    path("nuevo/", views.item_create, name="catalogue_create"),
    path("buscar/", views.item_search, name="catalogue_search"),
    path("<uuid:item_id>/", views.item_edit, name="catalogue_edit"),
    path("<uuid:item_id>/archivar/", views.item_archive, name="catalogue_archive"),
    path("<uuid:item_id>/restaurar/", views.item_restore, name="catalogue_restore"),
]
