from django.urls import path

from einvoice import views

urlpatterns = [
    path("", views.received_list, name="received_list"),
    path("reglas/", views.rule_list, name="received_rules"),
    path("reglas/<uuid:rule_id>/borrar/", views.rule_delete, name="received_rule_delete"),
    path("<uuid:invoice_id>/", views.received_detail, name="received_detail"),
    path("<uuid:invoice_id>/fichero/", views.received_file, name="received_file"),
    path("<uuid:invoice_id>/gasto/", views.received_convert, name="received_convert"),
    path(
        "<uuid:invoice_id>/respuesta/<str:status>/",
        views.received_answer,
        name="received_answer",
    ),
]
