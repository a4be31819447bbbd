"""Forms and scales, documents after the attestation and their delivery."""

from __future__ import annotations

import pytest

from attestation.rules.forms import form_scale, mark_on_scale, marks_of
from attestation.rules.outcomes import DocumentKind, delivery_problems, document_for, may_retake
from quiz.grading import Scale


@pytest.mark.rule("B6.1-form-scale")
@pytest.mark.parametrize(
    ("form", "scale"),
    [
        ("exam", Scale.FOUR),
        ("referat", Scale.FOUR),
        ("testing", Scale.FOUR),
        ("credit", Scale.TWO),
        ("interview", Scale.TWO),
        ("survey", Scale.TWO),
    ],
)
def test_scale_follows_the_form(form: str, scale: Scale) -> None:
    assert form_scale(form) == scale


def test_an_unknown_form_is_refused() -> None:
    with pytest.raises(ValueError):
        form_scale("essay")


@pytest.mark.rule("B3.9-scales")
@pytest.mark.parametrize(
    ("mark", "scale", "ok"),
    [
        ("excellent", Scale.FOUR, True),
        ("unsatisfactory", Scale.FOUR, True),
        ("passed", Scale.FOUR, False),
        ("passed", Scale.TWO, True),
        ("good", Scale.TWO, False),
        ("10", Scale.FOUR, False),
    ],
)
def test_marks_belong_to_the_scale(mark: str, scale: Scale, ok: bool) -> None:
    assert mark_on_scale(mark, scale) is ok
    assert len(marks_of(Scale.FOUR)) == 4 and len(marks_of(Scale.TWO)) == 2


@pytest.mark.rule("B2.12-certificate")
@pytest.mark.rule("B2.13-reference")
@pytest.mark.parametrize(
    ("mark", "kind"),
    [
        ("excellent", DocumentKind.CERTIFICATE),
        ("satisfactory", DocumentKind.CERTIFICATE),
        ("passed", DocumentKind.CERTIFICATE),
        ("unsatisfactory", DocumentKind.REFERENCE),
        ("failed", DocumentKind.REFERENCE),
        (None, DocumentKind.REFERENCE),  # did not appear
    ],
)
def test_certificate_only_after_passing(mark: str | None, kind: DocumentKind) -> None:
    assert document_for(mark) == kind


@pytest.mark.rule("B2.14-retake")
@pytest.mark.parametrize(
    ("mark", "may"), [("failed", True), ("unsatisfactory", True), (None, True), ("good", False)]
)
def test_only_a_failed_learner_retakes(mark: str | None, may: bool) -> None:
    assert may_retake(mark) is may


@pytest.mark.rule("B4.13-delivery")
@pytest.mark.parametrize(
    ("method", "detail", "ok"),
    [
        ("in_person", "", True),
        ("proxy", "", False),
        ("proxy", "Иванов И. И., доверенность № 5 от 01.12.2026", True),
        ("registered_mail", "  ", False),
        ("registered_mail", "123456, г. Москва, ул. Ленина, д. 1", True),
        ("pigeon", "x", False),
    ],
)
def test_delivery_methods(method: str, detail: str, ok: bool) -> None:
    assert (delivery_problems(method, detail) == []) is ok
