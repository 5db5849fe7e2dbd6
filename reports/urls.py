from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("chi-tieu/<int:target_id>/", views.target, name="target"),
]
