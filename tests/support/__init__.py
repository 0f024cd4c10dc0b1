"""Test support: tiny checkpoints and data, servers (Gradio, an OpenAI-compatible stub), AppTest and browser
helpers. Imported as ``tests.support.<module>``; the runnable ones also as ``python -m tests.support.<module>``."""
