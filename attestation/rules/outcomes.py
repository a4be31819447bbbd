"""Documents issued after the final attestation (B 2.12, 2.13) and their delivery (B 4.13)."""

from __future__ import annotations

from enum import StrEnum

from quiz.grading import Mark, is_positive


class DocumentKind(StrEnum):
    """A certificate (документ об обучении) or a reference (справка об обучении)."""

    CERTIFICATE = "certificate"
    REFERENCE = "reference"


class Delivery(StrEnum):
    """B 4.13: in person, through a proxy with a power of attorney, or registered mail."""

    IN_PERSON = "in_person"
    PROXY = "proxy"
    REGISTERED_MAIL = "registered_mail"


DOCUMENT_TITLES_RU = {
    DocumentKind.CERTIFICATE: "удостоверение о повышении квалификации",
    DocumentKind.REFERENCE: "справка об обучении",
}
DELIVERY_TITLES_RU = {
    Delivery.IN_PERSON: "лично",
    Delivery.PROXY: "через представителя по доверенности",
    Delivery.REGISTERED_MAIL: "заказным почтовым отправлением с уведомлением",
}


def document_for(final_mark: str | None) -> DocumentKind:
    """A certificate only after passing (B 2.12); failing or not appearing (no mark)
    gives a reference (B 2.13)."""
    if final_mark is not None and is_positive(Mark(final_mark)):
        return DocumentKind.CERTIFICATE
    return DocumentKind.REFERENCE


def delivery_problems(method: str, detail: str) -> list[str]:
    """What a delivery choice lacks: a proxy needs the power of attorney, mail the address."""
    try:
        chosen = Delivery(method)
    except ValueError:
        return [f"unknown delivery method {method!r}"]
    if chosen == Delivery.PROXY and not detail.strip():
        return ["delivery by proxy names the proxy and the power of attorney"]
    if chosen == Delivery.REGISTERED_MAIL and not detail.strip():
        return ["delivery by registered mail needs the postal address"]
    return []


def may_retake(final_mark: str | None) -> bool:
    """A learner who failed (or did not appear) may retake (B 2.14)."""
    return final_mark is None or not is_positive(Mark(final_mark))
