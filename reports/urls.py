from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("tien-do/", views.dashboard, name="dashboard"),
    path("chi-tieu/<int:target_id>/", views.target, name="target"),
    path("don-vi/", views.bodies, name="bodies"),
    path("nhiem-vu/", views.tasks, name="tasks"),
    path("bao-cao/", views.report, name="report"),
    path("bao-cao/excel/", views.report_xlsx, name="report_xlsx"),
    path("bao-cao/pdf/", views.report_pdf, name="report_pdf"),
]
