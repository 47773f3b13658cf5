"""hassfest's rules for an integration folder (manifest, translations, icons, services, config flow, quality scale).

Each ``check_*`` function takes the integration's folder and returns the problems found, as hassfest would
report them; an empty list means the rule passes. ``custom=True`` applies the rules hassfest applies to custom
integrations (``--integration-path``), plus the core rules this project holds itself to (see the package doc).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import homeassistant
import probatio as vol
from awesomeversion import AwesomeVersion, AwesomeVersionException, AwesomeVersionStrategy
from homeassistant.const import Platform
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import selector
from homeassistant.util.yaml import load_yaml_dict
from probatio.humanize import humanize_error

CORE_COMPONENTS = Path(homeassistant.__file__).parent / "components"

# --- manifest.py ----------------------------------------------------------------------------------------------

INTEGRATION_TYPES = ("device", "entity", "hardware", "helper", "hub", "service", "system", "virtual")
IOT_CLASSES = ("assumed_state", "calculated", "cloud_polling", "cloud_push", "local_polling", "local_push")
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]


def _https_url(value: Any) -> str:
    url = cv.url(value)
    if not url.startswith("https://"):
        raise vol.Invalid("Documentation url is not prefixed with https")
    return url


def _version(value: Any) -> str:
    try:
        AwesomeVersion(value, ensure_strategy=VERSION_STRATEGIES)
    except AwesomeVersionException as err:
        raise vol.Invalid(f"'{value}' is not a valid version.") from err
    return str(value)


def _lowercase(value: Any) -> str:
    if str(value).lower() != value:
        raise vol.Invalid("Value needs to be lowercase")
    return str(value)


CUSTOM_MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("domain"): str,
        vol.Required("name"): str,
        vol.Optional("integration_type"): vol.In(INTEGRATION_TYPES),
        vol.Optional("config_flow"): bool,
        vol.Optional("mqtt"): [str],
        vol.Optional("zeroconf"): list,
        vol.Optional("ssdp"): list,
        vol.Optional("bluetooth"): list,
        vol.Optional("homekit"): dict,
        vol.Optional("dhcp"): list,
        vol.Optional("usb"): list,
        vol.Required("documentation"): _https_url,
        vol.Optional("issue_tracker"): cv.url,
        vol.Optional("quality_scale"): vol.In(["internal", "bronze", "silver", "gold", "platinum"]),
        vol.Optional("requirements"): [str],
        vol.Optional("dependencies"): [str],
        vol.Optional("after_dependencies"): [str],
        vol.Required("codeowners"): [vol.Match(r"^@[\w.-]+(/[\w.-]+)?$")],
        vol.Optional("loggers"): [str],
        vol.Optional("disabled"): str,
        vol.Optional("iot_class"): vol.In(IOT_CLASSES),
        vol.Optional("single_config_entry"): bool,
        # custom integrations only
        vol.Optional("version"): vol.All(str, _version),
        vol.Optional("import_executor"): bool,
    }
)
# requirements.py: a requirement is pinned ("name==version" or "name[extra]==version"), no URLs or spaces.
REQUIREMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._,-]+\])?==[A-Za-z0-9.+!_-]+$")


def check_manifest(path: Path) -> list[str]:
    """manifest.py, requirements.py and dependencies.py for a custom integration."""
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"manifest.json: cannot read it: {err}"]
    errors: list[str] = []
    try:
        CUSTOM_MANIFEST_SCHEMA(manifest)
    except vol.Invalid as err:
        errors.append(f"Invalid manifest: {humanize_error(manifest, err)}")
    domain = manifest.get("domain")
    if domain != path.name:
        errors.append("Domain does not match dir name")
    if domain and (CORE_COMPONENTS / str(domain)).is_dir():
        errors.append("Domain collides with built-in core integration")
    if "iot_class" not in manifest and manifest.get("integration_type") != "virtual":
        errors.append("Domain is missing an IoT Class")
    if not manifest.get("version"):
        errors.append("No 'version' key in the manifest file.")
    keys = list(manifest)
    if keys != sorted(keys, key=lambda key: {"domain": ".domain", "name": ".name"}.get(key, key)):
        errors.append("Manifest keys are not sorted correctly: domain, name, then alphabetical order")
    errors.extend(
        f"Requirement {req!r} must be pinned as name==version"
        for req in manifest.get("requirements", [])
        if not REQUIREMENT.match(req)
    )
    for key in ("dependencies", "after_dependencies"):
        errors.extend(
            f"{key}: {dep!r} is not an integration"
            for dep in manifest.get(key, [])
            if not (CORE_COMPONENTS / dep).is_dir() and not (path.parent / dep).is_dir()
        )
    return errors


# --- translations.py ------------------------------------------------------------------------------------------

RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")


def translation_key(value: Any) -> str:
    """A translation key: [a-z0-9-_], not starting or ending with - or _, no doubled separators."""
    if not isinstance(value, str) or RE_TRANSLATION_KEY.match(value) is None:
        raise vol.Invalid(
            f"Invalid translation key '{value}', need to be [a-z0-9-_]+ and"
            " cannot start or end with a hyphen or underscore."
        )
    return value


def translation_value(value: Any) -> str:
    """A translated string: no HTML, no placeholder in single quotes, no combined reference, no outer spaces."""
    text = cv.string_with_no_html(value)
    if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(text):
        raise vol.Invalid("the string should not contain placeholders inside single quotes")
    if RE_COMBINED_REFERENCE.search(text):
        raise vol.Invalid("the string should not contain combined translations")
    if text != text.strip():
        raise vol.Invalid("the string should not contain leading or trailing spaces")
    return text


def _keyed(value_schema: Any, key: Any = translation_key) -> Any:
    return cv.schema_with_slug_keys(value_schema, slug_validator=key)


def _nested_strings(value: Any) -> Any:
    """Strings, or mappings of them to any depth (config_panel texts)."""
    if isinstance(value, dict):
        return {key: _nested_strings(inner) for key, inner in value.items()}
    return translation_value(value)


def _data_entry_schema(*, custom: bool, flow_title_allowed: bool) -> Any:
    step = {
        vol.Optional("title"): translation_value,
        vol.Optional("description"): translation_value,
        vol.Optional("data"): {str: translation_value},
        vol.Optional("data_description"): {str: translation_value},
        vol.Optional("menu_options"): {str: translation_value},
        vol.Optional("menu_option_descriptions"): {str: translation_value},
        vol.Optional("submit"): translation_value,
        vol.Optional("sections"): {
            str: {
                vol.Optional("data"): {str: translation_value},
                vol.Optional("data_description"): {str: translation_value},
                vol.Optional("description"): translation_value,
                vol.Optional("name"): translation_value,
            }
        },
    }
    schema: dict[Any, Any] = {
        vol.Optional("flow_title"): translation_value,
        vol.Required("step"): {str: step},
        vol.Optional("error"): {str: translation_value},
        vol.Optional("abort"): {str: translation_value},
        vol.Optional("progress"): {str: translation_value},
        vol.Optional("create_entry"): {str: translation_value},
        vol.Optional("initiate_flow"): {str: translation_value},
        vol.Optional("entry_type"): translation_value,
    }
    if flow_title_allowed and custom:
        schema[vol.Optional("title")] = translation_value  # hassfest: a warning for custom integrations

    def data_description_in_data(value: dict[str, Any]) -> dict[str, Any]:
        for step_id, info in value["step"].items():
            for key in info.get("data_description", {}):
                if key not in info.get("data", {}):
                    raise vol.Invalid(f"data_description key {key} is not in data of step {step_id}")
        return value

    return vol.All(vol.Schema(schema), data_description_in_data)


def _subentry_schema() -> Any:
    return _data_entry_schema(custom=False, flow_title_allowed=False)


def strings_schema(*, custom: bool) -> vol.Schema:
    """The schema of strings.json (and translations/<lang>.json) of an integration."""
    state_attributes = _keyed(
        {vol.Optional("name"): translation_value, vol.Optional("state"): _keyed(translation_value)}
    )
    entity_strings = {
        vol.Optional("name"): translation_value,
        vol.Optional("state"): _keyed(translation_value),
        vol.Optional("state_attributes"): state_attributes,
        vol.Optional("unit_of_measurement"): translation_value,
        vol.Optional("fields"): {str: translation_value},
    }
    field = {
        vol.Required("name"): str,
        vol.Required("description"): translation_value,
        vol.Optional("example"): translation_value,
    }
    automation = {  # conditions.yaml and triggers.yaml descriptions
        vol.Required("name"): translation_value,
        vol.Required("description"): translation_value,
        vol.Optional("description_configured"): translation_value,
        vol.Optional("fields"): _keyed({vol.Required("name"): str, vol.Optional("description"): translation_value}),
    }
    return vol.Schema(
        {
            vol.Optional("title"): translation_value,
            vol.Optional("config"): _data_entry_schema(custom=custom, flow_title_allowed=True),
            vol.Optional("config_subentries"): cv.schema_with_slug_keys(_subentry_schema(), slug_validator=cv.slug),
            vol.Optional("options"): _data_entry_schema(custom=custom, flow_title_allowed=False),
            vol.Optional("selector"): cv.schema_with_slug_keys(
                {
                    vol.Optional("options"): _keyed(translation_value),
                    vol.Optional("unit_of_measurement"): _keyed(translation_value),
                    vol.Optional("fields"): {str: vol.Any(translation_value, {str: translation_value})},
                },
                slug_validator=vol.Any("_", cv.slug),
            ),
            vol.Optional("device_automation"): {
                vol.Optional(key): {str: translation_value}
                for key in (
                    "action_type",
                    "condition_type",
                    "trigger_type",
                    "trigger_subtype",
                    "extra_fields",
                    "extra_fields_descriptions",
                )
            },
            vol.Optional("system_health"): {vol.Optional("info"): _keyed(translation_value)},
            vol.Optional("config_panel"): cv.schema_with_slug_keys(
                _nested_strings, slug_validator=vol.Any("_", cv.slug)
            ),
            vol.Optional("application_credentials"): {vol.Optional("description"): translation_value},
            vol.Optional("issues"): {
                # 2026.10 accepts issues with a title only (core's sensor issues have no description).
                str: vol.All(
                    vol.Schema(
                        {
                            vol.Required("title"): translation_value,
                            vol.Optional("short_title"): translation_value,
                            vol.Exclusive("description", "fixable"): translation_value,
                            vol.Exclusive("fix_flow", "fixable"): _data_entry_schema(
                                custom=False, flow_title_allowed=False
                            ),
                        }
                    ),
                )
            },
            vol.Optional("entity_component"): cv.schema_with_slug_keys(
                {
                    vol.Optional("name"): str,
                    vol.Optional("state"): _keyed(translation_value),
                    vol.Optional("state_attributes"): _keyed(
                        {vol.Optional("name"): str, vol.Optional("state"): _keyed(translation_value)}
                    ),
                },
                slug_validator=vol.Any("_", cv.slug),
            ),
            vol.Optional("device"): _keyed({vol.Optional("name"): translation_value}),
            vol.Optional("entity"): cv.schema_with_slug_keys(_keyed(entity_strings), slug_validator=cv.slug),
            vol.Optional("exceptions"): cv.schema_with_slug_keys(
                {vol.Optional("message"): translation_value}, slug_validator=cv.slug
            ),
            vol.Optional("services"): _keyed(
                {
                    vol.Required("name"): translation_value,
                    vol.Required("description"): translation_value,
                    vol.Optional("fields"): _keyed(field),
                    vol.Optional("sections"): _keyed(
                        {vol.Required("name"): str, vol.Optional("description"): translation_value}
                    ),
                }
            ),
            vol.Optional("conditions"): _keyed(automation, vol.Any("_", translation_key)),
            vol.Optional("triggers"): _keyed(automation, vol.Any("_", translation_key)),
            vol.Optional("conversation"): {vol.Required("agent"): {vol.Required("done"): translation_value}},
            vol.Optional("common"): vol.Schema({cv.slug: translation_value}),
            vol.Optional("preview_features"): _keyed({str: translation_value}),
        }
    )


def _load_json(path: Path) -> tuple[Any, list[str]]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except ValueError as err:
        return None, [f"Invalid JSON in {path.name}: {err}"]


def check_translations(path: Path, *, custom: bool = True) -> list[str]:
    """translations.py: strings.json and, for custom integrations, translations/en.json (complete English)."""
    errors: list[str] = []
    if (path / ".translations").is_dir() and not (path / "translations").is_dir():
        errors.append("The '.translations' directory has been moved, the new name is 'translations'")
    files = [path / "strings.json"]
    if custom:
        files.append(path / "translations" / "en.json")
        if not files[-1].is_file() and (path / "strings.json").is_file():
            errors.append("translations/en.json is missing: custom integrations load only translations/")
    schema = strings_schema(custom=custom)
    for file in files:
        if not file.is_file():
            continue
        strings, load_errors = _load_json(file)
        errors.extend(load_errors)
        if strings is None:
            continue
        try:
            schema(strings)
        except vol.Invalid as err:
            errors.append(f"Invalid {file.relative_to(path)}: {humanize_error(strings, err)}")
    return errors


# --- icons.py -------------------------------------------------------------------------------------------------


def icon_value(value: Any) -> str:
    """An icon: an mdi: name, no HTML."""
    text = cv.string_with_no_html(value)
    if not text.startswith("mdi:"):
        raise vol.Invalid("The icon needs to be a valid icon from Material Design Icons and start with `mdi:`")
    return str(text)


def _not_same_as_default(value: dict[str, Any]) -> dict[str, Any]:
    for key, section in value.items():
        if (default := section.get("default")) and (states := section.get("state")):
            for state, icon in states.items():
                if icon == default:
                    raise vol.Invalid(
                        f"The icon for state `{key}.{state}` is the same as the default icon and thus can be removed"
                    )
    return value


def _range_keys(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        try:
            float(key)
        except ValueError as err:
            raise vol.Invalid(f"Range key {key!r} is not a number") from err
    return value


def icons_schema(integration_type: str) -> vol.Schema:
    """The schema of icons.json."""
    states = _keyed(icon_value)
    data_entry = vol.Schema({"step": {str: {"sections": {str: icon_value}}}})

    def entity(marker: type[vol.Marker]) -> dict[Any, Any]:
        return {
            marker("default"): icon_value,
            vol.Optional("state"): states,
            vol.Optional("range"): vol.All({str: icon_value}, _range_keys),
            vol.Optional("state_attributes"): vol.All(
                _keyed({marker("default"): icon_value, marker("state"): states}), _not_same_as_default
            ),
        }

    service = vol.Schema({vol.Optional("service"): icon_value, vol.Optional("sections"): {str: icon_value}})
    schema = vol.Schema(
        {
            vol.Optional("config"): data_entry,
            vol.Optional("options"): data_entry,
            vol.Optional("config_subentries"): {str: data_entry},
            vol.Optional("issues"): vol.Schema({str: {"fix_flow": data_entry}}),
            vol.Optional("services"): _keyed(service),
            vol.Optional("conditions"): _keyed(
                service.extend({vol.Optional("condition"): icon_value}), vol.Any("_", translation_key)
            ),
            vol.Optional("triggers"): _keyed(
                service.extend({vol.Optional("trigger"): icon_value}), vol.Any("_", translation_key)
            ),
        }
    )
    if integration_type in ("entity", "helper", "system"):
        schema = schema.extend(
            {
                vol.Optional("entity_component"): vol.All(
                    cv.schema_with_slug_keys(entity(vol.Required), slug_validator=vol.Any("_", cv.slug)),
                    _not_same_as_default,
                )
            }
        )
    if integration_type not in ("entity", "system"):
        schema = schema.extend(
            {
                # hassfest applies its same-as-default check at the platform level here, where it finds no
                # "default" key: state icons equal to the default pass (core integrations ship such).
                vol.Optional("entity"): cv.schema_with_slug_keys(_keyed(entity(vol.Optional)), slug_validator=cv.slug)
            }
        )
    return schema


def check_icons(path: Path) -> list[str]:
    """icons.py: icons.json's schema for the integration's type."""
    file = path / "icons.json"
    if not file.is_file():
        return []
    icons, errors = _load_json(file)
    if icons is None:
        return errors
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    try:
        icons_schema(manifest.get("integration_type", "hub"))(icons)
    except vol.Invalid as err:
        errors.append(f"Invalid icons.json: {humanize_error(icons, err)}")
    return errors


# --- services.py ----------------------------------------------------------------------------------------------

REGISTERS_SERVICES = re.compile(
    r"(hass\.services\.(register|async_register))|async_register_entity_service|async_register_admin_service"
    r"|service\.async_register_platform_entity_service"
)


def _exists(value: Any) -> Any:
    if value is None:
        raise vol.Invalid("Value cannot be None")
    return value


def _field_schema(*, targeted: bool) -> vol.Schema:
    schema: dict[Any, Any] = {
        vol.Optional("example"): _exists,
        vol.Optional("default"): _exists,
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("selector"): selector.validate_selector,
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
    if targeted:
        schema[vol.Optional("filter")] = {
            vol.Exclusive("attribute", "field_filter"): {vol.Required(str): [str]},
            vol.Exclusive("supported_features", "field_filter"): [str],
        }
    return vol.Schema(schema)


def _unique_fields(fields: dict[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, value in fields.items():
        for name in value["fields"] if value and "fields" in value else [key]:
            if name in seen:
                raise vol.Invalid(f"Duplicate use of field {name} in service.")
            seen.add(name)
    return fields


def _service_schema(*, targeted: bool) -> vol.Schema:
    section = vol.Schema(
        {
            vol.Optional("collapsed"): bool,
            vol.Required("fields"): {str: _field_schema(targeted=targeted)},
            vol.Optional("name"): str,
            vol.Optional("description"): str,
        }
    )
    schema: dict[Any, Any] = {
        vol.Optional("fields"): vol.All(
            {str: vol.Any(_field_schema(targeted=targeted), section)},
            _unique_fields,
        ),
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
    if targeted:
        schema[vol.Required("target")] = selector.TargetSelector.CONFIG_SCHEMA
    return vol.Schema(schema)


SERVICES_SCHEMA = vol.Schema(
    {
        vol.Remove(vol.All(str, vol.Match(r"^\."))): object,
        cv.slug: vol.Any(_service_schema(targeted=True), _service_schema(targeted=False), None),
    }
)


def check_services(path: Path) -> list[str]:
    """services.py: services.yaml exists when services are registered, is valid, and each service is translated.

    The core rules are applied: every service and field has a name and description in the English
    translations (not in services.yaml) and every service has an icon in icons.json.
    """
    file = path / "services.yaml"
    if not file.is_file():
        registers = any(REGISTERS_SERVICES.search(py.read_text(encoding="utf-8")) for py in path.rglob("*.py"))
        return ["Registers services but has no services.yaml"] if registers else []
    try:
        data = load_yaml_dict(str(file))
    except Exception as err:  # noqa: BLE001 - any load failure is the finding
        return [f"Invalid services.yaml: {err}"]
    try:
        services = SERVICES_SCHEMA(data)
    except vol.Invalid as err:
        return [f"Invalid services.yaml: {humanize_error(data, err)}"]
    errors: list[str] = []
    strings, _ = (
        _load_json(path / "translations" / "en.json") if (path / "translations" / "en.json").is_file() else ({}, [])
    )
    icons, _ = _load_json(path / "icons.json") if (path / "icons.json").is_file() else ({}, [])
    translated = (strings or {}).get("services", {})
    for name, schema in services.items():
        if name not in (icons or {}).get("services", {}):
            errors.append(f"Service {name} has no icon in icons.json.")
        if schema is None:
            continue
        for key in ("name", "description"):
            if key in schema:
                errors.append(f"Service {name} has its {key} in services.yaml: translate it in strings.json")
            elif key not in translated.get(name, {}):
                errors.append(f"Service {name} has no {key} in the translations file")
        for field_name, field in schema.get("fields", {}).items():
            where = "sections" if "fields" in field else "fields"
            keys = ("name",) if where == "sections" else ("name", "description")
            for key in keys:
                if key not in translated.get(name, {}).get(where, {}).get(field_name, {}):
                    errors.append(
                        f"Service {name} has a {where[:-1]} {field_name} with no {key} in the translations file"
                    )
            for sub_name in field.get("fields", {}) if where == "sections" else ():
                for key in ("name", "description"):
                    if key not in translated.get(name, {}).get("fields", {}).get(sub_name, {}):
                        errors.append(f"Service {name} has a field {sub_name} with no {key} in the translations file")
            select = (field.get("selector") or {}).get("select") or {}
            if (key := select.get("translation_key")) and key not in (strings or {}).get("selector", {}):
                errors.append(
                    f"Service {name} field {field_name} uses selector translation key {key} that has no strings"
                )
        for field_name in translated.get(name, {}).get("fields", {}):
            section_fields = {
                sub for field in schema.get("fields", {}).values() if "fields" in field for sub in field["fields"]
            }
            if field_name not in schema.get("fields", {}) and field_name not in section_fields:
                errors.append(
                    f"Service {name} has a field {field_name} in the translations file that is not in the schema"
                )
    return errors


# --- config_flow.py -------------------------------------------------------------------------------------------

DISCOVERY_KEYS = ("bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf")


def check_config_flow(path: Path) -> list[str]:
    """config_flow.py: the manifest's config_flow matches the file; discoverable flows set a unique ID."""
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    file = path / "config_flow.py"
    errors: list[str] = []
    if not file.is_file():
        if manifest.get("config_flow"):
            errors.append("Config flows need to be defined in the file config_flow.py")
        return errors
    source = file.read_text(encoding="utf-8")
    if re.search(r"class \w+\([^)]*ConfigFlow[^)]*domain=", source) and not manifest.get("config_flow"):
        errors.append("config_flow.py defines a config flow but the manifest has no 'config_flow': true")
    discoverable = "async_step_hassio" in source or any(manifest.get(key) for key in DISCOVERY_KEYS)
    if discoverable and "self.async_set_unique_id" not in source:
        errors.append("Config flows that are discoverable need to set a unique ID")
    if manifest.get("single_config_entry") and not manifest.get("config_flow"):
        errors.append("single_config_entry needs a config flow")
    return errors


