"""Configuration: pydantic models matching the TOML tables of SPEC section 2."""

from core.config.io import ConfigError, default_config_path, dump_config, load_config, save_config
from core.config.models import AppConfig, GatewayConfig, GeneralConfig
from core.config.rules import RulesConfig

__all__ = [
    "AppConfig",
    "ConfigError",
    "GatewayConfig",
    "GeneralConfig",
    "RulesConfig",
    "default_config_path",
    "dump_config",
    "load_config",
    "save_config",
]
