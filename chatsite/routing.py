from django.urls import path

from chatsite.consumers import SocketConsumer

websocket_urlpatterns = [
    path("ws/", SocketConsumer.as_asgi()),
]
