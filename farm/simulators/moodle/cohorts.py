"""Cohort functions: unique idnumber on create, per-item member warnings."""

from __future__ import annotations

from typing import Any

from farm.simulators.moodle.catalogue import function
from farm.simulators.moodle.encoding import Multiple, Single, Value
from farm.simulators.moodle.errors import invalid_parameter, missing_record, unknown_user
from farm.simulators.moodle.state import SYSTEM_CONTEXT, CohortRow, Site

_CATEGORYTYPE = Single({"type": Value("text"), "value": Value("text")})

CREATE = Single(
    {
        "cohorts": Multiple(
            Single(
                {
                    "categorytype": _CATEGORYTYPE,
                    "name": Value("text"),
                    "idnumber": Value("text"),
                    "description": Value("text", required=False),
                    "descriptionformat": Value("int", required=False),
                    "visible": Value("bool", required=False),
                    "theme": Value("text", required=False),
                }
            )
        )
    }
)


def _context(site: Site, categorytype: dict[str, str]) -> int:
    kind, value = categorytype["type"], categorytype["value"]
    if kind == "system":
        return SYSTEM_CONTEXT
    if kind == "id" and value.isdigit() and int(value) in site.categories:
        return site.categories[int(value)]
    raise invalid_parameter(f"category not found: {kind}={value}")


def cohort_details(cohort: CohortRow) -> dict[str, Any]:
    return {
        "id": cohort.id,
        "name": cohort.name,
        "idnumber": cohort.idnumber,
        "description": cohort.description,
        "descriptionformat": 1,
        "visible": cohort.visible,
        "theme": "",
    }


