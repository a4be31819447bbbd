"""The OpenAPI description of the attestation API (merged into ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
INT = {"type": "integer"}
STR = {"type": "string"}
BOOL = {"type": "boolean"}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}
IDS = {"type": "array", "items": INT}
READ = (401, 403, 404)
WRITE = (400, 401, 403, 404, 409, 413, 422)


def _obj(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": props}


def _op(
    summary: str,
    *,
    body: dict[str, Any] | None = None,
    ok: int = 200,
    errors: tuple[int, ...] = READ,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ok): {"description": "OK", "content": {"application/json": {}}}
    }
    for status in errors:
        responses[str(status)] = {
            "description": "error (a broken rule: 422 rule_broken with its REGULATION id)",
            "content": {"application/json": {"schema": ERROR}},
        }
    op: dict[str, Any] = {"summary": summary, "tags": ["attestation"], "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _multipart(summary: str, **fields: Any) -> dict[str, Any]:
    op = _op(summary, ok=201, errors=(*WRITE, 415))
    schema = _obj(file={"type": "string", "format": "binary"}, **fields)
    op["requestBody"] = {
        "required": True,
        "content": {"multipart/form-data": {"schema": schema | {"required": ["file"]}}},
    }
    return op


def _download(summary: str) -> dict[str, Any]:
    op = _op(summary)
    op["responses"]["200"] = {
        "description": "The file as an attachment, type recognised at upload",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
    return op


def _binary(summary: str, content_type: str) -> dict[str, Any]:
    op = _op(summary)
    op["responses"]["200"] = {
        "description": "The document as an attachment",
        "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
    }
    return op


MEMBER = _obj(user_id=INT, role=STR)

PATHS: dict[str, dict[str, Any]] = {
    "/api/attestation/calendar": {
        "get": _op(
            "Loaded production calendars and the years appeal deadlines may need that are "
            "missing (staff)"
        ),
    },
    "/api/attestation/commissions": {
        "get": _op("Commissions (all for head/admin/auditor, one's own for members)"),
        "post": _op(
            "Form a commission (B 3.1, 3.8, 3.11) or an appeal commission (B 7.3)",
            body=_obj(
                kind=STR,
                program_id=INT,
                title=STR,
                starts_on=DATE,
                ends_on=DATE,
                members={"type": "array", "items": MEMBER},
                order_number=STR,
                order_date=DATE,
                chair_is_deputy_director=BOOL,
            ),
            ok=201,
            errors=WRITE,
        ),
    },
    "/api/attestation/commissions/{commission_id}": {"get": _op("A commission with members")},
    "/api/attestation/groups": {
        "get": _op("Groups with the number who completed the program"),
        "post": _op(
            "Create a group of a program (head, admin)",
            body=_obj(program_id=INT, code=STR, title=STR),
            ok=201,
            errors=WRITE,
        ),
    },
    "/api/attestation/groups/{group_id}": {
        "get": _op("A group with its learners and who completed the program (B 2.1)"),
    },
    "/api/attestation/groups/{group_id}/learners": {
        "post": _op(
            "Enroll a learner by user_id or username (head, admin)",
            body=_obj(user_id=INT, username=STR),
            ok=201,
            errors=WRITE,
        ),
    },
    "/api/attestation/groups/{group_id}/learners/{user_id}": {
        "put": _op(
            "Record whether the learner completed the program: admission to final "
            "attestation follows it (B 2.1; instructor, head, admin)",
            body=_obj(completed=BOOL),
            errors=WRITE,
        ),
        "delete": _op(
            "Take a learner out of the group (head, admin); 409 once on an event of it",
            errors=WRITE,
        ),
    },
    "/api/attestation/events/{event_id}/participants": {
        "post": _op(
            "Add a learner who completed the program after scheduling (B 2.1); inside the "
            "3-day notice period only with override_reason (B 2.7); the invitation is sent",
            body=_obj(user_id=INT, override_reason=STR),
            ok=201,
            errors=WRITE,
        ),
    },
    "/api/attestation/staff": {"get": _op("Staff who may sit in commissions")},
    "/api/attestation/commission-standing": {
        "get": _op("Whether each commission may sit today and why not (B 3.8, 3.11)")
    },
    "/api/attestation/events/{event_id}/referats": {
        "get": _op("The referats of an event with their learners (B 5.9)")
    },
    "/api/attestation/events": {
        "get": _op("Attestation events the person may see"),
        "post": _op(
            "Schedule an event; refused inside the 3-day notice period unless "
            "override_reason is given (B 2.7); admits only learners who completed the "
            "program (B 2.1); a retake names failed learners (B 2.14)",
            body=_obj(
                program_id=INT,
                group_id=INT,
                commission_id=INT,
                title=STR,
                form=STR,
                starts_at=DATETIME,
                place=STR,
                remote=BOOL,
                remote_reason=STR,
                test_id=INT,
                override_reason=STR,
                preparation_minutes=INT,
                answer_minutes=INT,
                retake_of_id=INT,
                learner_ids=IDS,
            ),
            ok=201,
            errors=WRITE,
        ),
    },
    "/api/attestation/events/{event_id}": {"get": _op("An event with its learners")},
    "/api/attestation/events/{event_id}/remote": {
        "post": _op(
            "Hold the event remotely for everyone (B 4.3)", body=_obj(reason=STR), errors=WRITE
        )
    },
    "/api/attestation/events/{event_id}/questionnaire": {
        "post": _op("Release an interview questionnaire (B 5.7)", errors=WRITE)
    },
    "/api/attestation/events/{event_id}/presence": {
        "put": _op(
            "Members present at the sitting (quorum)",
            body=_obj(present=IDS, appeal_members=IDS),
            errors=WRITE,
        )
    },
    "/api/attestation/events/{event_id}/votes": {
        "post": _op(
            "A closed vote on a learner's mark; the last vote decides (B 3.9)",
            body=_obj(learner_id=INT, mark=STR),
            errors=WRITE,
        )
    },
    "/api/attestation/events/{event_id}/absent": {
        "post": _op("A learner did not appear", body=_obj(learner_id=INT), errors=WRITE)
    },
    "/api/attestation/events/{event_id}/protocol": {
        "get": _op("The protocol as data (B 3.10, 4.12)"),
        "post": _op("Draw up the protocol", ok=201, errors=WRITE),
    },
    "/api/attestation/events/{event_id}/protocol.pdf": {
        "get": _binary("The protocol as PDF with Cyrillic text (B 3.10, 4.12)", "application/pdf")
    },
    "/api/attestation/events/{event_id}/summary.pdf": {
        "get": _binary("The group summary sheet as PDF (B 2.9)", "application/pdf")
    },
    "/api/attestation/events/{event_id}/summary.xlsx": {
        "get": _binary(
            "The group summary sheet as XLSX (B 2.9)",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    },
    "/api/attestation/events/{event_id}/summary": {
        "get": _op("The group summary sheet as data (B 2.9)")
    },
    "/api/attestation/events/{event_id}/invitations": {
        "get": _op("Invitations as data (B 2.7, 4.6)")
    },
    "/api/attestation/events/{event_id}/applications": {
        "post": _multipart(
            "A learner's remote (B 4.2) or rescheduling (B 2.11) application with a document",
            kind=STR,
            reasons=STR,
        )
    },
    "/api/attestation/events/{event_id}/appeals": {
        "post": _op(
            "File an appeal on the announcement day (B 7.2)",
            body=_obj(kind=STR, text=STR),
            ok=201,
            errors=WRITE,
        )
    },
    "/api/attestation/events/{event_id}/oral/{learner_id}": {
        "get": _op("A learner's ticket with the preparation and answer clocks (B 5.10)")
    },
    "/api/attestation/events/{event_id}/oral/{learner_id}/draw": {
        "post": _op("Draw a ticket at random, from different sections (B 5.6)", errors=WRITE)
    },
    "/api/attestation/events/{event_id}/oral/{learner_id}/answer": {
        "post": _op("Begin the answer after at least 20 minutes (B 5.10)", errors=WRITE)
    },
    "/api/attestation/events/{event_id}/oral/{learner_id}/finish": {
        "post": _op("End the answer, capped at 15 minutes (B 5.10)", errors=WRITE)
    },
    "/api/attestation/protocols/{protocol_id}/sign": {
        "post": _op("Sign the protocol; the last signature locks it", errors=WRITE)
    },
    "/api/attestation/applications": {"get": _op("Applications (managers: all; learner: own)")},
    "/api/attestation/applications/{application_id}/decision": {
        "post": _op(
            "Approve (remote: by an order, B 4.2) or reject an application",
            body=_obj(
                approve=BOOL,
                order_number=STR,
                order_date=DATE,
                moved_to_event_id=INT,
                comment=STR,
            ),
            errors=WRITE,
        )
    },
    "/api/attestation/applications/{application_id}/files/{file_id}": {
        "get": _download("A supporting document of an application")
    },
    "/api/attestation/appeals": {"get": _op("Appeals the person may see")},
    "/api/attestation/appeals/{appeal_id}": {"get": _op("An appeal with its deadlines")},
    "/api/attestation/appeals/{appeal_id}/hearing": {
        "post": _op(
            "Appeal commission and hearing within 2 working days (B 7.3, 7.4)",
            body=_obj(commission_id=INT, hearing_at=DATETIME),
            errors=WRITE,
        )
    },
    "/api/attestation/appeals/{appeal_id}/documents": {
        "post": _op(
            "Disagreement: documents by the next working day (B 7.7)",
            body=_obj(chair_conclusion=STR),
            errors=WRITE,
        )
    },
    "/api/attestation/appeals/{appeal_id}/votes": {
        "post": _op(
            "An appeal-commission vote (B 7.9)", body=_obj(result=STR, mark=STR), errors=WRITE
        )
    },
    "/api/attestation/appeals/{appeal_id}/inform": {
        "post": _op("The learner was told the decision (B 7.9)", errors=WRITE)
    },
    "/api/attestation/appeals/{appeal_id}/sign": {
        "post": _op("Sign the appeal protocol (B 7.11)", errors=WRITE)
    },
    "/api/attestation/issued-documents": {
        "get": _op("The register of issued certificates and references"),
        "post": _op(
            "Issue a certificate or a reference with the delivery method (B 2.12, 2.13, 4.13)",
            body=_obj(event_id=INT, learner_id=INT, delivery=STR, delivery_detail=STR),
            ok=201,
            errors=WRITE,
        ),
    },
    "/api/attestation/issued-documents/register.pdf": {
        "get": _binary(
            "The register of issued documents as PDF (B 2.12, 2.13, 4.13)", "application/pdf"
        )
    },
    "/api/attestation/issued-documents/register.xlsx": {
        "get": _binary(
            "The register of issued documents as XLSX (B 2.12, 2.13, 4.13)",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    },
    "/api/attestation/programs/{program_id}/documents": {
        "post": _op(
            "Publish a program document (A 2.1)",
            body=_obj(kind=STR, title=STR, body=STR),
            ok=201,
            errors=WRITE,
        )
    },
    "/api/attestation/programs/{program_id}/referat-topics": {
        "get": _op("Approved referat topics of a program (B 5.9)"),
        "post": _op("Add an approved topic", body=_obj(title=STR), ok=201, errors=WRITE),
    },
    "/api/attestation/events/{event_id}/referat": {
        "post": _op(
            "Take a listed topic or propose an own one with a justification (B 5.9)",
            body=_obj(topic_id=INT, title=STR, justification=STR),
            ok=201,
            errors=WRITE,
        )
    },
    "/api/attestation/referats/{referat_id}": {"get": _op("A referat")},
    "/api/attestation/referats/{referat_id}/topic": {
        "post": _op("Approve or reject an own topic", body=_obj(approve=BOOL), errors=WRITE)
    },
    "/api/attestation/referats/{referat_id}/file": {
        "post": _multipart("Upload the referat's text"),
        "get": _download("The referat's uploaded text (its learner, reviewers, the event's staff)"),
    },
    "/api/attestation/referats/{referat_id}/review": {
        "post": _op("Review the referat", body=_obj(review=STR), errors=WRITE)
    },
    "/api/attestation/results": {
        "post": _op(
            "Record an ongoing or intermediate result (A 2.1)",
            body=_obj(learner_id=INT, program_id=INT, kind=STR, title=STR, mark=STR, percent=INT),
            ok=201,
            errors=WRITE,
        )
    },
    "/api/attestation/account": {
        "get": _op("The learner's events, results, applications, appeals and documents")
    },
}
