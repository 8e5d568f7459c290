"""The safety-service marketplace and supervision registry: the application factory."""

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter


class IdConverter(IntegerConverter):
    """``<id:name>``: a positive record number that fits the database's integer column, so an
    absurdly large number in an address is a 404, not a database error."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=2**31 - 1)


def create_app(config=None):
    """Build the application. ``config`` is a config object or class; by default the
    environment chooses (``MARKETPLACE_ENV``: development, testing, production)."""
    from marketplace.config import BASE_DIR, INSTANCE_DIR, config_from_env

    app = Flask(
        __name__,
        instance_path=str(INSTANCE_DIR),
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
    )
    if config is None:
        config = config_from_env()
    elif isinstance(config, type):
        config = config()
    app.config.from_object(config)
    app.config["CONFIG_NAME"] = getattr(config, "ENV_NAME", "custom")
    app.url_map.converters["id"] = IdConverter
    if app.config.get("PROXY_COUNT"):
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    if not app.debug and not app.testing:
        app.logger.setLevel(logging.INFO)
    if app.config["CONFIG_NAME"] == "production" and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.logger.warning(
            "RATELIMIT_STORAGE_URI is memory://: each worker counts login attempts "
            "on its own; point it at Redis when running several workers."
        )
    return app


def register_extensions(app):
    from marketplace import jobs, search
    from marketplace.auth.sessions import load_user
    from marketplace.common import chain, database, i18n, security  # noqa: F401  (database: engine settings)
    from marketplace.extensions import babel, bootstrap, csrf, db, limiter, login_manager, mail, migrate
    from marketplace.providers import indexing
    from marketplace.reference import cache

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    bootstrap.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Asia/Shanghai")
    i18n.init_app(app)
    security.register(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = i18n.LOGIN_MESSAGE
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)

    # Import every model so metadata (and `flask db check`) sees the whole schema.
    from marketplace import models  # noqa: F401

    cache.init_app(app)
    jobs.init_app(app)
    search.init_app(app, source=indexing.SOURCE)
    chain.init_app(app)  # last: its before_commit listener runs after every other one


def register_blueprints(app):
    from marketplace.admin.views import bp as admin_bp
    from marketplace.auth.views import bp as auth_bp
    from marketplace.engagements.rating_views import bp as ratings_bp
    from marketplace.engagements.report_views import bp as reports_bp
    from marketplace.engagements.views import bp as engagements_bp
    from marketplace.enterprises.views import bp as enterprises_bp
    from marketplace.inspections.draw_views import bp as draws_bp
    from marketplace.inspections.penalty_views import bp as penalties_bp
    from marketplace.inspections.views import bp as inspections_bp
    from marketplace.jobs.views import bp as jobs_bp
    from marketplace.pledges.views import bp as pledges_bp
    from marketplace.providers.notice_views import bp as notices_bp
    from marketplace.providers.views import bp as providers_bp
    from marketplace.site.views import bp as site_bp

    for blueprint in (
        site_bp,
        auth_bp,
        admin_bp,
        providers_bp,
        notices_bp,
        pledges_bp,
        enterprises_bp,
        engagements_bp,
        ratings_bp,
        reports_bp,
        inspections_bp,
        draws_bp,
        penalties_bp,
        jobs_bp,
    ):
        app.register_blueprint(blueprint)


def register_commands(app):
    from marketplace.audit_cli import audit_cli
    from marketplace.auth.cli import create_user_command
    from marketplace.backup import backup_command, restore_command
    from marketplace.cli import seed_demo_command
    from marketplace.inspections.cli import inspections_cli
    from marketplace.providers.cli import notices_cli
    from marketplace.search.cli import search_cli

    for command in (
        create_user_command,
        seed_demo_command,
        notices_cli,
        search_cli,
        audit_cli,
        backup_command,
        restore_command,
        inspections_cli,
    ):
        app.cli.add_command(command)


def register_errorhandlers(app):
    from marketplace.common.errorhandlers import register

    register(app)


def register_template_helpers(app):
    from marketplace.auth import permissions
    from marketplace.auth.roles import Role
    from marketplace.common import templating

    templating.register(app)
    app.jinja_env.globals.update(permissions=permissions, Role=Role)
