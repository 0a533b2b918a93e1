from django.urls import path

from ketaclinic.accounts import passkey_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/code/", views.second_factor, name="second_factor"),
    path("login/authenticator/", views.enrol, name="enrol"),
    path("login/unlock/", views.unlock, name="unlock"),
    path("login/passkey/options/", passkey_views.passkey_sign_in_options, name="passkey_sign_in_options"),
    path("login/passkey/", passkey_views.passkey_sign_in, name="passkey_sign_in"),
    path("passkeys/", passkey_views.passkey_list, name="passkeys"),
    path("passkeys/options/", passkey_views.passkey_add_options, name="passkey_add_options"),
    path("passkeys/add/", passkey_views.passkey_add, name="passkey_add"),
    path("passkeys/<int:passkey_id>/remove/", passkey_views.passkey_remove, name="passkey_remove"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("password/done/", views.password_change_done, name="password_change_done"),
    path("password/reset/", views.password_reset, name="password_reset"),
    path("password/reset/<str:uidb64>/<str:token>/", views.password_reset_confirm, name="password_reset_confirm"),
    path("sign-in-security/", views.sign_in_security, name="sign_in_security"),
    path("sign-in-security/lift/", views.lift_delay, name="lift_delay"),
    path("sign-in-security/remove-second-factor/", views.remove_second_factor, name="remove_second_factor"),
]
