from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from factu import branding_views, views
from factu.forms import EmailLoginForm

account_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("cambiar-contribuyente/", views.switch_taxpayer, name="switch_taxpayer"),
    path("contribuyentes/", views.taxpayer_list, name="taxpayer_list"),
    path("contribuyentes/nuevo/", views.taxpayer_create, name="taxpayer_create"),
    path("contribuyentes/<uuid:taxpayer_id>/", views.taxpayer_edit, name="taxpayer_edit"),
    path(
        "contribuyentes/<uuid:taxpayer_id>/marca/",
        branding_views.taxpayer_branding,
        name="taxpayer_branding",
    ),
    path(
        "contribuyentes/<uuid:taxpayer_id>/marca/logo/",
        branding_views.taxpayer_logo,
        name="taxpayer_logo",
    ),
    path("clientes/", include("clients.urls")),
    path("catalogo/", include("catalogue.urls")),
    path("facturas/recurrentes/", include("recurring.urls")),
    path("facturas/electronica/", include("einvoice.urls")),
    path("facturas/", include("invoicing.urls")),
    path("presupuestos/", include("quotes.urls")),
    path("gastos/recibidas/", include("einvoice.received_urls")),
    path("gastos/", include("expenses.urls")),
    path("ajustes/tokens/", include("api.urls_settings")),
    path("ajustes/cuenta/", views.account_settings, name="account_settings"),
    path("ajustes/miembros/", views.member_list, name="member_list"),
    path("ajustes/miembros/<uuid:membership_id>/rol/", views.member_role, name="member_role"),
    path(
        "ajustes/miembros/<uuid:membership_id>/quitar/",
        views.member_remove,
        name="member_remove",
    ),
    path(
        "ajustes/invitaciones/<uuid:invitation_id>/anular/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    path("ajustes/", include("desk.settings_urls")),
    path("", include("mailing.urls")),
    path("mesa/", include("desk.urls")),
    path("datos/", include("transfers.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "entrar/",
        auth_views.LoginView.as_view(
            authentication_form=EmailLoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("entrar/olvido/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "entrar/olvido/enviado/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "entrar/olvido/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "entrar/olvido/hecho/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("registro/", views.sign_up, name="sign_up"),
    path("registro/enviado/", views.sign_up_sent, name="sign_up_sent"),
    path("registro/continuar/", views.sign_up_continue, name="sign_up_continue"),
    path("registro/<str:token>/", views.sign_up_confirm, name="sign_up_confirm"),
    path("cuenta/contrasena/", views.PasswordChangeView.as_view(), name="password_change"),
    path("invitacion/aceptar/", views.invitation_continue, name="invitation_continue"),
    path("invitacion/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("cuentas/", views.account_list, name="account_list"),
    path("c/<slug:account_slug>/", include(account_patterns)),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]
