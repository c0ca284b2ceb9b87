"""``farm tenants``: check, list and show the farm described in TOML."""

from __future__ import annotations

import json
from typing import Any, NoReturn, cast

import click
from rich.console import Console
from rich.table import Table

from farm.cli.context import CliContext
from farm.config import Farm, FarmConfigError, SiteConfig, TenantConfig, TenantKind, load_farm
from farm.config.selection import SelectionError, close_matches, select_tenants

_KINDS = ("establishment", "netypareo")


@click.group()
def tenants() -> None:
    """Check, list and show the farm's sites and tenants.

    The farm is a folder (--farm-dir, default ./tenants) holding farm.toml and
    one TOML file per Moodle site; docs/configuration.md describes every key.

    \b
    Example:
      farm tenants check
      farm tenants list --tag academie:montpellier
      farm tenants show 0340041K
    """


@tenants.command()
@click.option(
    "--skip-secrets",
    is_flag=True,
    help="Do not resolve secret references (e.g. in CI, where the secrets are absent).",
)
@click.pass_obj
def check(obj: CliContext, skip_secrets: bool) -> None:
    """Validate the whole farm and report every problem at once.

    Each problem names the file, the line, the key and what to do. Secret
    references (env:NAME, file:PATH) are resolved to prove they exist; their
    values are never shown. A file: secret must be inside the farm folder or
    farm.toml's secrets_dir (symlinks resolved); one that others may read is
    a warning. Exit code 0 when the farm is valid, 1 otherwise.

    \b
    Example:
      farm --farm-dir tenants tenants check
      farm tenants check --skip-secrets
    """
    farm = _load(obj, resolve_secrets=not skip_secrets)
    sites = farm.sites.values()
    establishments = sum(1 for t in farm.tenants.values() if t.kind == "establishment")
    netypareo = len(farm.tenants) - establishments
    cites = sum(1 for site in sites if site.is_cite_scolaire)
    secrets = "not resolved" if skip_secrets else "all resolved"
    for warning in farm.warnings:
        click.echo(str(warning), err=True)
    if farm.warnings:
        secrets += f", {_plural(len(farm.warnings), 'warning')}"
    click.echo(
        f"{farm.settings.name}: valid. {_plural(len(farm.sites), 'site')}, "
        f"{_plural(len(farm.tenants), 'tenant')} ({establishments} establishments, "
        f"{netypareo} NetYpareo sites), {_plural(cites, 'cité scolaire', 'cités scolaires')}; "
        f"secrets {secrets}."
    )


@tenants.command(name="list")
@click.option("--tag", "tags", multiple=True, help="Only tenants with this tag (repeat: all).")
@click.option("--site", "sites", multiple=True, help="Only tenants of this site (repeat: any).")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(_KINDS), help="Only this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_obj
def list_tenants(
    obj: CliContext,
    tags: tuple[str, ...],
    sites: tuple[str, ...],
    kinds: tuple[str, ...],
    as_json: bool,
) -> None:
    """List tenants, all of them or those selected by tag, site and kind.

    \b
    Example:
      farm tenants list --tag academie:toulouse --kind establishment
      farm tenants list --site cfa-occitanie --json
    """
    farm = _load(obj)
    try:
        chosen = select_tenants(
            farm, tags=tags, sites=sites, kinds=cast(tuple[TenantKind, ...], kinds)
        )
    except SelectionError as exc:
        _fail(str(exc))
    if as_json:
        click.echo(json.dumps([_tenant_json(farm, tenant) for tenant in chosen], indent=2))
        return
    table = Table(title=f"{_plural(len(chosen), 'tenant')} of {farm.settings.name}")
    for column in ("id", "kind", "name", "site", "source", "tags"):
        table.add_column(column, no_wrap=column in ("id", "kind"))
    for tenant in chosen:
        table.add_row(
            tenant.id,
            tenant.kind,
            tenant.name,
            tenant.site,
            tenant.source,
            ", ".join(sorted(tenant.tags)),
        )
    _console().print(table)


