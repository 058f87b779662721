"""The web app (FastAPI): `app` holds the routes, `highlight` marks quoted spans, `auth` guards
/admin, `forms` reads size-limited bodies; `templates/` and `static/` sit beside them."""

from .app import create_app, run_web
from .auth import AdminAuth, LoginThrottle
from .highlight import article_paragraphs, parse_spans, passage, trim_spans

__all__ = ["AdminAuth", "LoginThrottle", "article_paragraphs", "create_app", "parse_spans", "passage", "run_web",
           "trim_spans"]
