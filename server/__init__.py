"""examroom's composition root: app factory, settings, database, auth, socket.io and CLI."""
