from django.urls import path

from mailing import views

urlpatterns = [
    path("ajustes/correo/", views.mail_settings, name="mail_settings"),
    path("correo/bandeja/", views.outbox_list, name="mail_outbox"),
]
