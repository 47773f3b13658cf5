"""HACS's repository checks for the integration category, run on a repository's working tree.

hacs/action runs the validators of hacs/integration (``custom_components/hacs/validate/``) against the
GitHub repository. The ones that read files are ported as they are; the ones that read the repository's
GitHub settings (description, topics, issues, archived, license detection) are checked against
``.github/settings.yml`` and the LICENSE file, which is where this project keeps those settings.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import probatio as vol
from awesomeversion import AwesomeVersion
from homeassistant.helpers import config_validation as cv
from homeassistant.util.yaml import load_yaml_dict
from probatio.humanize import humanize_error

#: hacs/integration utils/validate.py HACS_MANIFEST_JSON_SCHEMA; "country" takes ISO 3166 codes.
HACS_JSON_SCHEMA = vol.Schema(
    {
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any(vol.Match(r"^[A-Za-z]{2}$"), [vol.Match(r"^[A-Za-z]{2}$")]),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): str,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): str,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
        vol.Required("name"): str,
    },
    extra=vol.PREVENT_EXTRA,
)
#: utils/validate.py INTEGRATION_MANIFEST_JSON_SCHEMA.
INTEGRATION_MANIFEST_SCHEMA = vol.Schema(
    {
        vol.Required("codeowners"): list,
        vol.Required("documentation"): cv.url,
        vol.Required("domain"): str,
        vol.Required("issue_tracker"): cv.url,
        vol.Required("name"): str,
        vol.Required("version"): vol.Coerce(AwesomeVersion),
    },
    extra=vol.ALLOW_EXTRA,
)
#: validate/license.py POPULAR_OSI_APPROVED_LICENSES (the SPDX ids HACS accepts without the full list).
POPULAR_OSI_APPROVED_LICENSES = frozenset(
    {
        "Apache-2.0",
        "BSD-2-Clause",
        "BSD-3-Clause",
        "CDDL-1.0",
        "EPL-2.0",
        "GPL-2.0",
        "GPL-3.0",
        "LGPL-2.1",
        "LGPL-3.0",
        "MIT",
        "MPL-2.0",
    }
)
#: The first lines by which GitHub's license detection (licensee) recognises these licenses' texts.
LICENSE_MARKERS = {
    "Apache-2.0": ("Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE"),
    "MIT": ("Permission is hereby granted, free of charge",),
}


def tracked_files(root: Path) -> list[str]:
    """The repository's files as a push would send them (git's view), relative paths; all files outside git."""
    if not (root / ".git").exists():
        return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [line for line in out.splitlines() if (root / line).exists()]


def content_path(root: Path, hacs: dict[str, Any], files: list[str]) -> tuple[str | None, list[str]]:
    """repositories/integration.py validate_repository: the integration's folder, or the structure error."""
    if hacs.get("content_in_root"):
        return "", []
    folders = sorted(
        {path.split("/")[1] for path in files if path.startswith("custom_components/") and path.count("/") >= 2}
    )
    if not folders:
        return None, ["Repository structure is not compliant: no folder under custom_components/"]
    errors = []
    if len(folders) > 1:
        errors.append(f"custom_components/ holds {folders}: HACS installs only the first folder it lists")
    return f"custom_components/{folders[0]}", errors


def check_hacs(root: Path) -> dict[str, list[str]]:
    """Every HACS check of the integration category on ``root``: {check: problems}."""
    files = tracked_files(root)
    results: dict[str, list[str]] = {}

    # hacsjson
    errors: list[str] = []
    hacs: dict[str, Any] = {}
    if "hacs.json" not in files:
        errors.append("The repository has no 'hacs.json' file")
    else:
        try:
            hacs = json.loads((root / "hacs.json").read_text(encoding="utf-8"))
            HACS_JSON_SCHEMA(hacs)
        except ValueError as err:
            errors.append(f"The repository has an invalid 'hacs.json' file: {err}")
        except vol.Invalid as err:
            errors.append(humanize_error(hacs, err))
        if hacs.get("zip_release") and not hacs.get("filename"):
            errors.append("zip_release is True, but filename is not set")
    results["hacsjson"] = errors

    # structure (repositories/integration.py) and integration_manifest
    content, errors = content_path(root, hacs, files)
    manifest: dict[str, Any] = {}
    manifest_path = f"{content}/manifest.json".lstrip("/") if content is not None else None
    if manifest_path is None or manifest_path not in files:
        results["integration_manifest"] = ["The repository has no 'manifest.json' file"]
    else:
        manifest = json.loads((root / manifest_path).read_text(encoding="utf-8"))
        try:
            INTEGRATION_MANIFEST_SCHEMA(manifest)
            results["integration_manifest"] = []
        except vol.Invalid as err:
            results["integration_manifest"] = [humanize_error(manifest, err)]
        if content is not None and manifest.get("domain") != content.rsplit("/", 1)[-1]:
            errors.append("The manifest's domain is not the name of its folder: HACS installs it under the domain")
    results["structure"] = errors

    # brands: the integration provides brand/icon.png (else HACS asks the brands repository)
    icon = f"{content}/brand/icon.png".lstrip("/") if content is not None else "brand/icon.png"
    results["brands"] = [] if icon in files else [f"The repository does not contain brands assets at {icon}"]

    # information
    names = {Path(path).name.lower() for path in files if "/" not in path}
    results["information"] = (
        [] if names & {"readme", "readme.md", "info", "info.md"} else ["The repository has no information file"]
    )

    # license: GitHub must detect an OSI-approved SPDX id; it must also be the one pyproject.toml declares.
    errors = []
    license_file = next((path for path in files if re.fullmatch(r"(?i)(licen[cs]e|copying)(\.(md|txt))?", path)), None)
    declared = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("project", {}).get("license")
    if license_file is None:
        errors.append("The repository has no license")
    else:
        text = (root / license_file).read_text(encoding="utf-8")
        detected = next((spdx for spdx, marks in LICENSE_MARKERS.items() if all(mark in text for mark in marks)), None)
        if detected is None:
            errors.append("The repository license could not be identified (SPDX: NOASSERTION)")
        elif detected not in POPULAR_OSI_APPROVED_LICENSES:
            errors.append(f"The repository does not have an OSI-approved license (detected: '{detected}')")
        elif declared != detected:
            errors.append(f"LICENSE is {detected} but pyproject.toml declares {declared!r}")
    results["license"] = errors

    # description, topics, issues, archived: the GitHub settings, kept in .github/settings.yml
    settings_file = root / ".github" / "settings.yml"
    repository = load_yaml_dict(str(settings_file)).get("repository", {}) if settings_file.is_file() else {}
    results["description"] = [] if repository.get("description") else ["The repository has no description"]
    results["topics"] = [] if repository.get("topics") else ["The repository has no valid topics"]
    results["issues"] = [] if repository.get("has_issues", True) else ["The repository does not have issues enabled"]
    results["archived"] = ["The repository is archived"] if repository.get("archived") else []
    return results
