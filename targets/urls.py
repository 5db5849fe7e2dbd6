from django.urls import path

from . import views, views_entry, views_review

app_name = "targets"

urlpatterns = [
    path("tong-quan-nghi-quyet/", views.resolution_overview, name="overview"),
    path("nhap-so-lieu/", views_entry.entry, name="entry"),
    path(
        "nhap-so-lieu/<int:period_id>/", views_entry.entry_period, name="entry_period"
    ),
    path("duyet/", views_review.review, name="review"),
    path("duyet/<int:period_id>/", views_review.review_period, name="review_period"),
    path(
        "ky/<int:period_id>/trang-thai/", views.period_state_view, name="period_state"
    ),
    path(
        "so-lieu/<int:figure_id>/mo-lai/",
        views.figure_reopen_view,
        name="figure_reopen",
    ),
    path("so-lieu/<int:figure_id>/minh-chung/", views.evidence, name="evidence"),
    path("minh-chung/<int:evidence_id>/", views.evidence_file, name="evidence_file"),
    path("chi-tieu/<int:target_id>/lich-su/", views.history, name="history"),
    path(
        "chi-tieu/<int:target_id>/danh-gia/<int:period_id>/",
        views.assessment_view,
        name="assessment",
    ),
]
