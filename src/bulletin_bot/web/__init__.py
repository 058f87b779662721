"""The web app (FastAPI): `app` holds the routes, `highlight` marks quoted spans, `auth` guards
/admin, `clients` says who a request is from, `limits` shares the machine fairly, `forms` reads
size- and time-limited bodies, `serve` runs it under uvicorn; `templates/` and `static/` sit
beside them."""

from .app import create_app, run_web
from .auth import AdminAuth, LoginThrottle
from .highlight import article_paragraphs, parse_spans, passage, trim_spans

__all__ = ["AdminAuth", "LoginThrottle", "article_paragraphs", "create_app", "parse_spans", "passage", "run_web",
           "trim_spans"]