@tenants.command()
@click.argument("tenant_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def show(obj: CliContext, tenant_id: str, as_json: bool) -> None:
    """Show one tenant and the settings of its site.

    ID is a UAI (any case) or a NetYpareo site id. The site's token is shown
    as its reference (env:NAME or file:PATH), never as a value.

    \b
    Example:
      farm tenants show 0340041K
      farm tenants show cfa-occ-toulouse --json
    """
    farm = _load(obj)
    tenant = farm.tenants.get(tenant_id) or farm.tenants.get(tenant_id.upper())
    if tenant is None:
        close = close_matches(tenant_id, farm.tenants)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        _fail(f"no tenant {tenant_id!r} in the farm{hint}; 'farm tenants list' shows them all")
    site = farm.site_of(tenant)
    if as_json:
        data = _tenant_json(farm, tenant)
        data["site"] = _site_json(site)
        click.echo(json.dumps(data, indent=2))
        return
    _print_tenant(farm, tenant, site)


def _print_tenant(farm: Farm, tenant: TenantConfig, site: SiteConfig) -> None:
    console = _console()
    rows: list[tuple[str, str]] = [
        ("id", tenant.id),
        ("kind", tenant.kind),
        ("name", tenant.name),
        ("source", tenant.source),
        ("tags", ", ".join(sorted(tenant.tags)) or "-"),
    ]
    if tenant.kind == "netypareo":
        rows.append(("NetYpareo site code", str(tenant.netypareo_code)))
        rows.append(
            ("usertype prefix", f"{tenant.usertype_prefix} (e.g. {tenant.usertype_prefix}teacher)")
        )
    schedules = farm.schedules_of(tenant)
    rows += [(f"schedule {task}", expression) for task, expression in schedules.items()]
    rows += [
        ("site", site.name),
        ("site file", str(site.file)),
        ("site URL", site.url),
        ("site token", str(site.token)),
        ("removal", site.removal),
        ("cohort retirement", site.cohort_retirement),
        ("mass removal threshold", f"{site.mass_removal_threshold:.0%}"),
        ("auth of the accounts", ", ".join(farm.auths_of(site)) or "none: set [site] auth"),
        ("new passwords", site.new_passwords or "-"),
        ("e-mail conflicts", site.email_conflicts),
    ]
    if site.roles:
        rows.append(("role ids", ", ".join(f"{n} = {i}" for n, i in sorted(site.roles.items()))))
    if site.is_cite_scolaire:
        others = [t.id for t in site.tenants if t.kind == "establishment" and t.id != tenant.id]
        rows.append(("cité scolaire with", ", ".join(others)))
    if site.profile_fields:
        rows.append(("profile fields", ", ".join(site.profile_fields)))
    rows += [(f"limit {key}", str(value)) for key, value in site.limits.model_dump().items()]
    table = Table(show_header=False, title=f"{tenant.id}: {tenant.name}")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, value)
    console.print(table)


def _tenant_json(farm: Farm, tenant: TenantConfig) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": tenant.id,
        "kind": tenant.kind,
        "name": tenant.name,
        "site": tenant.site,
        "source": tenant.source,
        "tags": sorted(tenant.tags),
        "schedules": dict(farm.schedules_of(tenant)),
    }
    if tenant.kind == "netypareo":
        data["netypareo_code"] = tenant.netypareo_code
        data["netypareo_index"] = tenant.netypareo_index
    return data


def _site_json(site: SiteConfig) -> dict[str, Any]:
    return {
        "name": site.name,
        "file": str(site.file),
        "url": site.url,
        "token": str(site.token),  # the reference, never the value
        "tags": sorted(site.tags),
        "cite_scolaire": site.is_cite_scolaire,
        "tenants": [tenant.id for tenant in site.tenants],
        "removal": site.removal,
        "cohort_retirement": site.cohort_retirement,
        "mass_removal_threshold": site.mass_removal_threshold,
        "auth": site.auth,
        "new_passwords": site.new_passwords,
        "email_conflicts": site.email_conflicts,
        "email_template": site.email_template,
        "roles": dict(site.roles),
        "profile_fields": list(site.profile_fields),
        "limits": site.limits.model_dump(),
    }


def _load(obj: CliContext, *, resolve_secrets: bool = False) -> Farm:
    try:
        return load_farm(obj.farm_dir, resolve_secrets=resolve_secrets)
    except FarmConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        count = len(exc.errors)
        _fail(f"{_plural(count, 'problem')} in {obj.farm_dir}: the farm was not loaded.")


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise SystemExit(1)


def _console() -> Console:
    console = Console()
    # Piped output (scripts, less) gets the full width instead of 80 folded columns.
    return console if console.is_terminal else Console(width=200)


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"
