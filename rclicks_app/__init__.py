"""The Gradio front end's wiring: configuration, texts, shared model pool and one builder per tab."""
