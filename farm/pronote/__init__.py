"""Pronote identifiers: read the school's export, match it, keep the links, export ours.

Pure, apart from parsing and writing XML (lxml) and the ImportChiffre
container (cryptography), which only the modules that need them load:

- :mod:`farm.pronote.records`: populations, file people, links;
- :mod:`farm.pronote.settings`: the inferred IdPN format and the other settings;
- :mod:`farm.pronote.parser`: streamed, namespace-agnostic, hostile input refused;
- :mod:`farm.pronote.identity` and :mod:`farm.pronote.matching`: who is who;
- :mod:`farm.pronote.links`: what an import adds, updates, keeps and removes;
- :mod:`farm.pronote.report`: the match report (table, JSON, CSV);
- :mod:`farm.pronote.partner_index`: the PARTENAIRE_INDEX export;
- :mod:`farm.pronote.container`: the encrypted ImportChiffre envelope;
- :mod:`farm.pronote.fields`: the Pronote identifier as a Moodle profile field.

``docs/pronote.md`` tells operators the whole story.
"""
