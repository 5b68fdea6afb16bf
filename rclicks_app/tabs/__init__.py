"""One builder per tab: ``build(demo_state) -> None`` inside a ``gr.Tab`` context."""
