"""WhiteNoise as an async-capable middleware.

WhiteNoise's own middleware is sync-only, and Django adapts a sync
middleware under ASGI by moving the request to a thread and every
middleware outside it with it: one sync layer costs each request two
thread hops, and async views (the tile view) lose what they gain. Finding
a static file is a dictionary look-up, fine on the event loop; everything
else is passed through unchanged.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from whitenoise.middleware import WhiteNoiseMiddleware


class AsyncWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, *args, **kwargs):
        super().__init__(get_response, *args, **kwargs)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return super().__call__(request)

    async def _acall(self, request):
        if self.autorefresh:
            static_file = self.find_file(request.path_info)
        else:
            static_file = self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)
