"""``farm sites``: pre-flight checks of the Moodle sites' web services."""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import anyio
import click

from farm.cli.context import CliContext
from farm.config import Farm, FarmConfigError, SiteConfig, load_farm
from farm.config.problems import key_path
from farm.moodle import CoursePattern, SiteCheck, SiteTarget, check_sites
from farm.secrets import SecretError


@click.group()
def sites() -> None:
    """Pre-flight checks of the Moodle sites' web services.

    \b
    Example:
      farm sites check
      farm sites check --json lycee-arago-perpignan
    """


@sites.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per site, in a list.")
@click.pass_obj
def check(obj: CliContext, names: tuple[str, ...], as_json: bool) -> None:
    """Check every site (or the NAMES given) concurrently, one line per site.

    For each site: the token is valid, the Moodle release, the web-service
    functions missing from the token's service, the custom profile fields
    missing on the site, whether the site keeps form_fields_per_request form
    fields (PHP's max_input_vars), whether the auth plugin of the site's
    accounts is installed (CAS is no longer part of Moodle 5.0), whether
    each role id of [site.roles] is a role the token can assign, and the
    round-trip time of one call. When the directories' course rules declare
    courses, it counts the site's courses each course template names and
    warns for a template that names none; it looks up the categories the
    role rules name (core_course_get_categories must then be in the
    token's service) and warns for those missing. A warning does not fail
    the check: the links of a missing course are skipped, counted in each
    run's report, until the course is made. The profile-field check writes a marker
    into the token's own account and restores it; the auth check creates a
    suspended throwaway account and deletes it at once. Exit code 0 when
    every site is ready, 1 otherwise.

    \b
    Example:
      farm sites check
      farm sites check --json | jq '.[] | select(.ok | not)'
    """
    # Results go to stdout, logs to stderr (farm.logs; retries are one INFO line each,
    # hidden by default). Each result line is flushed whole, so that `> out 2>&1`
    # never glues a log line to half a result.
    farm = _load(obj)
    unknown = [name for name in names if name not in farm.sites]
    if unknown:
        _fail(f"unknown site(s): {', '.join(unknown)}; known: {', '.join(sorted(farm.sites))}")
    chosen = [farm.sites[name] for name in names] if names else list(farm.sites.values())
    ready: list[SiteTarget] = []
    unreadable: list[SiteCheck] = []
    for site in chosen:
        try:
            ready.append(_target(farm, site))
        except SecretError as exc:
            unreadable.append(SiteCheck(site.name, site.url, error=f"token {site.token}: {exc}"))
    checked = {c.site: c for c in [*anyio.run(check_sites, ready), *unreadable]}
    results = [checked[site.name] for site in chosen]
    if as_json:
        _say(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        for result in results:
            _say(result.line())
    if not all(r.ok for r in results):
        raise SystemExit(1)


def _say(line: str) -> None:
    click.echo(line)
    sys.stdout.flush()


def _target(farm: Farm, site: SiteConfig) -> SiteTarget:
    return SiteTarget(
        name=site.name,
        url=site.url,
        token=site.token.resolve(),
        limits=site.limits,
        profile_fields=site.profile_fields,
        auths=farm.auths_of(site),
        roles=dict(site.roles),
        course_patterns=_course_patterns(farm, site),
        categories=tuple(
            sorted(
                {
                    idnumber
                    for tenant in site.tenants
                    if tenant.kind == "establishment" and tenant.source in farm.directories
                    for idnumber in farm.directories[tenant.source].courses.categories(tenant.id)
                }
            )
        ),
    )


def _course_patterns(farm: Farm, site: SiteConfig) -> tuple[CoursePattern, ...]:
    """The course templates of the directories the site's establishments read."""
    uais: dict[str, list[str]] = {}
    for tenant in site.tenants:
        if tenant.kind == "establishment" and tenant.source in farm.directories:
            uais.setdefault(tenant.source, []).append(tenant.id)
    return tuple(
        CoursePattern(
            key=key_path(("directories", name, "courses", *loc)),
            template=template,
            match=match,
            uais=tuple(sorted(ids)),
        )
        for name, ids in sorted(uais.items())
        for loc, match, template in farm.directories[name].courses.course_patterns()
    )


def _load(obj: CliContext) -> Farm:
    try:
        return load_farm(obj.farm_dir)
    except FarmConfigError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        count = len(exc.problems)
        plural = "s" if count != 1 else ""
        _fail(f"{count} problem{plural} in {obj.farm_dir}: the farm was not loaded.")


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    raise SystemExit(1)
