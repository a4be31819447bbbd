"""Recordings of the live rooms and the evidence around them (MISSION 9, B 4.7).

- :mod:`recordings.webm`, :mod:`recordings.writer`, :mod:`recordings.recorder`: encoded
  VP8/Opus frames muxed into one WebM file per participant and segment, off the loop;
- :mod:`recordings.sealing`, :mod:`recordings.recovery`: SHA-256 and storage of finished
  files, repair of files a crash left unfinished;
- :mod:`recordings.storage`, :mod:`recordings.s3`, :mod:`recordings.sigv4`: where sealed
  files live (a local directory or S3-compatible object storage);
- :mod:`recordings.models`, :mod:`recordings.manifest`: the per-session manifest;
- :mod:`recordings.timeline`: the evidence log of a session assembled from the tables of
  the other domains;
- :mod:`recordings.retention`: retention dates, legal holds and deletion by policy;
- :mod:`recordings.integrity`: recording hashes checked against the manifest;
- :mod:`recordings.routes`, :mod:`recordings.service`: replay pages and API, app wiring.
"""
