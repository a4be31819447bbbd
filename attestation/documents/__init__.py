"""Printable documents of the attestation: the protocol (B 3.10, 4.12), the group summary
sheet (B 2.9) and the register of issued certificates and references (B 2.12–2.13, 4.13).

Every renderer is a pure function of a frozen view (``attestation.views``) returning the
file's bytes, so the workflow decides what a document says and this package only how it
looks.
"""
