"""One module per command group; each exposes ``register(app)`` and keeps heavy imports lazy."""
