from django.urls import path

from recurring import views

urlpatterns = [
    path("", views.plan_list, name="recurring_list"),
    path("nuevo/", views.plan_create, name="recurring_create"),
    path("<uuid:plan_id>/editar/", views.plan_edit, name="recurring_edit"),
    path("<uuid:plan_id>/pausar/", views.plan_action, {"action": "pausar"}, name="recurring_pause"),
    path(
        "<uuid:plan_id>/reanudar/",
        views.plan_action,
        {"action": "reanudar"},
        name="recurring_resume",
    ),
    path(
        "<uuid:plan_id>/terminar/", views.plan_action, {"action": "terminar"}, name="recurring_end"
    ),
]
