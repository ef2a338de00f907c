from django.urls import path

from . import views

urlpatterns = [
    path("calls/", views.call_history, name="call_history"),
]