# --- quality_scale.py -----------------------------------------------------------------------------------------

#: ALL_RULES of hassfest's quality_scale.py (Home Assistant 2026.10), by tier.
QUALITY_SCALE_RULES: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ),
    "gold": (
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ),
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}
ALL_RULES = tuple(rule for rules in QUALITY_SCALE_RULES.values() for rule in rules)
QUALITY_SCALE_SCHEMA = vol.Schema(
    {
        vol.Required("rules"): vol.Schema(
            {
                vol.Optional(rule): vol.Any(
                    vol.In(["todo", "done"]),
                    vol.Schema({vol.Required("status"): vol.In(["todo", "done"]), vol.Required("comment"): str}),
                    vol.Schema({vol.Required("status"): "exempt", vol.Required("comment"): str}),
                )
                for rule in ALL_RULES
            }
        )
    }
)


def quality_scale_status(path: Path) -> dict[str, str]:
    """Each rule's status in quality_scale.yaml ("done", "todo", "exempt")."""
    data = load_yaml_dict(str(path / "quality_scale.yaml"))
    return {
        rule: value["status"] if isinstance(value, dict) else value for rule, value in data.get("rules", {}).items()
    }


def check_quality_scale(path: Path) -> list[str]:
    """quality_scale.py's schema and rule validators, plus: every rule of the current scale is listed."""
    file = path / "quality_scale.yaml"
    if not file.is_file():
        return ["Quality scale definition not found"]
    try:
        data = load_yaml_dict(str(file))
        QUALITY_SCALE_SCHEMA(data)
    except Exception as err:  # noqa: BLE001 - the finding
        return [f"Invalid quality_scale.yaml: {err}"]
    status = quality_scale_status(path)
    errors = [f"quality_scale.yaml does not list {rule}" for rule in ALL_RULES if rule not in status]
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    source = "\n".join(py.read_text(encoding="utf-8") for py in path.glob("*.py"))
    flow = (path / "config_flow.py").read_text(encoding="utf-8") if (path / "config_flow.py").is_file() else ""
    done = {rule for rule, value in status.items() if value == "done"}
    # The rule validators of hassfest's quality_scale_validation/ that apply to a custom integration.
    checks = {
        "config-flow": manifest.get("config_flow") is True,
        "runtime-data": "runtime_data" in source,
        "unique-config-entry": "async_set_unique_id" in flow or "single_config_entry" in manifest,
        "reauthentication-flow": "async_step_reauth" in flow,
        "reconfiguration-flow": "async_step_reconfigure" in flow,
        "diagnostics": (path / "diagnostics.py").is_file(),
        "brands": (path / "brand" / "icon.png").is_file(),
        "repair-issues": "async_create_issue" in source,
        "test-before-setup": "async_config_entry_first_refresh" in source or "ConfigEntryNotReady" in source,
        "config-entry-unloading": "async_unload_entry" in source,
        "parallel-updates": all(
            "PARALLEL_UPDATES" in py.read_text(encoding="utf-8")
            for py in path.glob("*.py")
            if py.stem in {platform.value for platform in Platform}
        ),
        "icon-translations": (path / "icons.json").is_file(),
        "exception-translations": "translation_key=" in source,
    }
    errors.extend(f"[{rule}] marked done but not implemented" for rule, ok in checks.items() if rule in done and not ok)
    return errors


def check_all(path: Path) -> dict[str, list[str]]:
    """Every rule for one custom integration folder: {rule: problems}."""
    return {
        "manifest": check_manifest(path),
        "translations": check_translations(path),
        "icons": check_icons(path),
        "services": check_services(path),
        "config_flow": check_config_flow(path),
        "quality_scale": check_quality_scale(path),
    }
