"""The attestation workflow of the regulations: programs' public documents, events and
notices, remote and rescheduling applications, commissions and their sittings, closed
votes, protocols and signatures, appeals, issued documents (B II–VII, A 2.1).

``rules/`` holds the regulation's decisions as pure functions; the services next to it
apply them to the tables of ``models``; ``views`` is the plain data handed to the
document and mail renderers.
"""
