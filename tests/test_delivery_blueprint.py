"""The shipped automation blueprint routes alerts as its inputs say, and the local webhook sink answers as the
services do.
"""

import io
import shutil
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component

from custom_components.zephyr_ipmi.const import DOMAIN
from scripts.webhook_sink import build_app

from .delivery_helpers import SLACK_PATH, ServiceSink, alert_data, bmc_entry, fire_alert, setup_channels, until

BLUEPRINT = Path(__file__).parent.parent / "blueprints" / "automation" / "zephyr_ipmi" / "route_alerts.yaml"


async def _automation(hass: HomeAssistant, **inputs: Any) -> None:
    """Install the blueprint in the configuration folder and create an automation from it."""
    target = Path(hass.config.path("blueprints", "automation", "zephyr_ipmi", "route_alerts.yaml"))
    await hass.async_add_executor_job(lambda: target.parent.mkdir(parents=True, exist_ok=True))
    await hass.async_add_executor_job(shutil.copy, BLUEPRINT, target)
    config = {"alias": "Route", "use_blueprint": {"path": "zephyr_ipmi/route_alerts.yaml", "input": inputs}}
    assert await async_setup_component(hass, "automation", {"automation": [config]})
    await hass.async_block_till_done()
    assert hass.states.get("automation.route").state == "on"


async def test_blueprint_routes_by_server_kind_and_severity(hass: HomeAssistant, sink: ServiceSink) -> None:
    """Only the chosen server's alerts of the chosen kinds from the chosen severity are sent, with the title."""
    await setup_channels(hass, sink)
    bmc = await bmc_entry(hass)
    other = await bmc_entry(hass)
    device = dr.async_get(hass).async_get_or_create(config_entry_id=bmc.entry_id, identifiers={(DOMAIN, "srv-1")})
    await _automation(
        hass,
        servers=[device.id],
        kinds=["psu_failure"],
        min_severity="critical",
        recoveries=False,
        targets=["notify.ops_slack"],
    )
    fire_alert(hass, alert_data(bmc.entry_id, kind="psu_failure", severity="warning", incident_id="1"))
    fire_alert(hass, alert_data(bmc.entry_id, kind="fan_failed", severity="critical", incident_id="2"))
    fire_alert(hass, alert_data(other.entry_id, kind="psu_failure", severity="critical", incident_id="3"))
    fire_alert(hass, alert_data(bmc.entry_id, kind="psu_failure", severity="critical", incident_id="4", recovered=True))
    fire_alert(
        hass,
        alert_data(bmc.entry_id, kind="psu_failure", severity="critical", incident_id="5", message="PS1 failed."),
    )
    await until(hass, lambda: len(sink.at(SLACK_PATH)) >= 1)
    await hass.async_block_till_done()
    (body,) = sink.at(SLACK_PATH)
    assert body["text"].startswith("*🔴 rack-2 storage: Power supply failure*\nPS1 failed. (CPU Temp: 96 °C) at ")


async def test_blueprint_defaults_send_everything_from_warning(hass: HomeAssistant, sink: ServiceSink) -> None:
    """With only targets chosen, every server's alerts from warning up are sent, recoveries too."""
    await setup_channels(hass, sink)
    bmc = await bmc_entry(hass)
    await _automation(hass, targets=["notify.ops_slack"])
    fire_alert(hass, alert_data(bmc.entry_id, severity="info", incident_id="1"))
    fire_alert(hass, alert_data(bmc.entry_id, severity="warning", incident_id="2"))
    fire_alert(hass, alert_data(bmc.entry_id, severity="warning", incident_id="2", recovered=True))
    await until(hass, lambda: len(sink.at(SLACK_PATH)) >= 2)
    await hass.async_block_till_done()
    titles = sorted(body["text"].split("\n")[0] for body in sink.at(SLACK_PATH))
    assert titles == [
        "*✅ rack-2 storage: Sensor threshold crossed recovered*",
        "*🟠 rack-2 storage: Sensor threshold crossed*",
    ]


async def test_local_sink_answers_like_the_services(aiohttp_client: Any, socket_enabled: None) -> None:
    """The development sink prints each message and answers Slack, Discord, Teams and Telegram as they do."""
    out = io.StringIO()
    client = await aiohttp_client(build_app(out))
    slack = await client.post("/slack/services/T000/B000/local", json={"text": "hi"})
    assert (slack.status, await slack.text()) == (200, "ok")
    discord = await client.post("/discord/api/webhooks/1/local", json={"content": "hi"})
    assert discord.status == 204
    teams = await client.post("/teams/workflows/local/triggers/manual/paths/invoke", json={"type": "message"})
    assert teams.status == 202
    telegram = await client.post("/bot123456:local-sink-token/sendMessage", json={"chat_id": "42", "text": "hi"})
    assert await telegram.json() == {"ok": True, "result": {"message_id": 1}}
    assert "--- /slack/services/T000/B000/local" in out.getvalue()
    assert '"chat_id": "42"' in out.getvalue()
