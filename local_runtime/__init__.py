"""The local runtime: the whole system on localhost (moto, Chalice's local server, a WebSocket gateway)."""
