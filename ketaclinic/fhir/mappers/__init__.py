"""Explicit mappers from KetaClinic's own records to FHIR R4B models, one module per resource family.

Each mapper takes one of our rows (with its related rows already loaded by the registry's querysets) and returns
``fhir.resources.R4B`` models; no mapper queries the database. Codes come only from :mod:`ketaclinic.fhir.codes`.
Resource ids are public: a record's own ``external_id`` where it has one, otherwise its parent's ``external_id`` and
the record's place among its parent's records (see :mod:`.common`), never a database key.
"""
