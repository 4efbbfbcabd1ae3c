from django.urls import path

from quotes import views

urlpatterns = [
    path("", views.quote_list, name="quote_list"),
    path("nuevo/", views.quote_create, name="quote_create"),
    path("<uuid:quote_id>/", views.quote_detail, name="quote_detail"),
    path("<uuid:quote_id>/editar/", views.quote_edit, name="quote_edit"),
    path("<uuid:quote_id>/enviado/", views.quote_send, name="quote_send"),
    path("<uuid:quote_id>/enviar/", views.quote_email, name="quote_email"),
    path("<uuid:quote_id>/aceptar/", views.quote_accept, name="quote_accept"),
    path("<uuid:quote_id>/rechazar/", views.quote_reject, name="quote_reject"),
    path("<uuid:quote_id>/facturar/", views.quote_convert, name="quote_convert"),
    path("<uuid:quote_id>/pdf/", views.quote_pdf, name="quote_pdf"),
]
