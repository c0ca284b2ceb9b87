"""A deterministic NetYpareo data set: sites, groups, learners, trainers, tutors.

The same seed always gives the same data, so tests and the demo can name
learners by code. Ages spread from 15 to 32 on ``reference_date`` so that
every group mixes minors and majors; apprentices and contrat-pro learners
have an employer and a company tutor; continuing-education groups hold
auditeurs libres, saisonniers and conjoints.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

STATUSES: dict[str, str] = {
    "APP": "apprenti",
    "CPRO": "contrat pro",
    "IR": "inter-région",
    "SAIS": "saisonnier",
    "CONJ": "conjoint",
    "AL": "auditeur libre",
}
PROGRAMS: dict[str, tuple[str, str, int]] = {
    # code: (name, cursus stem, number of years)
    "BTSMCO": ("BTS Management commercial opérationnel", "BTS", 2),
    "BTSNDRC": ("BTS Négociation et digitalisation de la relation client", "BTS", 2),
    "CAPCUI": ("CAP Cuisine", "CAP", 2),
    "BPBOUL": ("BP Boulanger", "BP", 2),
    "BACPCV": ("Bac pro Métiers du commerce et de la vente", "BACPRO", 3),
    "LPRH": ("Licence pro Gestion des ressources humaines", "LP", 1),
}
CONTINUING: dict[str, str] = {
    "FCBUR": "Bureautique",
    "FCLANG": "Anglais professionnel",
    "FCHACCP": "Hygiène alimentaire HACCP",
}
SITE_NAMES = ("Montpellier", "Toulouse", "Perpignan", "Nîmes", "Albi", "Rodez", "Tarbes")
SITE_CODES = ("34", "31", "66", "30", "81", "12", "65")
FIRST_NAMES = (
    "Léa", "Hugo", "Chloé", "Lucas", "Inès", "Nathan", "Manon", "Enzo", "Camille", "Théo",
    "Jade", "Louis", "Zoé", "Gabriel", "Élise", "Rayan", "Anaïs", "Mathis", "Maëlys", "Noé",
)  # fmt: skip
LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Fabre", "Roux", "Mercier",
    "Bonnet", "Giraud", "Faure", "André", "Rousseau", "Blanc", "Guérin", "Muller", "Henry",
)  # fmt: skip
COMPANIES = (
    "Boulangerie du Peyrou", "Carrefour Market", "Hôtel des Arceaux", "Decathlon",
    "Brasserie du Capitole", "Crédit Agricole", "Leroy Merlin", "Pharmacie Comédie",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimSite:
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class SimGroup:
    code: int
    name: str
    cursus: str
    program: str
    step: str
    continuing: bool = False


@dataclass(frozen=True, slots=True)
class SimLearner:
    code: int
    lastname: str
    firstname: str
    birthdate: date
    email: str | None
    login: str
    status: str
    group: int


@dataclass(frozen=True, slots=True)
class SimTrainer:
    code: int
    lastname: str
    firstname: str
    email: str
    login: str
    groups: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SimTutor:
    code: int
    lastname: str
    firstname: str
    email: str | None
    login: str
    company: str
    learners: tuple[int, ...]


@dataclass(slots=True)
class Dataset:
    """What the simulated instance holds, by site code."""

    sites: list[SimSite] = field(default_factory=list)
    groups: dict[str, list[SimGroup]] = field(default_factory=dict)
    learners: dict[tuple[str, int], list[SimLearner]] = field(default_factory=dict)
    trainers: dict[str, list[SimTrainer]] = field(default_factory=dict)
    tutors: dict[str, list[SimTutor]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=lambda: dict(STATUSES))
    programs: dict[str, str] = field(default_factory=dict)

    def site_learners(self, site: str) -> list[SimLearner]:
        return [p for g in self.groups.get(site, []) for p in self.learners[(site, g.code)]]

    def learner(self, code: int) -> tuple[str, SimLearner]:
        for (site, _), people in self.learners.items():
            for person in people:
                if person.code == code:
                    return site, person
        raise KeyError(code)


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits only, for logins and e-mails."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.lower() if c.isascii() and c.isalnum())


def generate(
    seed: int = 0,
    *,
    sites: int = 4,
    groups_per_site: int = 4,
    pdgroups_per_site: int = 2,
    learners_per_group: int = 12,
    trainers_per_site: int = 5,
    reference_date: date = date(2026, 9, 1),
) -> Dataset:
    """Build a data set; the same arguments always give the same data."""
    if not 1 <= sites <= len(SITE_CODES):
        raise ValueError(f"sites must be between 1 and {len(SITE_CODES)}")
    rng = random.Random(seed)
    data = Dataset(programs={code: name for code, (name, _, _) in PROGRAMS.items()})
    data.programs.update({code: f"Formation continue {name}" for code, name in CONTINUING.items()})
    counters = {"group": 1000, "learner": 50_000, "trainer": 700, "tutor": 9000}

    def next_code(kind: str) -> int:
        counters[kind] += 1
        return counters[kind]

    def person_name() -> tuple[str, str]:
        return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)

    shared_trainer: SimTrainer | None = None
    for index in range(sites):
        site = SimSite(SITE_CODES[index], f"CFA {SITE_NAMES[index]}")
        data.sites.append(site)
        groups: list[SimGroup] = []
        program_codes = rng.sample(sorted(PROGRAMS), k=min(groups_per_site, len(PROGRAMS)))
        for program in program_codes[:groups_per_site]:
            name, stem, years = PROGRAMS[program]
            step = rng.randint(1, years)
            groups.append(
                SimGroup(
                    next_code("group"),
                    f"{name} {step}A {SITE_NAMES[index]}",
                    f"{stem}{step}",
                    program,
                    str(step),
                )
            )
        for program in rng.sample(sorted(CONTINUING), k=min(pdgroups_per_site, len(CONTINUING))):
            groups.append(
                SimGroup(
                    next_code("group"),
                    f"{CONTINUING[program]} {SITE_NAMES[index]}",
                    "FC",
                    program,
                    str(reference_date.year),
                    continuing=True,
                )
            )
        data.groups[site.code] = groups

        tutors: dict[str, list[int]] = {}
        tutor_names: dict[str, tuple[str, str]] = {}
        for group in groups:
            people: list[SimLearner] = []
            for _ in range(learners_per_group):
                first, last = person_name()
                code = next_code("learner")
                if group.continuing:
                    status = rng.choice(("AL", "SAIS", "CONJ"))
                    age_days = rng.randint(19 * 365, 50 * 365)
                else:
                    status = rng.choices(("APP", "CPRO", "IR"), weights=(7, 2, 1))[0]
                    age_days = rng.randint(15 * 365, 32 * 365)
                login = f"{ascii_slug(first)[:1]}{ascii_slug(last)}{code}"
                people.append(
                    SimLearner(
                        code,
                        last,
                        first,
                        reference_date - timedelta(days=age_days),
                        f"{login}@apprenant.example.fr",
                        login,
                        status,
                        group.code,
                    )
                )
                if status in ("APP", "CPRO"):
                    company = rng.choice(COMPANIES)
                    tutors.setdefault(company, []).append(code)
                    tutor_names.setdefault(company, person_name())
            data.learners[(site.code, group.code)] = people

        data.tutors[site.code] = []
        for company in sorted(tutors):
            first, last = tutor_names[company]
            code = next_code("tutor")
            login = f"{ascii_slug(first)}.{ascii_slug(last)}.{code}"
            data.tutors[site.code].append(
                SimTutor(
                    code,
                    last,
                    first,
                    f"{login}@entreprise.example.fr",
                    login,
                    company,
                    tuple(tutors[company]),
                )
            )

        trainers: list[SimTrainer] = []
        for n in range(trainers_per_site):
            first, last = person_name()
            code = next_code("trainer")
            login = f"{ascii_slug(first)}.{ascii_slug(last)}"
            taught = tuple(g.code for g in groups[n % len(groups) :: trainers_per_site])
            trainers.append(SimTrainer(code, last, first, f"{login}@cfa.example.fr", login, taught))
        # One trainer teaches on two sites, as happens in a CFA network.
        if shared_trainer is not None:
            trainers.append(
                SimTrainer(
                    shared_trainer.code,
                    shared_trainer.lastname,
                    shared_trainer.firstname,
                    shared_trainer.email,
                    shared_trainer.login,
                    (groups[0].code,),
                )
            )
        elif trainers:
            shared_trainer = trainers[0]
        data.trainers[site.code] = trainers
    return data
