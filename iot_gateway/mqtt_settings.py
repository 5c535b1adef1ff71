"""MQTT connection settings from the site's ``mqtt:`` section; secrets come only from environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiomqtt import TLSParameters

from twin.site.model import MqttBroker


class MqttSettingsError(ValueError):
    """The site's mqtt settings cannot be used (a named environment variable is unset, a CA file is missing ...)."""


@dataclass(frozen=True)
class MqttSettings:
    """Everything an aiomqtt client needs to reach the broker. The password never appears in repr or logs."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    timeout_s: float = 5.0
    keepalive_s: int = 15

    @property
    def label(self) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        return f"{scheme}://{self.host}:{self.port}"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for aiomqtt.Client (besides identifier and will, which depend on the user)."""
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "timeout": self.timeout_s,
            "keepalive": self.keepalive_s,
        }
        if self.username is not None:
            kwargs["username"] = self.username
            kwargs["password"] = self.password
        if self.tls:
            # ca_certs=None means the system trust store, which is what a public broker certificate needs.
            kwargs["tls_params"] = TLSParameters(ca_certs=self.ca_file)
        return kwargs


def settings_from_site(
    broker: MqttBroker,
    environ: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
    where: str = "site.yaml mqtt",
) -> MqttSettings:
    """Resolve ``broker`` into usable settings. ``where`` names the config section in error messages;
    a relative ``ca_file`` is taken relative to ``base_dir`` (the site file's folder)."""
    env = os.environ if environ is None else environ
    username = _from_env(env, broker.username_env, f"{where}.username_env")
    password = _from_env(env, broker.password_env, f"{where}.password_env")
    if password is not None and username is None:
        raise MqttSettingsError(f"{where}: password_env is set but username_env is not; MQTT needs a user name")
    ca_file: str | None = None
    if broker.ca_file is not None:
        if not broker.tls:
            raise MqttSettingsError(f"{where}.ca_file is set but tls is false; set tls: true or remove ca_file")
        path = Path(broker.ca_file)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise MqttSettingsError(f"{where}.ca_file: {path} does not exist or is not a file")
        ca_file = str(path)
    return MqttSettings(broker.host, broker.port, username, password, broker.tls, ca_file)


def _from_env(env: Mapping[str, str], variable: str | None, where: str) -> str | None:
    if variable is None:
        return None
    value = env.get(variable)
    if value is None:
        raise MqttSettingsError(f"{where} names the environment variable {variable}, which is not set")
    return value
