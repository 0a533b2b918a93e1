"""No copy of a signed-in person's pages anywhere but on their screen.

Every answer to a signed-in person (staff or a portal patient) carries ``Cache-Control: no-store`` (with
``no-cache, must-revalidate, private, max-age=0`` and an ``Expires`` in the past, Django's ``never_cache``) and
``Pragma: no-cache`` for HTTP/1.0 caches: charts, cockpits, printed records and PDFs, CSV exports and the API's JSON
all name patients, and a shared computer's browser cache or a proxy must not keep them.

Static files are not touched: WhiteNoise answers them before this middleware runs (it stands after WhiteNoise and
after ``AuthenticationMiddleware``, which gives it ``request.user``)."""

from __future__ import annotations

from django.utils.cache import add_never_cache_headers


class NoStoreForSignedInMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)  # read after the view: a sign-in in this request counts
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
            response["Pragma"] = "no-cache"
        return response
