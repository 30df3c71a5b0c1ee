"""The written record of a verbal imaging order (DESIGN §5; rules R2, R3, R4, R7, R8).

Its content (`content`), laid out as a PDF (`pdf`, with `layout`, `sections`, `page`,
`format`, `fonts`), made PDF/A-3b with its canonical JSON inside (`pdfa`) and PAdES-signed
(`signing`): `document.make` is that whole chain. `issuing` decides when a version is due
and stores it; `store` finds stored records; `verify` says whether a file is one of them;
`fhir` exports a version as a FHIR R4 Bundle.

The two entry points: `issuing.issue_record` makes a record, `verify.verify_pdf` checks one.
"""
