from django.urls import path

from einvoice import received_views as views
from einvoice.status import B2BStatus

urlpatterns = [
    path("", views.received_list, name="received_list"),
    path("reglas/", views.rule_list, name="received_rules"),
    path("reglas/<uuid:rule_id>/borrar/", views.rule_delete, name="received_rule_delete"),
    path("<uuid:received_id>/", views.received_detail, name="received_detail"),
    path("<uuid:received_id>/fichero/", views.received_file, name="received_file"),
    path("<uuid:received_id>/gasto/", views.received_convert, name="received_convert"),
    path(
        "<uuid:received_id>/aceptar/",
        views.received_answer,
        {"status": B2BStatus.ACCEPTED},
        name="received_accept",
    ),
    path(
        "<uuid:received_id>/rechazar/",
        views.received_answer,
        {"status": B2BStatus.REJECTED},
        name="received_reject",
    ),
    path(
        "<uuid:received_id>/pagada/",
        views.received_answer,
        {"status": B2BStatus.PAID},
        name="received_paid",
    ),
]
