"""Configuration: the pydantic models of the TOML file (SPEC section 2), one model per rule
table, strict types, and loading/saving with errors that name the key and the reason.

It may import only ``core.domain``; every other layer may import it.
"""

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
