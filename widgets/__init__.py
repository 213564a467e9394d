"""Qt widgets. Each renders a model from ``app`` on the frame tick and emits intents."""
