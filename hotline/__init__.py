"""PB Hotline: the telephone and text line of a city's Participatory Budgeting."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask

from hotline.config import Config
from store import Database


@dataclass
class Hotline:
    """What every request needs: the settings, the database, the languages served."""

    config: Config
    db: Database
    languages: tuple[str, ...]


def create_app(config: Config | None = None, db: Database | None = None) -> Flask:
    """Build the Flask app.

    :param config: settings; read from the environment when omitted.
    :param db: an open database (tests share one); made from `config.database_url` otherwise.
    """
    import prompts
    from hotline import webhooks

    config = config or Config.from_env()
    app = Flask(__name__, instance_path=str(config.instance_dir))
    app.config["HOTLINE"] = config
    app.config["SECRET_KEY"] = config.secret_key
    if config.trust_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1, x_port=1)
    app.extensions["hotline"] = Hotline(config, db or Database(config.database_url), tuple(prompts.languages()))
    app.register_blueprint(webhooks.bp)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
