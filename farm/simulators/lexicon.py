"""The words a generated directory is made of.

French first and last names (accents, hyphens, apostrophes), disciplines
with their codes, staff functions with their profiles, class levels and
groups. :mod:`farm.simulators.directory` draws from them with a seeded
random generator, so their order is part of what a seed produces.
"""

from __future__ import annotations

FIRST_NAMES = (
    "Élodie",
    "Zoé",
    "Jérôme",
    "Anaïs",
    "François",
    "Chloé",
    "Noël",
    "Maëlys",
    "Jean-Baptiste",
    "Marie-Hélène",
    "Léa",
    "Hugo",
    "Inès",
    "Théo",
    "Gaëlle",
    "Loïc",
    "Cécile",
    "Benoît",
    "Aurélie",
    "Mathéo",
    "Jade",
    "Lucas",
    "Emma",
    "Nathan",
    "Camille",
    "Yanis",
    "Sarah",
    "Kévin",
    "Océane",
    "Anne-Sophie",
    "Hélène",
    "Raphaël",
    "Ambre",
    "Timothée",
    "Salomé",
    "Rémi",
    "Agathe",
    "Joël",
)
LAST_NAMES = (
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "D'ALMEIDA",
    "LE GOFF",
    "N'DIAYE",
    "DUPONT-MOREAU",
    "MÜLLER",
    "O'NEILL",
    "FAURE",
    "GAUTHIER",
    "LEFÈVRE",
    "GIRARD",
    "BONNET",
    "ROUSSEL",
    "DE LA FONTAINE",
    "CHEVALIER",
    "GARNIER",
    "LAMBERT",
    "FRANÇOIS",
    "MERCIER",
    "BOYER",
    "BLANC",
    "GUÉRIN",
    "MULLER-KLEIN",
    "L'HERMITE",
)
DISCIPLINES = (
    ("L1300", "MATHEMATIQUES"),
    ("L0422", "ANGLAIS"),
    ("L0201", "LETTRES MODERNES"),
    ("L1000", "HISTOIRE GEOGRAPHIE"),
    ("L1500", "PHYSIQUE CHIMIE"),
    ("L1600", "SVT"),
)
STAFF_FUNCTIONS = (
    ("DIR", "DIRECTION", "National_DIR"),
    ("EDU", "EDUCATION", "National_EVS"),
    ("ADM", "ADMINISTRATION", "National_ETA"),
    ("ADM", "ADMINISTRATION", "National_6"),
)
COLLEGE_LEVELS = ("6EME", "5EME", "4EME", "3EME")
LYCEE_LEVELS = ("2NDE", "1ERE G", "TLE G")
# ENTEleveNivFormation of each level, as the académies' exports write it.
LEVEL_LABELS = {
    "6EME": "6EME",
    "5EME": "5EME",
    "4EME": "4EME",
    "3EME": "3EME",
    "2NDE": "SECONDE GENERALE & TECHNO YC BT",
    "1ERE G": "PREMIERE GENERALE",
    "TLE G": "TERMINALE GENERALE",
}
GROUPS = ("LATIN", "EURO ANGLAIS", "ESP LV2")
