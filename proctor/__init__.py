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
- ``routes``     — HTTP: thumbnails, snapshots, identity, events, files, ICE servers.
- ``identity``   — identity checks: face, document and room-view snapshots; the commission's
                   decision; the gate before the test starts.
- ``monitoring`` — monitoring intervals (video/audio/connection lost, tab hidden, second
                   session, manual flags) and the watcher that opens and closes them.
- ``evidence``   — snapshot files outside the web root, under generated names, with SHA-256.
- ``chat``       — per-learner message threads with the commission, delivery and read state.
- ``files``      — files exchanged in a room: type allow-list, size limit, safe downloads.
"""
