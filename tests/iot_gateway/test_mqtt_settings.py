"""MQTT settings from the site: secrets from named environment variables, TLS with a CA file, clear errors."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from iot_gateway.broker import MqttBrokerLauncher
from iot_gateway.driver import DeviceUnavailable
from iot_gateway.drivers.mqtt import MqttDriver
from iot_gateway.mqtt_settings import MqttSettingsError, settings_from_site
from tests.iot_gateway.conftest import mqtt_device, mqtt_point
from twin.site.model import MqttBroker

DEVICE = mqtt_device(
    "th-1", "temp_humidity", "hall/demo-hall/env/th-1", [mqtt_point("th-1.t", "analog", "temperature")]
)


def test_credentials_come_from_the_named_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    broker = MqttBroker(host="broker.example", port=8883, username_env="HT_MQTT_USER", password_env="HT_MQTT_PASS")
    monkeypatch.setenv("HT_MQTT_USER", "gateway")
    monkeypatch.setenv("HT_MQTT_PASS", "s3cret")
    settings = settings_from_site(broker)
    assert (settings.username, settings.password) == ("gateway", "s3cret")
    assert "s3cret" not in repr(settings)  # never in logs or tracebacks
    assert settings.client_kwargs()["password"] == "s3cret"


def test_unset_variable_is_a_clear_error() -> None:
    broker = MqttBroker(username_env="HT_MQTT_USER", password_env="HT_MQTT_PASS")
    with pytest.raises(MqttSettingsError, match="mqtt.password_env names the environment variable HT_MQTT_PASS"):
        settings_from_site(broker, environ={"HT_MQTT_USER": "gateway"}, where="site.yaml mqtt")
    with pytest.raises(MqttSettingsError, match="username_env names the environment variable HT_MQTT_USER"):
        settings_from_site(broker, environ={})


def test_inconsistent_settings_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(MqttSettingsError, match="password_env is set but username_env is not"):
        settings_from_site(MqttBroker(password_env="P"), environ={"P": "x"})
    with pytest.raises(MqttSettingsError, match="ca_file is set but tls is false"):
        settings_from_site(MqttBroker(ca_file="ca.crt"), environ={})
    with pytest.raises(MqttSettingsError, match=r"ca_file: .*missing\.crt does not exist"):
        settings_from_site(MqttBroker(tls=True, ca_file="missing.crt"), environ={}, base_dir=tmp_path)
    (tmp_path / "ca.crt").write_text("x")
    settings = settings_from_site(MqttBroker(tls=True, ca_file="ca.crt"), environ={}, base_dir=tmp_path)
    assert settings.ca_file == str(tmp_path / "ca.crt")  # relative to the site file's folder
    assert settings.label.startswith("mqtts://")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


@pytest.fixture
def tls_folder(tmp_path: Path) -> Path:
    """A throw-away CA, a server certificate for 127.0.0.1 (EC keys: fast to generate) and a password file."""
    folder = tmp_path
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=ca", cwd=folder)
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1", cwd=folder)
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "1", "-extfile", "san.ext", cwd=folder,
    )  # fmt: skip
    passwd = ["mosquitto_passwd", "-b", "-c", str(folder / "passwd"), "gateway", "s3cret"]
    subprocess.run(passwd, check=True, capture_output=True, timeout=30)
    return folder


async def test_tls_and_password_against_mosquitto(tls_folder: Path) -> None:
    tmp_path = tls_folder
    extra = [
        f"cafile {tmp_path / 'ca.crt'}",
        f"certfile {tmp_path / 'server.crt'}",
        f"keyfile {tmp_path / 'server.key'}",
        f"password_file {tmp_path / 'passwd'}",
        "allow_anonymous false",
    ]
    async with MqttBrokerLauncher(kind="mosquitto", workdir=tmp_path / "broker", extra_config=extra) as launcher:
        site = MqttBroker(
            host="127.0.0.1", port=launcher.port, tls=True, ca_file="ca.crt", username_env="U", password_env="P"
        )
        good = settings_from_site(site, environ={"U": "gateway", "P": "s3cret"}, base_dir=tmp_path)
        driver = MqttDriver(DEVICE, good)
        try:
            await driver.connect()
            assert driver.link.connected
        finally:
            await driver.close()
        wrong_password = settings_from_site(site, environ={"U": "gateway", "P": "guess"}, base_dir=tmp_path)
        # A plain-text CONNECT to a TLS listener gets no answer: the attempt ends at the client timeout, and
        # close() lets a running attempt finish (see SharedMqttClient._enter), so keep that timeout short.
        plain_text = dataclasses.replace(good, tls=False, ca_file=None, timeout_s=0.5)
        for refused in (wrong_password, plain_text):
            intruder = MqttDriver(DEVICE, refused, connect_timeout_s=0.5)
            try:
                with pytest.raises(DeviceUnavailable):
                    await intruder.connect()
            finally:
                await intruder.close()
