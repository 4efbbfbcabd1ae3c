from django.urls import path

from expenses import views

urlpatterns = [
    path("", views.expense_list, name="expense_list"),
    path("exportar.csv", views.expense_export, name="expense_export"),
    path("nuevo/", views.expense_create, name="expense_create"),
    path("categorias/", views.category_list, name="expense_categories"),
    path(
        "categorias/<uuid:category_id>/borrar/",
        views.category_delete,
        name="expense_category_delete",
    ),
    path("impuestos/", views.tax_summary, name="tax_summary"),
    path("impuestos/exportar.csv", views.tax_summary_export, name="tax_summary_export"),
    path("<uuid:expense_id>/", views.expense_edit, name="expense_edit"),
    path("<uuid:expense_id>/eliminar/", views.expense_delete, name="expense_delete"),
    path("<uuid:expense_id>/justificante/", views.expense_receipt, name="expense_receipt"),
]
