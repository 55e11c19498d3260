"""Entry point: ``python -m pvd_api [--pipeline FILE.yaml] [--check]``.

Does what ``paddlex --serve --pipeline FILE`` does (load_pipeline_config, create_pipeline,
create_pipeline_app, run_server), with the environment overrides of :mod:`pvd_api.config`
applied to the config first and our layer installed on the app before it starts.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence

from .config import (
    ConfigError,
    apply_env_overrides,
    check_layout_model,
    vlm_target,
)
from .settings import Settings, SettingsError, paddlex_env, parse_bool
from .startup import fetch_missing_model, prepare_cache_home

logger = logging.getLogger("pvd_api")


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m pvd_api",
        description="Serve a PaddleOCR-VL pipeline with PaddleX's app and our safety layer.",
    )
    parser.add_argument(
        "--pipeline", help="PaddleX pipeline config file (default: $PIPELINE_CONFIG)"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="load the config, apply the overrides, print the result and exit",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    env = dict(os.environ)
    if args.pipeline:
        env["PIPELINE_CONFIG"] = args.pipeline
    try:
        settings = Settings.from_env(env)
        derived = paddlex_env(env)
        os.environ.update(derived)  # before paddlex is imported: it reads its flags once
        for key, value in derived.items():
            logger.info("set %s=%s", key, value)
        offline = parse_bool("OFFLINE", env["OFFLINE"]) if env.get("OFFLINE") else False
        prepare_cache_home()
        if not os.path.isfile(settings.pipeline_config):
            raise ConfigError(f"pipeline config {settings.pipeline_config!r} does not exist")
        from paddlex.inference.pipelines import load_pipeline_config

        config = load_pipeline_config(settings.pipeline_config)
        for line in apply_env_overrides(config, env):
            logger.info("config override from environment: %s", line)
        target = vlm_target(config)
        if warning := check_layout_model(config, offline=offline, fetch=fetch_missing_model):
            logger.warning("%s", warning)
    except (SettingsError, ConfigError) as exc:
        logger.error("cannot start: %s", exc)
        return 2
    if target.model_name is None:
        logger.warning(
            "client_kwargs.model_name is not set: PaddleX will ask %s/models for it now, and "
            "fail if the VLM server is not up yet",
            target.server_url.rstrip("/"),
        )
    logger.info(
        "pipeline %s, VLM %s at %s, model %s, max_concurrency %d, layout detection %s",
        config.get("pipeline_name"),
        target.backend,
        target.server_url,
        target.model_name,
        target.max_concurrency,
        "on" if config.get("use_layout_detection", True) else "off",
    )
    if args.check:
        shown = json.loads(json.dumps(config, default=str))
        client_kwargs = shown["SubModules"]["VLRecognition"]["genai_config"].get("client_kwargs")
        if client_kwargs and client_kwargs.get("api_key"):
            client_kwargs["api_key"] = "***"
        print(json.dumps(shown, indent=2))
        return 0

    from paddlex import create_pipeline
    from paddlex.inference.serving.basic_serving import run_server

    from .app import build_app

    try:
        pipeline = create_pipeline(config=config)
    except Exception:
        logger.exception("Failed to create the pipeline")
        return 1
    app = build_app(pipeline, config, settings, target)
    run_server(app, host=settings.host, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
