from django.urls import path

from . import public, publishing

app_name = "public"

urlpatterns = [
    path("cong-khai/", public.index, name="index"),
    path("cong-khai/nghi-quyet/", public.resolution, name="resolution"),
    path("cong-khai/chi-tieu/<int:target_id>/", public.target, name="target"),
    path("cong-khai/bao-cao/", public.report, name="report"),
    path("cong-khai/bao-cao/excel/", public.report_xlsx, name="report_xlsx"),
    path("cong-khai/bao-cao/pdf/", public.report_pdf, name="report_pdf"),
    path("cong-bo/", publishing.periods, name="publishing"),
    path("cong-bo/<int:period_id>/", publishing.period, name="publish"),
]
