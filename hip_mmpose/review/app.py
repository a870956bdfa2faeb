"""The review's web server (Starlette): the page, its assets and the JSON API it uses.

Reads (``GET``) need nothing; every write (``PUT``/``POST``) needs the server's random
token in the ``X-Review-Token`` header (the page carries it in
``<meta name="hip-review-token">``), else 403: a page of another origin cannot read
the token, so it cannot write. Refused requests get a 4xx and ``{"error": "..."}`` and
change nothing. API (``<file>`` is a film's file name, URL-encoded)::

    GET  /api/status                     reviewer, mode, films, measured, export folder
    GET  /api/films                      [{file, state, acetabular_index, ihdi_grade, flags, ...}]
    GET  /api/films/<file>               the record + state, version, model_keypoints,
                                         keypoints, lines (ReviewStore.view)
    GET  /api/films/<file>/image         the film as PNG (film_io's reading: DICOM windowed)
    PUT  /api/films/<file>/keypoints     {"keypoints": [[x, y], ...], "version": n} -> view
    POST /api/films/<file>/measure       {"keypoints": [[x, y], ...]} -> measurement, not saved
    POST /api/films/<file>/state         {"state": "accepted"|"unchecked", "version": n} -> view
    POST /api/films/<file>/undo          {"version": n} -> view
    POST /api/films/<file>/reset         {"version": n} -> view
    POST /api/export                     {} -> the export's summary (export_reviews)
"""

from __future__ import annotations

import html
import json
import secrets
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hip_mmpose.review.export import export_reviews
from hip_mmpose.review.films import ReviewError, ReviewSetupError
from hip_mmpose.review.store import ReviewStore

STATIC_DIR = Path(__file__).resolve().parent / 'static'
#: the largest request body read (bytes); 12 points need well under 1 KB
MAX_BODY = 64 * 1024
TOKEN_HEADER = 'X-Review-Token'
TOKEN_META = 'hip-review-token'
SECURITY_HEADERS = {
    'content-security-policy': (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; "
        "script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'none'"
    ),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
}


