from django.urls import path

from ketaclinic.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.PasswordChange.as_view(), name="password_change"),
    path("password/done/", views.PasswordChangeDone.as_view(), name="password_change_done"),
]
