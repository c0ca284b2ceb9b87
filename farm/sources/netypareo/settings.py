"""Settings of one NetYpareo endpoint, as written in ``farm.toml`` (``[netypareo.NAME]``).

Each customer's WSDL is private, so nothing about it is hard-wired in code:
``operations`` names the SOAP operations and their arguments, ``fields``
names the elements read from the answers. Both default to the contract of
the farm's simulator (``farm/simulators/netypareo``); an operator only writes
the names that differ on their customer's instance, e.g.::

    [netypareo.occitanie]
    wsdl = "https://cfa.example.ymag.cloud/ws?wsdl"
    token = "env:NETYPAREO_OCC_TOKEN"
    usertype_prefix = true

    [netypareo.occitanie.operations]
    learners = "getApprenantsDuGroupe"

    [netypareo.occitanie.fields]
    learner_status = "codeStatutApprenant"
"""

from __future__ import annotations

from string import Formatter
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from farm.secrets import SecretReference

PLACEHOLDERS: Final = frozenset(
    {"login", "code", "kind", "firstname", "lastname", "email", "endpoint"}
)
COURSE_PLACEHOLDERS: Final = frozenset({"code", "cursus", "program", "step", "site", "tenant"})
"""What ``group_course`` may name: the group's code, short name, program code and year, the
NetYpareo site's code and the tenant id."""


class NetYpareoOperations(BaseModel):
    """SOAP operation and argument names of one customer's WSDL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sites: str = Field("getSites", description="all sites of the instance; no argument")
    groups: str = Field("getGroupes", description="apprenticeship groups of one site")
    pdgroups: str = Field(
        "getGroupesFormationContinue", description="continuing-education groups of one site"
    )
    learners: str = Field("getApprenantsGroupe", description="learners of one group of one site")
    trainers: str = Field("getFormateurs", description="trainers of one site")
    tutors: str = Field("getTuteurs", description="company tutors of one site")
    statuses: str = Field("getStatuts", description="reference table of learner statuses")
    programs: str = Field("getFormations", description="reference table of programs")
    site_argument: str = Field("codeSite", description="argument that names a site")
    group_argument: str = Field("codeGroupe", description="argument that names a group")


class NetYpareoFields(BaseModel):
    """Element names read from the answers, one per fact the farm uses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site_code: str = "codeSite"
    site_name: str = "nomSite"
    group_code: str = "codeGroupe"
    group_name: str = "nomGroupe"
    group_cursus: str = Field("abregeGroupe", description="short name, e.g. BTS1")
    group_program: str = Field("codeFormation", description="program code of the group")
    group_step: str = Field("anneeFormation", description="year in the cursus or millésime")
    learner_code: str = "codeApprenant"
    learner_lastname: str = "nomApprenant"
    learner_firstname: str = "prenomApprenant"
    learner_birthdate: str = Field("dateNaissance", description="xsd:date or dd/mm/yyyy")
    learner_email: str = "email"
    learner_login: str = "login"
    learner_status: str = Field("codeStatut", description="code looked up in the statuses table")
    trainer_code: str = "codePersonnel"
    trainer_lastname: str = "nomPersonnel"
    trainer_firstname: str = "prenomPersonnel"
    trainer_email: str = "email"
    trainer_login: str = "login"
    trainer_groups: str = Field("codesGroupe", description="list of the group codes taught")
    tutor_code: str = "codeInterlocuteur"
    tutor_lastname: str = "nomInterlocuteur"
    tutor_firstname: str = "prenomInterlocuteur"
    tutor_email: str = "email"
    tutor_login: str = "login"
    tutor_company: str = "nomEntreprise"
    tutor_learners: str = Field("codesApprenant", description="list of the learners tutored")
    status_code: str = "codeStatut"
    status_label: str = Field("nomStatut", description="apprenti, contrat pro, ...")
    program_code: str = "codeFormation"
    program_name: str = "nomFormation"


