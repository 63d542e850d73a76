"""PB Hotline: the telephone and text line of a city's Participatory Budgeting."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from hotline.config import Config, ConfigError
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
    from hotline import health, logs, spool, webhooks

    config = config or Config.from_env()
    if not config.auth_token:
        # An empty key would make every forged signature computable: refuse to start instead.
        raise ConfigError("TWILIO_AUTH_TOKEN is empty: set it to the account's auth token.")
    app = Flask(__name__, instance_path=str(config.instance_dir))
    app.config["HOTLINE"] = config
    app.config["SECRET_KEY"] = config.secret_key
    if config.trust_proxy:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1, x_port=1)
    app.extensions["hotline"] = Hotline(config, db or Database(config.database_url), tuple(prompts.languages()))
    app.register_blueprint(webhooks.bp)
    from hotline import dashboard
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(health.bp)
    logs.install(app, secrets=(config.auth_token, config.secret_key))
    spool.install(app)      # what callers gave while the database was down goes in now
    return app
