from django.urls import path

from transfers import views

urlpatterns = [
    path("", views.job_list, name="transfers_home"),
    path("importar/clientes/", views.import_clients, name="transfers_import_clients"),
    path("importar/facturas/", views.import_invoices, name="transfers_import_invoices"),
    path("exportar/", views.export_zip, name="transfers_export"),
    path("exportar/cierre/", views.export_quarter, name="transfers_export_quarter"),
    path("plantillas/<str:kind>.csv", views.template_csv, name="transfers_template"),
    path("facturas-importadas/", views.imported_list, name="transfers_imported_invoices"),
    path("trabajos/<uuid:job_id>/", views.job_detail, name="transfers_job"),
    path("trabajos/<uuid:job_id>/progreso/", views.job_progress, name="transfers_job_progress"),
    path("trabajos/<uuid:job_id>/descargar/", views.job_download, name="transfers_job_download"),
    path("trabajos/<uuid:job_id>/errores.csv", views.job_errors_csv, name="transfers_job_errors"),
]
