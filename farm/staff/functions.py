"""The function codes of staff files (``FONCTION_FILIERE``), as seed 004 lists them, §4.1.B.

Each code has the seed's short and long labels and the profile La Vie
Scolaire gives it. Two codes are special:

* ``ENS`` (teaching in front of pupils) is the teachers' node of the
  hierarchy: a staff file refuses it, teachers go in a teachers file;
* ``TOS`` (agents of the local authorities) is "ne pas exporter": such rows
  are left out of the import.

The function sets the person's role in the establishment: ``DIR`` gives the
manager role (:data:`MANAGER_ROLE`, the seed's "profil administrateur au
niveau de la hiérarchie"); every other code gives no role beyond the
account (the seed's "profil enseignant").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

MANAGER_ROLE: Final = "manager"
"""The Moodle role (shortname) ``DIR`` gives in the establishment."""


@dataclass(frozen=True, slots=True)
class FunctionCode:
    code: str
    short_label: str
    long_label: str
    lvs_profile: str
    role: str | None = None

    @property
    def exported(self) -> bool:
        """False for ``TOS``: the seed does not export the agents of local authorities."""
        return self.code != "TOS"

    @property
    def for_staff(self) -> bool:
        """False for ``ENS``: teaching is the teachers' file, not the staff's."""
        return self.code != "ENS"

    @property
    def label(self) -> str:
        """The long label in sentence case, for cohort names (``Personnels de laboratoire``)."""
        return self.long_label[:1] + self.long_label[1:].lower()


_P = "Professeur"

FUNCTION_CODES: Final[tuple[FunctionCode, ...]] = (
    FunctionCode("2DG", "PERS 2DG", "PERSONNELS 2 DEGRE", _P),
    FunctionCode("RET", "RETRAITE", "RETRAITE", _P),
    FunctionCode("ADA", "READAPT.", "READAPTATION", _P),
    FunctionCode("ADM", "ADMINIST.", "FONCTION ADMINISTRATIVE", _P),
    FunctionCode("ALB", "LABO", "LABORATOIRE", _P),
    FunctionCode("ADF", "PERS ADM.", "PERSONNELS ADMINISTRATIFS", "Administrateurs"),
    FunctionCode("ASE", "ASSIST ETR", "ASSISTANT ETRANGER", _P),
    FunctionCode("CFC", "C F C", "CONSEILLER EN FORMATION CONTINUE", _P),
    FunctionCode("CTR", "DDFPT", "DIRECTEUR/ASS DELEGUE FORM PRO TECHNO", _P),
    FunctionCode("DIR", "DIRECTION", "DIRECTION", "Direction", role=MANAGER_ROLE),
    FunctionCode("DOC", "DOCUMENT", "DOCUMENTATION", "Documentaliste"),
    FunctionCode("EDU", "EDUCATION", "EDUCATION", "CPE"),
    FunctionCode("ENS", "ENSEIGNT", "ENSEIGNEMENT DEVANT ELEVES", _P),
    FunctionCode("FCA", "FC DAFCO", "FORMATION CONTINUE DES ADULTES", _P),
    FunctionCode("FCP", "FC MAFPEN", "COORD., ORGANISAT., ANIMATION MAFPEN", _P),
    FunctionCode("INJ", "COOR. INJ", "COORDINATION INSERTION JEUNES", _P),
    FunctionCode("ECP", "ELEV CY PR", "ELEVE CYCLE PRE/COP STAGIAIRE", _P),
    FunctionCode("ORI", "ORIENTATIO", "ORIENTATION", _P),
    FunctionCode("APP", "APPRENT", "APPRENTISSAGE", _P),
    FunctionCode("MAD", "MAD SS RBT", "MISE A DISPOSITION SANS REMBOURSEMENT", _P),
    FunctionCode("MAR", "MAD AV RBT", "MISE A DISPOSITION AVEC REMBOURSEMENT", _P),
    FunctionCode("SUR", "SURVEILL.", "SURVEILLANCE", _P),
    FunctionCode("COR", "COOR.CFA", "COORDONNATEUR PEDAGOGIQUE EN CFA", _P),
    FunctionCode("EMP", "EMPL.PART.", "EMPLOIS PARTICULIERS ACTIONS DIVERSES", _P),
    FunctionCode("RPL", "REEMPLOI", "REEMPLOI AUPRES DU CNED", _P),
    FunctionCode("INS", "INSPECTION", "INSPECTION", _P),
    FunctionCode("DCT", "PERS DOC.", "PERSONNELS DE DOCUMENTATION", _P),
    FunctionCode("LAB", "PERS LAB.", "PERSONNELS DE LABORATOIRE", _P),
    FunctionCode("MDS", "PERS MED.", "PERSONNELS MEDICO- SOCIAUX", "Infirmière"),
    FunctionCode("OUV", "PERS OUV.", "PERSONNELS OUVRIERS ET DE SERVICE", _P),
    FunctionCode("TEC", "PERS TECH.", "PERSONNELS TECHNIQUES", _P),
    FunctionCode("CPD", "CONS.PED.", "CONSEILLERS PEDAGOGIQUES EPS", _P),
    FunctionCode("FIJ", "INS.JEUNES", "FORMATION INSERTION JEUNES DEVANT ELEVES", _P),
    FunctionCode("MOB", "CONG.MOB.", "ENSEIGNANTS - CONGES MOBILITE", _P),
    FunctionCode("BIB", "PERS. BIB.", "PERS. DES BIBLIOTHEQUES ET DES MUSEES", _P),
    FunctionCode("ADC", "ADC - ADM", "PERSONNELS ADMINISTRATIFS DE CENTRALE", _P),
    FunctionCode("ASU", "ADC - ASU", "PERSONNELS A.S.U. DE CENTRALE", _P),
    FunctionCode("CIO", "ADC - CIO", "PERSONNELS CIO DE CENTRALE", _P),
    FunctionCode("ITA", "ADC - ITA", "PERSONNELS ITARF DE CENTRALE", _P),
    FunctionCode("AUT", "ADC - AUT", "AUTRES ADMINISTRATIONS", _P),
    FunctionCode("PRO", "ADC - ENS", "PERSONNELS ENSEIGNANTS DE CENTRALE", _P),
    FunctionCode("IPE", "ADC - INS", "PERSONNELS D'INSPECTION DE CENTRALE", _P),
    FunctionCode("IGN", "ADC - IGN", "PERSONNELS DE L'INSPECTION GENERALE", _P),
    FunctionCode("CTL", "ADC - CON", "PERSONNELS CONTRACTUELS DE CENTRALE", _P),
    FunctionCode("STG", "STAGIAIRE", "STAGIAIRE EN FORMATION", _P),
    FunctionCode("PST", "ADC - EPST", "PERSONNELS DE RECHERCHE DE CENTRALE", _P),
    FunctionCode("1ED", "1ER DEGRE", "1ER DEGRE", _P),
    FunctionCode("EEI", "EDUC INT", "EDUCATEUR EN INTERNAT", _P),
    FunctionCode("AED", "ASS-ED", "ASSISTANT D'EDUCATION", "Assistant Education"),
    FunctionCode("CNE", "CNE", "COMITE NATIONAL D'EVALUATION", _P),
    FunctionCode("ACS", "ACC.SOUT.", "ACCOMPAGNEMENT SOUTIEN ET HORS AIS", _P),
    FunctionCode("BED", "AIS H.CLAS", "BESOINS EDUCATIFS AIS HORS CLASSE", _P),
    FunctionCode("PPA", "PILOT.ANIM", "PILOTAGE ET ANIMATION PEDAGOGIQUE", _P),
    FunctionCode("IEX", "INTER.EXT", "INTERVENANTS EXTERIEURS", _P),
    FunctionCode("REM", "REPLACEMENT", "REPLACEMENT", _P),
    FunctionCode("MVT", "MVT", "MVT 1er DEGRE", _P),
    FunctionCode("ASH", "AESH", "ACCOMPAGNEMENT ELEVES SITUATION HANDICAP", _P),
    FunctionCode("ACP", "APP CL PR", "APPRENTI CLASSIQUE OU PROFESSEUR", _P),
    FunctionCode("AES", "AESH", "ACCOMPAGNEMENT ELEVES SITUATION HANDICAP", _P),
    FunctionCode("TOS", "AGENT TOS", "AGENT DES COLLECTIVITES", "ne pas exporter"),
)

_BY_CODE: Final = {function.code: function for function in FUNCTION_CODES}


def function_code(text: str) -> FunctionCode | None:
    """The function a cell names (``dir``, `` DIR `` and ``DIR`` alike), or None."""
    return _BY_CODE.get(text.strip().upper())
