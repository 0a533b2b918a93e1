from django.urls import path

from ketaclinic.messaging import portal_views, views

app_name = "messaging"
urlpatterns = [
    # the care team
    path("", views.inbox, name="inbox"),
    path("patients/<uuid:patient_id>/new/", views.start, name="start"),
    path("threads/<uuid:thread_id>/", views.thread, name="thread"),
    path("attachments/<uuid:attachment_id>/", views.attachment, name="attachment"),
    # the patient, in the portal
    path("mine/", portal_views.my_messages, name="my_messages"),
    path("mine/<uuid:thread_id>/", portal_views.my_thread, name="my_thread"),
    path("mine/attachments/<uuid:attachment_id>/", portal_views.my_attachment, name="my_attachment"),
]