@function("core_cohort_create_cohorts", CREATE, counts="cohorts")
def create_cohorts(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    taken = {c.idnumber for c in site.cohorts.values()}
    pending = []
    for item in params["cohorts"]:
        if item["idnumber"] in taken:
            raise invalid_parameter(f"record already exists: idnumber={item['idnumber']}")
        taken.add(item["idnumber"])
        pending.append(
            CohortRow(
                id=0,
                contextid=_context(site, item["categorytype"]),
                name=item["name"],
                idnumber=item["idnumber"],
                description=item.get("description") or "",
                visible=item.get("visible", True),
            )
        )
    for cohort in pending:
        cohort.id = site.new_id()
        site.cohorts[cohort.id] = cohort
    return [cohort_details(c) for c in pending]


UPDATE = Single(
    {
        "cohorts": Multiple(
            Single(
                {
                    "id": Value("int"),
                    "categorytype": _CATEGORYTYPE,
                    "name": Value("text"),
                    "idnumber": Value("text", required=False),
                    "description": Value("text", required=False),
                    "descriptionformat": Value("int", required=False),
                    "visible": Value("bool", required=False),
                    "theme": Value("text", required=False),
                }
            )
        )
    }
)


@function("core_cohort_update_cohorts", UPDATE, counts="cohorts")
def update_cohorts(site: Site, params: dict[str, Any]) -> None:
    for item in params["cohorts"]:
        cohort = site.cohorts.get(item["id"])
        if cohort is None:
            raise missing_record("cohort")
        idnumber = item.get("idnumber")
        if idnumber and any(
            c.idnumber == idnumber and c.id != cohort.id for c in site.cohorts.values()
        ):
            raise invalid_parameter(f"record already exists: idnumber={idnumber}")
        cohort.contextid = _context(site, item["categorytype"])
        cohort.name = item["name"]
        if idnumber is not None:
            cohort.idnumber = idnumber
        if "description" in item:
            cohort.description = item["description"]
        if "visible" in item:
            cohort.visible = item["visible"]


@function("core_cohort_delete_cohorts", Single({"cohortids": Multiple(Value("int"))}), "cohortids")
def delete_cohorts(site: Site, params: dict[str, Any]) -> None:
    for cohortid in params["cohortids"]:
        if cohortid not in site.cohorts:
            raise missing_record("cohort")
    for cohortid in params["cohortids"]:
        del site.cohorts[cohortid]


@function(
    "core_cohort_get_cohorts",
    Single({"cohortids": Multiple(Value("int"), required=False, default=[])}),
    "cohortids",
)
def get_cohorts(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    wanted = params["cohortids"]
    if not wanted:
        return [cohort_details(c) for c in site.cohorts.values()]
    return [cohort_details(site.cohorts[i]) for i in wanted if i in site.cohorts]


SEARCH = Single(
    {
        "query": Value("text"),
        "context": Single(
            {
                "contextid": Value("int", required=False),
                "contextlevel": Value("text", required=False),
                "instanceid": Value("int", required=False),
            }
        ),
        "includes": Value("text", required=False, default="parents"),
        "limitfrom": Value("int", required=False, default=0),
        "limitnum": Value("int", required=False, default=25),
    }
)


@function("core_cohort_search_cohorts", SEARCH)
def search_cohorts(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    query = params["query"].lower()
    found = [
        cohort_details(c)
        for c in site.cohorts.values()
        if query in c.name.lower() or query in c.idnumber.lower()
    ]
    start = params["limitfrom"]
    return {"cohorts": found[start : start + params["limitnum"]]}


ADD_MEMBERS = Single(
    {
        "members": Multiple(
            Single(
                {
                    "cohorttype": Single({"type": Value("text"), "value": Value("text")}),
                    "usertype": Single({"type": Value("text"), "value": Value("text")}),
                }
            )
        )
    }
)


@function("core_cohort_add_cohort_members", ADD_MEMBERS, counts="members")
def add_cohort_members(site: Site, params: dict[str, Any]) -> dict[str, Any]:
    warnings: list[dict[str, Any]] = []

    def warn(code: str, message: str) -> None:
        warnings.append({"warningcode": code, "message": message})

    for item in params["members"]:
        ctype, cvalue = item["cohorttype"]["type"], item["cohorttype"]["value"]
        utype, uvalue = item["usertype"]["type"], item["usertype"]["value"]
        if ctype not in ("id", "idnumber"):
            warn("1", f"invalid parameter: cohortype={ctype}")
            continue
        if utype not in ("id", "username"):
            warn("1", f"invalid parameter: usertype={utype}")
            continue
        if ctype == "id":
            cohort = site.cohorts.get(int(cvalue)) if cvalue.isdigit() else None
        else:
            cohort = site.cohort_by_idnumber(cvalue)
        if cohort is None:
            warn("2", f"cohort {ctype}={cvalue} not exists")
            continue
        if utype == "id":
            user = site.users.get(int(uvalue)) if uvalue.isdigit() else None
        else:
            user = site.user_by_username(uvalue)
        if user is None or user.deleted:
            warn("2", f"user {utype}={uvalue} not exists")
            continue
        if user.id in cohort.members:
            warn("3", f"record already exists: cohort({ctype}={cvalue} {utype}={uvalue})")
            continue
        cohort.members.add(user.id)
    return {"warnings": warnings}


DELETE_MEMBERS = Single(
    {"members": Multiple(Single({"cohortid": Value("int"), "userid": Value("int")}))}
)


@function("core_cohort_delete_cohort_members", DELETE_MEMBERS, counts="members")
def delete_cohort_members(site: Site, params: dict[str, Any]) -> None:
    for item in params["members"]:
        if item["cohortid"] not in site.cohorts:
            raise missing_record("cohort")
        user = site.users.get(item["userid"])
        if user is None or user.deleted:
            raise unknown_user(item["userid"])
    for item in params["members"]:
        site.cohorts[item["cohortid"]].members.discard(item["userid"])


@function(
    "core_cohort_get_cohort_members", Single({"cohortids": Multiple(Value("int"))}), "cohortids"
)
def get_cohort_members(site: Site, params: dict[str, Any]) -> list[dict[str, Any]]:
    answer = []
    for cohortid in params["cohortids"]:
        cohort = site.cohorts.get(cohortid)
        if cohort is None:
            raise missing_record("cohort")
        answer.append({"cohortid": cohortid, "userids": sorted(cohort.members)})
    return answer
