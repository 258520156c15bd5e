"""The node agent: warm store connections behind a unix socket."""
