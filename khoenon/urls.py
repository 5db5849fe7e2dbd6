from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from khoenon import views

admin.site.site_header = "Quản trị – Theo dõi Nghị quyết HĐND xã Khoen On"
admin.site.site_title = "Quản trị Khoen On"
admin.site.index_title = "Dữ liệu nghị quyết và số liệu thực hiện"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("", include("targets.urls")),
    path("", include("reports.urls")),
    path("", include("reports.urls_public")),
    path("", include("reports.urls_api")),
    path("admin/", admin.site.urls),
]

handler500 = "khoenon.views.server_error"
