from django.urls import path

from . import views

urlpatterns = [
    path("hooks/limephone", views.limephone_hook),
    path("hooks/lisoloo", views.lisoloo_hook),
]
