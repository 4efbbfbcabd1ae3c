from django.urls import path

from clients import views

urlpatterns = [
    path("", views.client_list, name="client_list"),
    path("nuevo/", views.client_create, name="client_create"),
    path("nuevo/rapido/", views.client_quick_create, name="client_quick_create"),
    path("buscar/", views.client_search, name="client_search"),
    path("<uuid:client_id>/", views.client_edit, name="client_edit"),
    path("<uuid:client_id>/archivar/", views.client_archive, name="client_archive"),
    path("<uuid:client_id>/restaurar/", views.client_restore, name="client_restore"),
]
