"""Video rooms: a selective forwarding unit (SFU) on aiortc that never transcodes.

Layout (one concept per module):

- ``bypass``     — the decoder bypass: receivers hand over depayloaded *encoded* frames
                   instead of decoded pictures (aiortc has no public API for it).
- ``forwarding`` — a subscriber's outgoing track that yields ``av.Packet`` s, which aiortc's
                   sender packetises without encoding; keyframe (PLI) requests, rate-limited.
- ``room``       — ``MediaRoom``: publishers and subscribers of one room, and
                   ``RoomRegistry`` on the app.
- ``snapshots``  — JPEG thumbnails and identity-check captures decoded from keyframes only.
- ``ice``        — ICE servers from settings (STUN, TURN with time-limited REST credentials).
- ``access``     — who may join which room, and in which role; the in-memory roster.
- ``namespace``  — the ``/proctor`` socket.io namespace: join, publish, subscribe, leave.
- ``routes``     — HTTP: thumbnails, identity-check captures, ICE servers for the browser.
"""
