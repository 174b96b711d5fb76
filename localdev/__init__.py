"""Local stand-ins for development and tests: embedded PostgreSQL and Redis, the local
Stripe- and Vertex-format servers, `make dev` and the demo organization. Never installed in
production; no product package imports it."""
