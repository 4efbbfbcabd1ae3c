from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from factu import views
from factu.forms import EmailLoginForm

account_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("cambiar-contribuyente/", views.switch_taxpayer, name="switch_taxpayer"),
    path("contribuyentes/", views.taxpayer_list, name="taxpayer_list"),
    path("contribuyentes/nuevo/", views.taxpayer_create, name="taxpayer_create"),
    path("contribuyentes/<uuid:taxpayer_id>/", views.taxpayer_edit, name="taxpayer_edit"),
    path("clientes/", include("clients.urls")),
    path("facturas/", include("invoicing.urls")),
    path("gastos/", include("expenses.urls")),
    path("ajustes/tokens/", include("api.urls_settings")),
    path("mesa/", include("desk.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "entrar/",
        auth_views.LoginView.as_view(
            authentication_form=EmailLoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("cuentas/", views.account_list, name="account_list"),
    path("c/<slug:account_slug>/", include(account_patterns)),
    path("api/", include("api.urls")),
    path("admin/", admin.site.urls),
]