class _SecurityHeaders:
    """ASGI middleware: the headers above on every response (unless it sets its own)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message['type'] == 'http.response.start':
                headers = MutableHeaders(scope=message)
                for key, value in SECURITY_HEADERS.items():
                    if key not in headers:
                        headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _refuse_constant(name):
    raise ValueError(f'{name} is not a number JSON allows')


async def read_body(request: Request, limit: int = MAX_BODY) -> dict:
    """A request's JSON object, read up to ``limit`` bytes.

    Args:
        request (Request): the request.
        limit (int): the largest body accepted. Defaults to :data:`MAX_BODY`.

    Returns:
        dict: the parsed object.

    Raises:
        ReviewError: 413 over the limit, 400 not UTF-8 JSON (``NaN``/``Infinity``
            refused) or not an object.
    """
    declared = request.headers.get('content-length')
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise ReviewError(413, f'request body over {limit} bytes; refused')
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ReviewError(413, f'request body over {limit} bytes; refused')
    try:
        data = json.loads(bytes(body).decode('utf-8'), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ReviewError(400, f'malformed JSON: {str(err)[:120]}') from None
    if not isinstance(data, dict):
        raise ReviewError(400, 'expected a JSON object')
    return data


def create_app(
    store: ReviewStore,
    token: str | None = None,
    export_dir=None,
    export_split: str = 'train',
    include_unchecked: bool = False,
    allowed_hosts=None,
    max_body: int = MAX_BODY,
) -> Starlette:
    """The review's ASGI application.

    Args:
        store (ReviewStore): the films and the reader's review.
        token (str, optional): the write token. Defaults to None (a new random one;
            ``app.state.token`` holds it).
        export_dir (str | Path, optional): where the page's export button writes.
            Defaults to None (``OUT/export``).
        export_split (str): the split it writes. Defaults to ``'train'``.
        include_unchecked (bool): it writes unchecked films too. Defaults to False.
        allowed_hosts (list[str], optional): ``Host`` headers answered (others get
            400: a page served under another name, e.g. by DNS rebinding, is refused).
            Defaults to None (any).
        max_body (int): the largest request body. Defaults to :data:`MAX_BODY`.

    Returns:
        Starlette: the application.
    """
    token = token or secrets.token_urlsafe(32)
    export_dir = Path(export_dir) if export_dir else store.out_dir / 'export'
    page = (STATIC_DIR / 'index.html').read_text(encoding='utf-8')

    def check_token(request: Request) -> None:
        given = request.headers.get(TOKEN_HEADER, '')
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise ReviewError(
                403, f'missing or wrong {TOKEN_HEADER} header; load the page again to write'
            )

    async def index(request: Request):
        text = page.replace('{{TOKEN}}', html.escape(token, quote=True))
        text = text.replace('{{REVIEWER}}', html.escape(store.reviewer, quote=True))
        return HTMLResponse(text)

    async def status(request: Request):
        return JSONResponse(
            dict(
                reviewer=store.reviewer,
                blind=store.blind,
                films=len(store.films.names),
                measured=sum(n in store.records for n in store.films.names),
                pending=len(store.pending()),
                review_file=str(store.review.path),
                export_dir=str(export_dir / export_split),
                include_unchecked=include_unchecked,
                score_thr=store.score_thr,
                refused=[dict(file=n, reason=r) for n, r in store.films.refused],
            )
        )

    async def films(request: Request):
        return JSONResponse(await run_in_threadpool(store.summaries))

    async def film(request: Request):
        return JSONResponse(await run_in_threadpool(store.view, request.path_params['file']))

    async def image(request: Request):
        data = await run_in_threadpool(store.films.png, request.path_params['file'])
        return Response(data, media_type='image/png')

    async def film_body(request: Request, key: str, expected: str) -> tuple[str, dict]:
        """The film a write names (refused unless it is one of the set) and its
        JSON body (refused with 422 ``expected ...`` without ``key``)."""
        check_token(request)
        name = request.path_params['file']
        store.films.path(name)
        body = await read_body(request, max_body)
        if key not in body:
            raise ReviewError(422, f'expected {expected}')
        return name, body

    async def keypoints(request: Request):
        name, body = await film_body(
            request, 'keypoints', '{"keypoints": [[x, y], ...], "version": n}'
        )
        view = await run_in_threadpool(
            store.set_keypoints, name, body['keypoints'], body.get('version')
        )
        return JSONResponse(view)

    async def measure(request: Request):
        name, body = await film_body(request, 'keypoints', '{"keypoints": [[x, y], ...]}')
        return JSONResponse(await run_in_threadpool(store.measure_points, name, body['keypoints']))

    async def state(request: Request):
        name, body = await film_body(
            request, 'state', '{"state": "accepted" or "unchecked", "version": n}'
        )
        view = await run_in_threadpool(store.set_state, name, body['state'], body.get('version'))
        return JSONResponse(view)

    def versioned(operation):
        async def endpoint(request: Request):
            name, body = await film_body(request, 'version', '{"version": n}')
            return JSONResponse(await run_in_threadpool(operation, name, body['version']))

        return endpoint

    async def export(request: Request):
        check_token(request)
        await read_body(request, max_body)

        def run():
            try:
                return export_reviews(
                    store.films,
                    store.out_dir,
                    export_dir,
                    export_split,
                    include_unchecked,
                    store.records,
                )
            except ReviewSetupError as err:
                raise ReviewError(409, str(err)) from None

        return JSONResponse(await run_in_threadpool(run))

    async def review_error(request: Request, err: ReviewError):
        return JSONResponse({'error': err.message}, status_code=err.status)

    async def http_error(request: Request, err: HTTPException):
        return JSONResponse({'error': str(err.detail)}, status_code=err.status_code)

    routes = [
        Route('/', index, methods=['GET']),
        Route('/api/status', status, methods=['GET']),
        Route('/api/films', films, methods=['GET']),
        Route('/api/films/{file}', film, methods=['GET']),
        Route('/api/films/{file}/image', image, methods=['GET']),
        Route('/api/films/{file}/keypoints', keypoints, methods=['PUT']),
        Route('/api/films/{file}/measure', measure, methods=['POST']),
        Route('/api/films/{file}/state', state, methods=['POST']),
        Route('/api/films/{file}/undo', versioned(store.undo), methods=['POST']),
        Route('/api/films/{file}/reset', versioned(store.reset), methods=['POST']),
        Route('/api/export', export, methods=['POST']),
        Mount('/static', StaticFiles(directory=STATIC_DIR), name='static'),
    ]
    middleware = [Middleware(_SecurityHeaders)]
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={ReviewError: review_error, HTTPException: http_error},
    )
    app.state.token = token
    app.state.store = store
    app.state.export_dir = export_dir / export_split
    return app