class NetYpareoValues(BaseModel):
    """Values written to the netypareo_usertype and netypareo_ouverage profile fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: str = "student"
    teacher: str = "teacher"
    tutor: str = "tutor"
    major: str = "major"
    minor: str = "minor"


class NetYpareoSettings(BaseModel):
    """One customer's NetYpareo web service; each of its sites is a tenant.

    Account templates take ``{login}``, ``{code}``, ``{kind}`` (apprenant,
    formateur, tuteur), ``{firstname}``, ``{lastname}``, ``{email}`` and
    ``{endpoint}``. Usernames are lower-cased and stripped of accents and of
    characters Moodle refuses; ``username_fallback`` is used when the first
    template gives nothing (no NetYpareo login).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    wsdl: str = Field(description="URL of the customer's WSDL, or a path to a pinned copy")
    endpoint: str | None = Field(None, description="service address, when not the WSDL's")
    token: SecretReference | None = Field(None, description="env:NAME or file:PATH")
    token_header: str = Field("X-Auth-Token", description="HTTP header carrying the token")
    timeout: float = Field(60.0, gt=0, description="seconds per SOAP call")
    wsdl_timeout: float = Field(60.0, gt=0, description="seconds to fetch the WSDL")
    retries: int = Field(5, ge=0, le=20, description="attempts after a 502/503 or transport error")
    retry_wait_initial: float = Field(1.0, ge=0, description="first back-off, seconds")
    retry_wait_max: float = Field(30.0, ge=0, description="longest back-off, seconds")
    concurrency: int = Field(1, ge=1, le=16, description="calls in flight to this endpoint")
    reference_ttl: float = Field(
        3600.0, ge=0, description="seconds statuses and programs stay cached; 0 reloads each read"
    )
    operations: NetYpareoOperations = Field(
        default_factory=NetYpareoOperations,
        description="operation names, when they differ from the defaults",
    )
    fields: NetYpareoFields = Field(
        default_factory=NetYpareoFields, description="answer element names"
    )
    values: NetYpareoValues = Field(
        default_factory=NetYpareoValues, description="profile field values"
    )
    usertype_prefix: bool = Field(
        False, description="prefix netypareo_usertype with the site index (0teacher, 1teacher)"
    )
    auth: str | None = Field(
        None, description="Moodle auth plugin of the accounts; by default the site's [site] auth"
    )
    username: str = Field("{login}", description="username template")
    username_fallback: str = Field("ny.{kind}.{code}", description="when username gives nothing")
    idnumber: str = Field("netypareo:{kind}:{code}", description="Moodle idnumber template")
    email_fallback: str | None = Field(
        None, description="e-mail template for people without one; none keeps it empty"
    )
    program_courses: dict[str, str] = Field(
        default_factory=dict, description="program code -> course idnumber to enrol in"
    )
    group_courses: dict[str, str] = Field(
        default_factory=dict, description="group code -> course idnumber to enrol in"
    )
    group_course: str | None = Field(
        None,
        description="course idnumber of each group, a template over "
        + ", ".join(f"{{{name}}}" for name in sorted(COURSE_PLACEHOLDERS))
        + " (e.g. '{tenant}-{code}'); group_courses and program_courses add to it",
    )
    student_role: str = Field("student", description="role of learners in mapped courses")
    teacher_role: str = Field("editingteacher", description="role of trainers in mapped courses")
    tutor_role: str | None = Field(
        None,
        description="role of a company tutor in each apprentice's user context (e.g. 'parent', "
        "which the site must have: [site.roles]); none gives tutors no role",
    )

    @model_validator(mode="before")
    @classmethod
    def _prefix_is_the_farms(cls, data: Any) -> Any:
        if isinstance(data, dict) and "cohort_prefix" in data:
            raise ValueError(
                "the cohort prefix is the farm's: set cohort_prefix in farm.toml's [farm] "
                "table (NetYpareo cohorts extend it with netypareo:<tenant>:...)"
            )
        return data

    @field_validator("username", "username_fallback", "idnumber", "email_fallback")
    @classmethod
    def _known_placeholders(cls, template: str | None) -> str | None:
        return _checked(template, PLACEHOLDERS)

    @field_validator("group_course")
    @classmethod
    def _course_placeholders(cls, template: str | None) -> str | None:
        return _checked(template, COURSE_PLACEHOLDERS)


def _checked(template: str | None, known: frozenset[str]) -> str | None:
    """``template`` when it names only ``known`` placeholders, else a ValueError saying which."""
    if template is None:
        return None
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"malformed template {template!r}: {exc}") from None
    unknown = names - known
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join(sorted(unknown))} in {template!r}; "
            f"use {', '.join(sorted(known))}"
        )
    return template
