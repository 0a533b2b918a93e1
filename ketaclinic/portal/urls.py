from django.urls import path

from ketaclinic.portal import staff_views, views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("invite/<str:token>/", views.accept, name="accept"),
    path("help/", views.crisis, name="crisis"),
    path("verify/", views.verify, name="verify"),
    path("verify/resend/", views.resend_code, name="resend_code"),
    path("questionnaires/", views.questionnaires, name="questionnaires"),
    path("questionnaires/due/<uuid:due_id>/start/", views.start, name="start"),
    path("questionnaires/<uuid:administration_id>/", views.fill, name="fill"),
    path("questionnaires/<uuid:administration_id>/done/", views.done, name="done"),
    path("progress/", views.progress, name="progress"),
    path("visits/", views.visits, name="visits"),
    path("visits/<uuid:session_id>/instructions.pdf", views.visit_pdf, name="visit_pdf"),
    path("password/", views.password_change, name="password_change"),
    path("learn/", views.learn, name="learn"),
    path("learn/<slug:slug>/", views.learn_page, name="learn_page"),
    # Staff side
    path("staff/patients/<uuid:external_id>/invite/", staff_views.invite, name="invite"),
    path("staff/education/", staff_views.education_pages, name="education"),
    path("staff/education/<slug:slug>/", staff_views.education_edit, name="education_edit"),
    path("staff/education/versions/<int:pk>/approve/", staff_views.education_approve, name="education_approve"),
]
